package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
		"rps": {Name: "rps", Sample: hist[n-1], History: scaling.HistoryOf(5*time.Minute, hist)},
	}}
}

func TestPredictiveSaysWhenHistoryIsTooShort(t *testing.T) {
	p, err := NewPredictive(predictiveSpec(ForecastAndScale))
	if err != nil {
		t.Fatal(err)
	}
	rec := p.Recommend(predictiveInput(100, dailyLoad))
	if !rec.Abstain || !strings.Contains(rec.Reason, "history too short to forecast: 8h20m") {
		t.Errorf("got %+v: want an abstention saying the history (8h20m) is too short", rec)
	}
	if _, ok := p.LastForecast(); ok {
		t.Error("LastForecast reports a forecast without one")
	}
}

// TestPredictivePlansForTheForecastPeak: after three days of a daily cycle,
// the recommendation asks for the load at the target time (10 minutes
// ahead) at the upper quantile, and keeps current capacity up to the
// highest load until then, following the cycle as the ticks go on between
// refits.
func TestPredictivePlansForTheForecastPeak(t *testing.T) {
	// 400..1600 req/s: the load moves about 4 replicas in 10 minutes.
	load := func(i int) float64 { return 10 * dailyLoad(i) }
	for _, current := range []int32{1, 200} {
		p, err := NewPredictive(predictiveSpec(ForecastAndScale))
		if err != nil {
			t.Fatal(err)
		}
		for n := 3 * 288; n < 4*288; n += 7 {
			in := predictiveInput(n, load)
			in.Capacity = scaling.Capacity{Current: current, Ready: current}
			rec := p.Recommend(in)
			if rec.Abstain {
				t.Fatalf("n=%d: abstained: %s", n, rec.Reason)
			}
			// From 1 replica, what the target time needs; from 200 (more
			// than the cycle ever needs), the highest load of the steps
			// from now to the target time.
			// The history keeps float32 values: the load as the policy sees it.
			seen := func(i int) float64 { return float64(float32(load(i))) }
			want := seen(n - 1 + 3)
			if current > 1 {
				for k := 1; k <= 3; k++ {
					want = max(want, seen(n-1+k))
				}
			}
			need := int32(math.Ceil(want / 10))
			if rec.Replicas < need || rec.Replicas > need+2 {
				t.Errorf("current %d, n=%d: %d replicas: want %d..%d for a load of %.1f; %s", current, n, rec.Replicas, need, need+2, want, rec.Reason)
			}
		}
	}
	p, err := NewPredictive(predictiveSpec(ForecastAndScale))
	if err != nil {
		t.Fatal(err)
	}
	// A slow trend: a cycle that repeats to the last bit has a seasonal
	// naive forecast without error, and a MASE of 0/0.
	p.Recommend(predictiveInput(3*288, func(i int) float64 { return dailyLoad(i) + float64(i)/1000 }))
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
	s.CapacityPerReplica, s.Step, s.Quantile, s.Ramp = 0, 7*time.Minute, 1, 90*time.Second
	_, err := NewPredictive(s)
	for _, want := range []string{
		`mode: "sometimes": must be forecastOnly or forecastAndScale`,
		"capacity_per_replica: 0: must be a finite number > 0",
		"step: 7m: must be > 0, at most 1h and divide 24h exactly",
		"quantile: 1: must be in [0.5, 1)",
		"ramp: 1m30s: must be 0 (off) or a multiple of step (7m) of at most half min_history (24h)",
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
			"rps": {Name: "rps", Sample: hist[k-1], History: scaling.HistoryOf(time.Minute, hist[:k])},
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
		90 * time.Second: "smooth: 1m30s: must be a multiple of step (1m)",
		7 * time.Minute:  "smooth: 7m: must be at most 1h and divide 24h exactly",
		2 * time.Hour:    "smooth: 2h: must be at most 1h and divide 24h exactly",
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
	if _, err := NewPredictive(s); err == nil || !strings.Contains(err.Error(), `spread: "cubic": must be relative, sqrt or auto`) {
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

// TestPredictivePlanForSaysWhichModelsTheHistoryAllows: at 5-minute steps
// with a 20-minute horizon, a day of history allows holt (100 minutes:
// 10 points to fit, 5 held out) and harmonic (16 hours: half a day to fit,
// a quarter held out), and not yet the daily models nor the weekly ones.
func TestPredictivePlanForSaysWhichModelsTheHistoryAllows(t *testing.T) {
	p, err := NewPredictive(predictiveSpec(ForecastAndScale))
	if err != nil {
		t.Fatal(err)
	}
	got := p.PlanFor(24 * time.Hour)
	if !got.Acts || got.MinHistory != 24*time.Hour || got.Window != 7*24*time.Hour {
		t.Errorf("plan %+v: want it to act on a day, with min_history 24h and a 7d window", got)
	}
	if diff := cmp.Diff([]string{"harmonic", "holt"}, got.Usable); diff != "" {
		t.Errorf("usable models (-want +got):\n%s", diff)
	}
	later := map[string]time.Duration{}
	for _, l := range got.Later {
		later[l.Model] = l.Needs
	}
	want := map[string]time.Duration{
		// 383 points, 288 to fit and 95 held out; 479 (360 + 119).
		"snaive_daily": 32*time.Hour - 5*time.Minute, "hw_add_daily": 40*time.Hour - 5*time.Minute, "hw_mul_daily": 40*time.Hour - 5*time.Minute,
		// A week (2,016 points) or a week and a quarter, plus a day held out.
		"snaive_weekly": 8 * 24 * time.Hour, "hw_add_weekly": 234 * time.Hour, "hw_mul_weekly": 234 * time.Hour,
	}
	if diff := cmp.Diff(want, later); diff != "" {
		t.Errorf("models for later (-want +got):\n%s", diff)
	}
	if short := p.PlanFor(23 * time.Hour); short.Acts {
		t.Errorf("23h of history: plan %+v acts below min_history 24h", short)
	}
	if h := p.PlanFor(90 * time.Minute); len(h.Usable) != 0 {
		t.Errorf("90 minutes of history: usable %v, want none (holt needs 100 minutes)", h.Usable)
	}
}

// TestPredictiveTakesInTheBlockInProgress: fitting 5-minute means, the
// policy does not wait for a block to end to follow a jump of the load: with
// four minutes of a new level seen, its forecast has moved most of the way
// it moves once the block is complete and the model has observed it.
func TestPredictiveTakesInTheBlockInProgress(t *testing.T) {
	s := predictiveSpec(ForecastAndScale)
	s.Step, s.Smooth, s.StartupDelay, s.Lead = time.Minute, 5*time.Minute, 3*time.Minute, 15*time.Second
	s.History, s.MinHistory, s.Model = 2*24*time.Hour, time.Hour, "holt"
	s.RefitEvery = 24 * time.Hour // no refit in between: the same model sees both ticks
	s.SurpriseRatio = 100         // the jump is no flash crowd to hand over on
	r := rand.New(rand.NewPCG(5, 6))
	n := 2 * 1440 // a random walk: the recent level is the best forecast
	hist := make([]scaling.Sample, n, n+5)
	lv := 500.0
	for i := range hist {
		lv += 5 * r.NormFloat64()
		hist[i] = scaling.Sample{Time: predT0.Add(time.Duration(i) * time.Minute), Value: lv}
	}
	for i := range 5 { // the load jumps by 200 in the next block
		hist = append(hist, scaling.Sample{Time: predT0.Add(time.Duration(n+i) * time.Minute), Value: lv + 200})
	}
	forecastAfter := func(p *Predictive, k int) float64 {
		t.Helper()
		rec := p.Recommend(Input{Now: hist[k-1].Time.Add(30 * time.Second), Capacity: scaling.Capacity{Current: 10, Ready: 10},
			Signals: map[string]scaling.Reading{"rps": {Name: "rps", Sample: hist[k-1], History: scaling.HistoryOf(time.Minute, hist[:k])}}})
		if rec.Abstain {
			t.Fatalf("after %d points: abstained: %s", k, rec.Reason)
		}
		f, _ := p.LastForecast()
		return f.Point
	}
	p, err := NewPredictive(s)
	if err != nil {
		t.Fatal(err)
	}
	before := forecastAfter(p, n)
	partly := forecastAfter(p, n+4)   // four minutes of the block in progress
	complete := forecastAfter(p, n+5) // the block observed
	if moved := complete - before; moved < 50 {
		t.Fatalf("the forecast moved %.1f once the model saw the jump of 200: want a model that follows the level", moved)
	}
	if got, full := partly-before, complete-before; got < 0.6*full || got > 1.1*full {
		t.Errorf("with 4 of 5 minutes of the jump seen, the forecast moved %.1f: want about 4/5 of the %.1f it moves once the block is complete", got, full)
	}
}

// TestPredictivePlansForARise: a day of steady load, then a rise of 5 % a
// minute. Told to plan for rises (Ramp), the policy asks ten minutes ahead
// for what the rise will have reached, though its model, fitted to the
// steady day, calls it a flash crowd and hands over; without Ramp it
// abstains. A falling load is no rise.
func TestPredictivePlansForARise(t *testing.T) {
	s := predictiveSpec(ForecastAndScale)
	s.Step, s.Smooth, s.StartupDelay, s.Lead = time.Minute, 5*time.Minute, 10*time.Minute, 15*time.Second
	s.History, s.MinHistory, s.Model = 2*24*time.Hour, time.Hour, "holt"
	r := rand.New(rand.NewPCG(9, 10))
	steady := 1440
	load := func(i int) float64 {
		if i < steady {
			return 100 * (1 + 0.02*r.NormFloat64())
		}
		return 100 * math.Pow(1.05, float64(i-steady+1))
	}
	hist := make([]scaling.Sample, steady+15)
	for i := range hist {
		hist[i] = scaling.Sample{Time: predT0.Add(time.Duration(i) * time.Minute), Value: load(i)}
	}
	recommend := func(p *Predictive, h []scaling.Sample) scaling.Recommendation {
		t.Helper()
		var rec scaling.Recommendation
		for k := steady - 60; k <= len(h); k++ { // tick every minute, as the loop would
			rec = p.Recommend(Input{Now: h[k-1].Time.Add(30 * time.Second), Capacity: scaling.Capacity{Current: 15, Ready: 15},
				Signals: map[string]scaling.Reading{"rps": {Name: "rps", Sample: h[k-1], History: scaling.HistoryOf(time.Minute, h[:k])}}})
		}
		return rec
	}
	s.Ramp = 5 * time.Minute
	p, err := NewPredictive(s)
	if err != nil {
		t.Fatal(err)
	}
	rec := recommend(p, hist)
	// The load ten minutes and a quarter after the newest point's minute.
	want := 100 * math.Pow(1.05, 15+10.75)
	if rec.Abstain || float64(rec.Replicas)*s.CapacityPerReplica < want || float64(rec.Replicas)*s.CapacityPerReplica > 1.5*want {
		t.Errorf("with ramp: %+v: want capacity for %.0f to %.0f", rec, want, 1.5*want)
	}
	if !strings.Contains(rec.Reason, "rising") {
		t.Errorf("with ramp: reason %q does not say the load is rising", rec.Reason)
	}

	s.Ramp = 0
	p, err = NewPredictive(s)
	if err != nil {
		t.Fatal(err)
	}
	if rec := recommend(p, hist); !rec.Abstain {
		t.Errorf("without ramp: %+v: want the flash crowd handed over", rec)
	}

	// A fall: the same rise, backwards.
	s.Ramp = 5 * time.Minute
	p, err = NewPredictive(s)
	if err != nil {
		t.Fatal(err)
	}
	fall := append([]scaling.Sample(nil), hist[:steady]...)
	for i := range 15 {
		fall = append(fall, scaling.Sample{Time: predT0.Add(time.Duration(steady+i) * time.Minute), Value: 100 * math.Pow(0.95, float64(i+1))})
	}
	if rec := recommend(p, fall); rec.Abstain || strings.Contains(rec.Reason, "rising") || rec.Replicas > 15 {
		t.Errorf("falling load: %+v: want no rise planned for", rec)
	}
}

// TestPredictiveKeepsItsHeadroom: on a load its model forecasts exactly (an
// interval of nothing), the plan still keeps point x (1 + headroom).
func TestPredictiveKeepsItsHeadroom(t *testing.T) {
	flat := func(int) float64 { return 200 }
	for _, tc := range []struct {
		headroom float64
		want     int32
	}{{0, 20}, {0.25, 25}} {
		s := predictiveSpec(ForecastAndScale)
		s.Model, s.Headroom = "holt", tc.headroom
		p, err := NewPredictive(s)
		if err != nil {
			t.Fatal(err)
		}
		if rec := p.Recommend(predictiveInput(2*288, flat)); rec.Abstain || rec.Replicas != tc.want {
			t.Errorf("headroom %g: %+v: want %d replicas for 200 at 10 per replica", tc.headroom, rec, tc.want)
		}
	}
	s := predictiveSpec(ForecastAndScale)
	s.Headroom = -0.1
	if _, err := NewPredictive(s); err == nil || !strings.Contains(err.Error(), "headroom: -0.1: must be in [0, 1]") {
		t.Errorf("headroom -0.1: error %v: want it refused", err)
	}
}

// TestPredictiveKeepsCapacityWithinItsTolerance: a plan within the
// tolerance of the current capacity keeps it, in either direction, and one
// beyond it moves all the way to the plan.
func TestPredictiveKeepsCapacityWithinItsTolerance(t *testing.T) {
	flat := func(int) float64 { return 200 } // 20 replicas at 10 per replica
	band := &CapacityTolerance{Up: 0.1, Down: 0.1}
	for _, tc := range []struct {
		name      string
		tolerance *CapacityTolerance
		current   int32
		want      int32
	}{
		{"no tolerance, up", nil, 19, 20},
		{"no tolerance, down", nil, 22, 20},
		{"within, up", band, 19, 19},   // 20 <= 19 x 1.1
		{"beyond, up", band, 18, 20},   // 20 > 18 x 1.1
		{"within, down", band, 22, 22}, // 20 >= 22 x 0.9
		{"beyond, down", band, 23, 20}, // 20 < 23 x 0.9
		{"at the plan", band, 20, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := predictiveSpec(ForecastAndScale)
			s.Model, s.Tolerance = "holt", tc.tolerance
			p, err := NewPredictive(s)
			if err != nil {
				t.Fatal(err)
			}
			in := predictiveInput(2*288, flat)
			in.Capacity = scaling.Capacity{Current: tc.current, Ready: tc.current}
			rec := p.Recommend(in)
			if rec.Abstain || rec.Replicas != tc.want {
				t.Errorf("current %d: %+v: want %d replicas", tc.current, rec, tc.want)
			}
			if kept := tc.want == tc.current && tc.current != 20; kept != strings.Contains(rec.Reason, "within the tolerance") {
				t.Errorf("reason %q: want it to say the tolerance kept current: %v", rec.Reason, kept)
			}
		})
	}
	s := predictiveSpec(ForecastAndScale)
	s.Tolerance = &CapacityTolerance{Up: -0.1, Down: 1}
	_, err := NewPredictive(s)
	for _, want := range []string{"tolerance.up: -0.1: must be in [0, 1]", "tolerance.down: 1: must be in [0, 1)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want %q", err, want)
		}
	}
}

// TestPredictiveSpreadsRefits: policies told different keys refit at
// different times of the hour, each every RefitEvery on its own phase, and
// the same key gives the same times (a restart keeps them); a policy never
// told refits RefitEvery after its first fit, as before.
func TestPredictiveSpreadsRefits(t *testing.T) {
	refits := func(key string) []time.Time {
		t.Helper()
		p, err := NewPredictive(predictiveSpec(ForecastOnly))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			p.SpreadRefits(key)
		}
		var out []time.Time
		const days = 3 * 288
		for n := days; n <= days+5*12; n++ { // five hours at 5-minute steps
			p.Recommend(predictiveInput(n, dailyLoad))
			if len(out) == 0 || !p.fitAt.Equal(out[len(out)-1]) {
				out = append(out, p.fitAt)
			}
		}
		return out
	}
	phases := map[time.Duration]bool{}
	for i := range 20 {
		key := fmt.Sprintf("shop/web-%d", i)
		got := refits(key)
		if len(got) < 5 {
			t.Fatalf("%s: refits at %v: want the first fit and one an hour", key, got)
		}
		phase := got[1].Sub(got[1].Truncate(time.Hour))
		for k := 2; k < len(got); k++ {
			if d := got[k].Sub(got[k-1]); d != time.Hour {
				t.Fatalf("%s: refits at %v: %s apart, want every hour on one phase", key, got, d)
			}
		}
		if again := refits(key); !cmp.Equal(got, again) {
			t.Fatalf("%s: refits at %v, then %v for the same key: want the same times", key, got, again)
		}
		phases[phase] = true
	}
	if len(phases) < 6 {
		t.Errorf("20 keys refit at %d distinct times of the hour: want them spread over the 12 steps of the hour", len(phases))
	}
	plain := refits("")
	for k := 1; k < len(plain); k++ {
		if d := plain[k].Sub(plain[k-1]); d != time.Hour {
			t.Fatalf("without a key: refits at %v: want every hour from the first fit", plain)
		}
	}
}
