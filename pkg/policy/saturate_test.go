package policy

import (
	"math"
	"strings"
	"testing"
	"time"
)

// From a value to a recommendation, the arithmetic saturates at the int32
// range and never wraps around: an absurd value asks for a lot, never for
// a negative or tiny capacity.
func TestArithmeticSaturates(t *testing.T) {
	up := DefaultBehavior().ScaleUp
	down := DefaultBehavior().ScaleDown
	near := int32(math.MaxInt32 - 10)
	if got := scaleUpLimit(near, nil, nil, t0, &up); got != math.MaxInt32 {
		t.Errorf("scale-up limit from %d = %d, want the int32 maximum", near, got)
	}
	if got := scaleDownLimit(near, nil, nil, t0, &down); got != 0 {
		t.Errorf("scale-down limit from %d at 100%% = %d, want 0", near, got)
	}
	pods := Rules{Select: SelectMax, Limits: []RateLimit{{Type: RatePods, Value: math.MaxInt32, Period: time.Minute}}}
	if got := scaleUpLimit(near, nil, nil, t0, &pods); got != math.MaxInt32 {
		t.Errorf("pods scale-up limit from %d = %d, want the int32 maximum", near, got)
	}
	if got := scaleDownLimit(-near, nil, nil, t0, &pods); got != math.MinInt32 {
		t.Errorf("pods scale-down limit = %d, want the int32 minimum", got)
	}
	ups := []scaleEvent{{change: math.MaxInt32, at: t0}, {change: math.MaxInt32, at: t0}}
	if got := replicasChangedIn(ups, t0.Add(time.Second), time.Minute); got != 2*math.MaxInt32 {
		t.Errorf("changes in period = %d, want their exact sum", got)
	}

	r := &StepRule{AdjustmentType: PercentChangeInCapacity}
	if got := r.Target(near, 1000); got != math.MaxInt32 {
		t.Errorf("step +1000%% from %d = %d, want the int32 maximum", near, got)
	}
	r = &StepRule{AdjustmentType: ChangeInCapacity}
	if got := r.Target(near, math.MaxInt32); got != math.MaxInt32 {
		t.Errorf("step +MaxInt32 from %d = %d, want the int32 maximum", near, got)
	}
	if got := abs32(math.MinInt32); got != math.MaxInt32 {
		t.Errorf("abs32(MinInt32) = %d", got)
	}

	tt, err := NewTargetTracking("tt", "load", TargetValue, 1e-300, DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	rec := tt.Recommend(input(t0, 4, 4, map[string]float64{"load": 1e308}))
	if rec.Abstain || rec.Replicas != math.MaxInt32 {
		t.Errorf("target tracking on 1e308/1e-300: %+v, want the int32 maximum", rec)
	}
	if len(rec.Reason) > 120 {
		t.Errorf("reason is %d bytes: %q", len(rec.Reason), rec.Reason)
	}
}

// An absurd value overflows a PID's float arithmetic: it abstains like a
// failed signal and keeps its state, instead of keeping an infinite or NaN
// integrator that would later read as a wish for zero capacity.
func TestPIDOverflowAbstainsAndKeepsItsState(t *testing.T) {
	p := mustPID(t, PIDConfig{Signal: "p95", Setpoint: 0.8, Kp: 10, Ki: 1, Kd: 5})
	p.Recommend(input(t0, 10, 10, map[string]float64{"p95": 0.8}))
	p.Feedback(t0, 10, false)
	before := p.State()
	for i, v := range []float64{1e308, -1e308, 1e308} {
		r := p.Recommend(input(t0.Add(time.Duration(i+1)*15*time.Second), 10, 10, map[string]float64{"p95": v}))
		if !r.Abstain || !strings.Contains(r.Reason, "overflows") {
			t.Fatalf("value %g: %+v, want an abstention", v, r)
		}
		p.Feedback(t0, 10, false)
	}
	after := p.State()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("state %s went from %v to %v across overflowing values", k, v, after[k])
		}
	}
	r := p.Recommend(input(t0.Add(time.Minute), 10, 10, map[string]float64{"p95": 0.8}))
	if r.Abstain || r.Replicas != 10 {
		t.Errorf("back at the setpoint: %+v, want 10", r)
	}
}

// Against the decider: a PID fed an absurd value never scales down.
func TestPIDOverflowNeverScalesDown(t *testing.T) {
	d := mustDecider(t, Spec{
		Policies: []Policy{mustPID(t, PIDConfig{Signal: "p95", Setpoint: 0.8, Kp: 1e300, Ki: 1e300})},
		Bounds:   Bounds{Min: 1, Max: 100}, Behavior: DefaultBehavior(),
	})
	for i, v := range []float64{0.8, 1e308, 0.8, -1e308} {
		dec := d.Decide(input(t0.Add(time.Duration(i)*15*time.Second), 10, 10, map[string]float64{"p95": v}))
		if dec.Desired < 10 {
			t.Fatalf("tick %d (%g): desired %d, want never below the current 10: %+v", i, v, dec.Desired, dec)
		}
	}
}
