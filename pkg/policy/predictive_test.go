package policy

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

var predT0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

// dailyLoad is 100 +- 60 req/s over a day, at 5-minute steps.
func dailyLoad(i int) float64 {
	return 100 + 60*math.Sin(2*math.Pi*float64(i)/288)
}

func predictiveSpec(mode PredictiveMode) PredictiveSpec {
	return PredictiveSpec{
		Name: "forecast", Signal: "rps", Mode: mode, CapacityPerReplica: 10,
		StartupDelay: 5 * time.Minute, Lead: 5 * time.Minute,
		History: 7 * 24 * time.Hour, Step: 5 * time.Minute, MinHistory: 24 * time.Hour,
		Model: "auto", Quantile: 0.9, RefitEvery: time.Hour, SurpriseRatio: 1.5, Handover: 15 * time.Minute,
	}
}

// predictiveInput is the tick after n points of load(i), with the history
// the loop would hand over.
func predictiveInput(n int, load func(int) float64) Input {
	hist := make([]scaling.Sample, n)
	for i := range hist {
		hist[i] = scaling.Sample{Time: predT0.Add(time.Duration(i) * 5 * time.Minute), Value: load(i)}
	}
	now := hist[n-1].Time.Add(30 * time.Second)
	return Input{Now: now, Capacity: scaling.Capacity{Current: 10, Ready: 10}, Signals: map[string]scaling.Reading{
		"rps": {Name: "rps", Sample: hist[n-1], History: hist},
	}}
}

func TestPredictiveSaysWhenHistoryIsTooShort(t *testing.T) {
	p, err := NewPredictive(predictiveSpec(ForecastAndScale))
	if err != nil {
		t.Fatal(err)
	}
	rec := p.Recommend(predictiveInput(100, dailyLoad))
	if !rec.Abstain || !strings.Contains(rec.Reason, "history too short to forecast: 8h20m0s") {
		t.Errorf("got %+v: want an abstention saying the history (8h20m) is too short", rec)
	}
	if _, ok := p.LastForecast(); ok {
		t.Error("LastForecast reports a forecast without one")
	}
}

// TestPredictivePlansForTheForecastPeak: after three days of a daily cycle,
// the recommendation covers the load up to the target time (10 minutes
// ahead) at the upper quantile, and follows the cycle as the ticks go on
// between refits.
func TestPredictivePlansForTheForecastPeak(t *testing.T) {
	p, err := NewPredictive(predictiveSpec(ForecastAndScale))
	if err != nil {
		t.Fatal(err)
	}
	for n := 3 * 288; n < 4*288; n += 7 {
		rec := p.Recommend(predictiveInput(n, dailyLoad))
		if rec.Abstain {
			t.Fatalf("n=%d: abstained: %s", n, rec.Reason)
		}
		// The highest load from the newest point to 10 minutes ahead.
		peak := 0.0
		for k := 0; k <= 3; k++ {
			peak = max(peak, dailyLoad(n-1+k))
		}
		need := int32(math.Ceil(peak / 10))
		if rec.Replicas < need || rec.Replicas > need+2 {
			t.Errorf("n=%d: %d replicas: want %d..%d for a peak of %.1f; %s", n, rec.Replicas, need, need+2, peak, rec.Reason)
		}
	}
	f, ok := p.LastForecast()
	if !ok || f.Signal != "rps" || f.Model == "" || !(f.Lower <= f.Point && f.Point <= f.Upper) || math.IsNaN(f.MASE) {
		t.Errorf("LastForecast = %+v, %v", f, ok)
	}
}

// TestForecastOnlyNeverActuates: a scaler whose only policy forecasts only
// never changes the capacity, however far the forecast is from it.
func TestForecastOnlyNeverActuates(t *testing.T) {
	p, err := NewPredictive(predictiveSpec(ForecastOnly))
	if err != nil {
		t.Fatal(err)
	}
	d, errs := NewDecider(Spec{Policies: []Policy{p}, Bounds: Bounds{Min: 1, Max: 100}}, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	for n := 3 * 288; n < 3*288+100; n += 3 {
		in := predictiveInput(n, func(i int) float64 { return 10 * dailyLoad(i) }) // needs 40..160 replicas
		dec := d.Decide(in)
		if dec.Desired != in.Capacity.Current {
			t.Fatalf("n=%d: desired %d, current %d: forecastOnly acted: %+v", n, dec.Desired, in.Capacity.Current, dec)
		}
		r := dec.Recommendations[0]
		if !r.Abstain || !strings.HasPrefix(r.Reason, "forecastOnly: forecast ") {
			t.Fatalf("n=%d: recommendation %+v: want an abstention that states the forecast", n, r)
		}
	}
	if _, ok := p.LastForecast(); !ok {
		t.Error("forecastOnly exported no forecast")
	}
}

// TestPredictiveHandsOverOnAFlashCrowd: a point far above the upper bound
// makes the policy abstain for the handover, then it leads again.
func TestPredictiveHandsOverOnAFlashCrowd(t *testing.T) {
	p, err := NewPredictive(predictiveSpec(ForecastAndScale))
	if err != nil {
		t.Fatal(err)
	}
	n := 3 * 288
	if rec := p.Recommend(predictiveInput(n, dailyLoad)); rec.Abstain {
		t.Fatal(rec.Reason)
	}
	spike := func(i int) float64 {
		if i == n {
			return 5 * dailyLoad(i)
		}
		return dailyLoad(i)
	}
	in := predictiveInput(n+1, spike)
	rec := p.Recommend(in)
	if !rec.Abstain || !strings.Contains(rec.Reason, "forecast badly wrong") || !strings.Contains(rec.Reason, "handing over to the reactive policies") {
		t.Fatalf("after a 5x spike: %+v: want a handover", rec)
	}
	// Two points (10 minutes) later: still within the 15-minute handover.
	if rec := p.Recommend(predictiveInput(n+3, spike)); !rec.Abstain {
		t.Errorf("within the handover: %+v: want an abstention", rec)
	}
	// After it, the forecast leads again.
	if rec := p.Recommend(predictiveInput(n+8, spike)); rec.Abstain {
		t.Errorf("after the handover: abstained: %s", rec.Reason)
	}
}

func TestNewPredictiveRefusesBadSpecs(t *testing.T) {
	s := predictiveSpec("sometimes")
	s.CapacityPerReplica, s.Step, s.Quantile = 0, 7*time.Minute, 1
	_, err := NewPredictive(s)
	for _, want := range []string{
		`mode: "sometimes": must be forecastOnly or forecastAndScale`,
		"capacity_per_replica: 0: must be a finite number > 0",
		"step: 7m0s: must be > 0, at most 1h and divide 24h exactly",
		"quantile: 1: must be in [0.5, 1)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want %q", err, want)
		}
	}
}

// TestPredictiveSmoothedPlansForTheNoise: on a daily cycle sampled every
// minute with 20 % noise, a policy that fits 5-minute means (smooth) still
// plans for the minutes inside them: the next minutes' load stays within
// the capacity it asks for about as often as its quantile says, and it
// forecasts a 5-minute mean, not a noisy minute.
func TestPredictiveSmoothedPlansForTheNoise(t *testing.T) {
	s := predictiveSpec(ForecastAndScale)
	s.Step, s.Smooth, s.StartupDelay, s.Lead = time.Minute, 5*time.Minute, time.Minute, time.Minute
	s.History, s.Model = 4*24*time.Hour, "hw_add_daily"
	p, err := NewPredictive(s)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	n := 4 * 1440
	level := func(i int) float64 { return dailyLoad(i / 5) }
	load := make([]float64, n)
	hist := make([]scaling.Sample, n)
	for i := range load {
		load[i] = level(i) * (1 + 0.2*r.NormFloat64())
		hist[i] = scaling.Sample{Time: predT0.Add(time.Duration(i) * time.Minute), Value: load[i]}
	}
	over, ticks, dev := 0, 0, 0.0
	for k := 3 * 1440; k+3 < n; k += 13 {
		now := hist[k-1].Time.Add(30 * time.Second)
		rec := p.Recommend(Input{Now: now, Capacity: scaling.Capacity{Current: 10, Ready: 10}, Signals: map[string]scaling.Reading{
			"rps": {Name: "rps", Sample: hist[k-1], History: hist[:k]},
		}})
		if rec.Abstain {
			t.Fatalf("k=%d: abstained: %s", k, rec.Reason)
		}
		f, _ := p.LastForecast()
		lv := level(k + 1)
		dev += math.Abs(f.Point-lv) / lv
		for _, v := range load[k : k+3] {
			ticks++
			if v > float64(rec.Replicas)*s.CapacityPerReplica {
				over++
			}
		}
	}
	if d := dev / float64(ticks/3); d > 0.03 {
		t.Errorf("point forecasts %.3f off the level on average: want at most 0.03, a 5-minute mean rather than a noisy minute", d)
	}
	if frac := float64(over) / float64(ticks); frac > 0.1 {
		t.Errorf("the load was above the capacity asked for %.3f of the minutes: want at most 0.1 at quantile 0.9", frac)
	}
}

func TestNewPredictiveRefusesBadSmooth(t *testing.T) {
	for smooth, want := range map[time.Duration]string{
		90 * time.Second: "smooth: 1m30s: must be a multiple of step (1m0s)",
		7 * time.Minute:  "smooth: 7m0s: must be at most 1h and divide 24h exactly",
		2 * time.Hour:    "smooth: 2h0m0s: must be at most 1h and divide 24h exactly",
	} {
		s := predictiveSpec(ForecastAndScale)
		s.Step, s.Smooth = time.Minute, smooth
		if _, err := NewPredictive(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("smooth %s: error %v: want %q", smooth, err, want)
		}
	}
}

func TestNewPredictiveRefusesBadSpread(t *testing.T) {
	s := predictiveSpec(ForecastAndScale)
	s.Spread = "cubic"
	if _, err := NewPredictive(s); err == nil || !strings.Contains(err.Error(), `spread: "cubic": must be relative or sqrt`) {
		t.Errorf("error %v: want spread refused", err)
	}
	s.Spread = "sqrt"
	if _, err := NewPredictive(s); err != nil {
		t.Errorf("spread sqrt: %v", err)
	}
}

// TestPredictiveHoltForecastsWithinHours: with the non-seasonal model
// and a short min_history, the policy plans for a ramp after two hours of
// it, where the seasonal models would have to wait a day.
func TestPredictiveHoltForecastsWithinHours(t *testing.T) {
	spec := predictiveSpec(ForecastAndScale)
	spec.Model, spec.MinHistory = "holt", time.Hour
	p, err := NewPredictive(spec)
	if err != nil {
		t.Fatal(err)
	}
	ramp := func(i int) float64 { return 100 + 4*float64(i) }
	// Past min_history, the backtest that picks the interval still needs
	// 20 points, and says so.
	if rec := p.Recommend(predictiveInput(18, ramp)); !rec.Abstain || !strings.Contains(rec.Reason, "needs at least 20") {
		t.Errorf("after 18 points: %+v: want an abstention saying the backtest needs 20", rec)
	}
	n := 24 // two hours of 5-minute points
	rec := p.Recommend(predictiveInput(n, ramp))
	if rec.Abstain {
		t.Fatalf("abstained after %d points with min_history 1h: %s", n, rec.Reason)
	}
	// The load 10 minutes after the newest point is ramp(n+1) = 200: 20 replicas.
	if need := int32(math.Ceil(ramp(n+1) / 10)); rec.Replicas < need || rec.Replicas > need+3 {
		t.Errorf("%d replicas: want %d..%d for a ramp reaching %.0f; %s", rec.Replicas, need, need+3, ramp(n+1), rec.Reason)
	}
	if f, ok := p.LastForecast(); !ok || f.Model != "holt" {
		t.Errorf("LastForecast = %+v, %v: want a holt forecast", f, ok)
	}
}
