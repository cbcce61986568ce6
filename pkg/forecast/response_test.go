package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestResponseIsWhatObservingASurpriseDoes: for every model fitted to a
// noisy daily cycle with a trend, Response(h) is how far Forecast(h) moves
// when the next point comes in one unit above its forecast, measured on a
// copy of the fitted state.
func TestResponseIsWhatObservingASurpriseDoes(t *testing.T) {
	p, err := PeriodsFor(15 * 60e9) // 15-minute steps: 96 a day
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	y := make([]float64, 10*p.Daily)
	for i := range y {
		y[i] = 200 + 0.05*float64(i) + 80*math.Sin(2*math.Pi*float64(i)/float64(p.Daily)) + 10*r.NormFloat64()
	}
	models, _ := Models(p, Auto)
	for _, m := range models {
		fit, err := m.Fit(y)
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		for _, h := range []int{1, 2, 5, p.Daily} {
			before, after := copyFitted(fit), copyFitted(fit)
			f1 := before.Forecast(1)
			before.Observe(f1)
			after.Observe(f1 + 1)
			moved := after.Forecast(h) - before.Forecast(h)
			got := fit.(Responder).Response(h)
			// A multiplicative season's own slot, a period on, is not modelled.
			exact := (m.Name() != HoltWintersMulDaily && m.Name() != HoltWintersMulWeek) || h%p.Daily != 0
			if exact && math.Abs(moved-got) > 1e-6*max(1, math.Abs(moved)) {
				t.Errorf("%s: Response(%d) = %.6g: a unit surprise moves the forecast %.6g", m.Name(), h, got, moved)
			}
		}
	}
}

// copyFitted is a deep copy of a fitted state of this package.
func copyFitted(f Fitted) Fitted {
	switch s := f.(type) {
	case *holtState:
		c := *s
		return &c
	case *hwState:
		return s.clone(s.hwParams)
	case *harmonicState:
		c := *s
		c.coef = append([]float64(nil), s.coef...)
		c.x = make([]float64, len(s.x))
		return &c
	case *naiveState:
		c := *s
		c.ring = append([]float64(nil), s.ring...)
		return &c
	}
	panic("unknown fitted state")
}
