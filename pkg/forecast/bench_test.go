package forecast

import (
	"testing"
	"time"
)

// BenchmarkSelect14DaysOneMinute is the policy's refit: every model fitted
// and backtested on 14 days of 1-minute history (20,160 points), then one
// forecast. The budget is well under 50 ms.
func BenchmarkSelect14DaysOneMinute(b *testing.B) {
	p, _ := PeriodsFor(time.Minute)
	y := synthetic{level: 100, trend: 0.001, daily: 0.6, weekly: 0.2, period: p.Daily, mul: true, noise: 0.15, seed: 11}.series(14 * p.Daily)
	models, _ := Models(p, Auto)
	b.ResetTimer()
	for b.Loop() {
		sel, err := Select(y, p, models, SelectOptions{Horizon: 5, Quantile: 0.9})
		if err != nil {
			b.Fatal(err)
		}
		_ = sel.Predict(5)
	}
}

// BenchmarkObserveForecast is the policy's tick between refits.
func BenchmarkObserveForecast(b *testing.B) {
	p, _ := PeriodsFor(time.Minute)
	y := synthetic{level: 100, daily: 0.6, period: p.Daily, mul: true, noise: 0.15, seed: 12}.series(14 * p.Daily)
	models, _ := Models(p, Auto)
	sel, err := Select(y, p, models, SelectOptions{Horizon: 5})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sel.Observe(y[i%len(y)])
		_ = sel.Predict(5)
	}
}
