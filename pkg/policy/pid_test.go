package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

func mustPID(t testing.TB, cfg PIDConfig) *PID {
	t.Helper()
	p, err := NewPID("pid", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func latencyPID() PIDConfig {
	return PIDConfig{Signal: "p95", Setpoint: 0.8, Kp: 10, Ki: 0.5, Kd: 0}
}

func TestPIDBumplessStart(t *testing.T) {
	for _, cur := range []int32{0, 3, 17} {
		p := mustPID(t, latencyPID())
		// Far off the setpoint: a non-bumpless PID would jump by Kp*e = 42.
		r := p.Recommend(input(t0, cur, cur, map[string]float64{"p95": 5}))
		if r.Abstain || r.Replicas != cur {
			t.Errorf("current %d: first recommendation %+v, want %d", cur, r, cur)
		}
		if !strings.HasPrefix(r.Reason, "bumpless start") {
			t.Errorf("reason %q", r.Reason)
		}
	}
}

func TestPIDFirstGoodTickIsBumplessAfterFailures(t *testing.T) {
	p := mustPID(t, latencyPID())
	r := p.Recommend(input(t0, 4, 4, nil))
	if !r.Abstain {
		t.Fatalf("failed signal: %+v, want abstain", r)
	}
	r = p.Recommend(input(t0.Add(15*time.Second), 4, 4, map[string]float64{"p95": 3}))
	if r.Replicas != 4 {
		t.Fatalf("first good tick: %d, want current 4", r.Replicas)
	}
}

// dt is the real time between ticks: the same error over twice the time
// integrates twice as much.
func TestPIDIntegratesOverRealTime(t *testing.T) {
	step := func(gap time.Duration) float64 {
		p := mustPID(t, PIDConfig{Signal: "p95", Setpoint: 1, Ki: 1})
		p.Recommend(input(t0, 10, 10, map[string]float64{"p95": 1}))
		p.Feedback(t0, 10, false)
		p.Recommend(input(t0.Add(gap), 10, 10, map[string]float64{"p95": 1.5}))
		return p.State()["integral"]
	}
	i15, i30 := step(15*time.Second)-10, step(30*time.Second)-10
	if math.Abs(i15-7.5) > 1e-9 || math.Abs(i30-15) > 1e-9 {
		t.Fatalf("integral gain over 15 s = %v (want 7.5), over 30 s = %v (want 15)", i15, i30)
	}
}

func TestPIDDirectionAndUnits(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  PIDConfig
		m    float64
		want int32
	}{
		// Kp 4 replicas per second of latency: 0.5 s over -> +2.
		{"decrease: signal over setpoint adds capacity", PIDConfig{Signal: "s", Setpoint: 1, Kp: 4}, 1.5, 12},
		{"decrease: signal under setpoint removes capacity", PIDConfig{Signal: "s", Setpoint: 1, Kp: 4}, 0.5, 8},
		{"increase: signal under setpoint adds capacity", PIDConfig{Signal: "s", Setpoint: 1, Kp: 4, Direction: PIDIncrease}, 0.5, 12},
		// Relative: 0.1 of current per unit error: 10 x 0.1 x 2 = +2.
		{"relative gains scale with current", PIDConfig{Signal: "s", Setpoint: 1, Kp: 0.1, GainScale: PIDRelative}, 3, 12},
		{"deadband swallows a small error", PIDConfig{Signal: "s", Setpoint: 1, Kp: 4, Deadband: 0.2}, 1.15, 10},
		{"deadband counts only the excess", PIDConfig{Signal: "s", Setpoint: 1, Kp: 4, Deadband: 0.2}, 1.7, 12},
		{"max_error caps a saturated signal", PIDConfig{Signal: "s", Setpoint: 1, Kp: 4, MaxError: 1}, 1e9, 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPID(t, tc.cfg)
			// Start at the setpoint, then step the measurement: the P term moves.
			start := tc.cfg.Setpoint
			p.Recommend(input(t0, 10, 10, map[string]float64{"s": start}))
			p.Feedback(t0, 10, false)
			r := p.Recommend(input(t0.Add(time.Second), 10, 10, map[string]float64{"s": tc.m}))
			if r.Replicas != tc.want {
				t.Fatalf("got %d (%s), want %d", r.Replicas, r.Reason, tc.want)
			}
		})
	}
}

// Derivative on the measurement: moving the setpoint changes P only.
func TestPIDNoDerivativeKickOnSetpointChange(t *testing.T) {
	p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Kp: 0, Ki: 0, Kd: 100, DerivativeFilter: 30 * time.Second})
	for i := 0; i < 5; i++ {
		now := t0.Add(time.Duration(i) * 15 * time.Second)
		r := p.Recommend(input(now, 10, 10, map[string]float64{"s": 1}))
		p.Feedback(now, r.Replicas, false)
	}
	p.SetSetpoint(3)
	now := t0.Add(5 * 15 * time.Second)
	r := p.Recommend(input(now, 10, 10, map[string]float64{"s": 1}))
	if r.Replicas != 10 || p.State()["derivative"] != 0 {
		t.Fatalf("after a setpoint step: %d, derivative %v; want 10 and 0 (no kick)", r.Replicas, p.State()["derivative"])
	}
	// A measurement step does move D, through the filter: alpha = 15/(30+15).
	r = p.Recommend(input(now.Add(15*time.Second), 10, 10, map[string]float64{"s": 1.3}))
	wantD := (0.3 / 15) * (15.0 / 45)
	if got := p.State()["derivative"]; math.Abs(got-wantD) > 1e-12 {
		t.Fatalf("filtered derivative %v, want %v", got, wantD)
	}
	if want := roundCapacity(10 + 100*wantD); r.Replicas != want {
		t.Fatalf("D output %d, want %d", r.Replicas, want)
	}
}

// Anti-windup: held at a bound for a long time with a large error, the
// integrator does not grow; once the error reverses the output leaves the
// bound at once instead of after unwinding.
func TestPIDNoWindupUnderSaturation(t *testing.T) {
	run := func() (maxInteg float64, firstBelow int) {
		p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Kp: 2, Ki: 0.2})
		cur := int32(10)
		now := t0
		for i := 0; i < 40; i++ {
			m := 3.0 // far over: wants far more than the cap of 12
			if i >= 20 {
				m = 0.5
			}
			r := p.Recommend(input(now, cur, cur, map[string]float64{"s": m}))
			final := min(r.Replicas, 12)
			p.Feedback(now, final, final != r.Replicas)
			cur = final
			maxInteg = max(maxInteg, p.State()["integral"])
			if i >= 20 && firstBelow == 0 && min(r.Replicas, 12) < 12 {
				firstBelow = i - 20 + 1
			}
			now = now.Add(15 * time.Second)
		}
		return maxInteg, firstBelow
	}
	// Started bumpless at 10 with P = 2 x 2 = 4, the integrator is 6 and
	// stops there while held at 12; a free-running one would gain
	// 0.2 x 2 x 15 = 6 per tick, 120 in 20.
	integ, ticks := run()
	if integ > 6+1e-9 {
		t.Errorf("integrator reached %v while clamped at 12, want it stopped at 6", integ)
	}
	if ticks != 1 {
		t.Errorf("left the bound %d ticks after the error reversed, want 1", ticks)
	}
}

// The Decider feeds the clamped number back: a PID behind a max bound keeps
// its output at the bound.
func TestDeciderFeedsBackFinal(t *testing.T) {
	p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Kp: 2, Ki: 0.2})
	d := mustDecider(t, Spec{Policies: []Policy{p}, Bounds: Bounds{Min: 1, Max: 12}})
	cur := int32(10)
	var dec scaling.Decision
	for i := 0; i < 30; i++ {
		now := t0.Add(time.Duration(i) * 15 * time.Second)
		dec = d.Decide(input(now, cur, cur, map[string]float64{"s": 3}))
		if dec.Desired != cur {
			d.Scaled(now, cur, dec.Desired)
		}
		cur = dec.Desired
	}
	// P = 4 over the bumpless integral 6 plus one tick's 6: it keeps asking
	// for 16, and the integrator has not moved in 30 ticks.
	if dec.Recommendations[0].Replicas != 16 || dec.Desired != 12 {
		t.Fatalf("last decision %+v", dec)
	}
	st := d.States()
	if len(st) != 1 || st[0].Policy != "pid" || st[0].Vars["integral"] != 6 {
		t.Fatalf("States() = %+v", st)
	}
}

// A failed signal freezes the integrator and the derivative restarts.
func TestPIDFailedSignalFreezes(t *testing.T) {
	p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Ki: 0.1, Kd: 5})
	p.Recommend(input(t0, 10, 10, map[string]float64{"s": 2}))
	p.Feedback(t0, 10, false)
	before := p.State()["integral"]
	for i := 1; i <= 10; i++ {
		now := t0.Add(time.Duration(i) * 15 * time.Second)
		r := p.Recommend(input(now, 10, 10, nil))
		if !r.Abstain {
			t.Fatalf("failed signal: %+v", r)
		}
		p.Feedback(now, 10, true)
	}
	if got := p.State()["integral"]; got != before {
		t.Fatalf("integral moved while the signal failed: %v -> %v", before, got)
	}
	// The next good tick integrates one tick (15 s), not the 165 s since the
	// last good one, and takes no derivative across the gap.
	p.Recommend(input(t0.Add(165*time.Second), 10, 10, map[string]float64{"s": 2}))
	if got, want := p.State()["integral"]-before, 0.1*1*15; math.Abs(got-want) > 1e-9 {
		t.Fatalf("integral step %v, want %v", got, want)
	}
	if d := p.State()["derivative"]; d != 0 {
		t.Fatalf("derivative across a gap: %v", d)
	}
}

// Bumpless transfer: when the capacity in place differs from what was
// decided (dry run, a failed actuation, a manual change), the PID continues
// from it.
func TestPIDBumplessTransferFromDryRun(t *testing.T) {
	p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Kp: 2, Ki: 0.02})
	cur := int32(10)
	// Dry run: every tick decides more (P alone asks for +4), nothing changes.
	for i := 0; i < 20; i++ {
		now := t0.Add(time.Duration(i) * 15 * time.Second)
		r := p.Recommend(input(now, cur, cur, map[string]float64{"s": 3}))
		p.Feedback(now, r.Replicas, false)
	}
	// Live: the first output is current plus one tick's integral move
	// (0.02 x 2 x 15 = 0.6), not the 20 ticks' worth (12) of a PID that
	// believed its dry-run decisions.
	now := t0.Add(20 * 15 * time.Second)
	r := p.Recommend(input(now, cur, cur, map[string]float64{"s": 3}))
	if want := roundCapacity(10 + 0.02*2*15); r.Replicas != want {
		t.Fatalf("first live output %d, want %d (%s)", r.Replicas, want, r.Reason)
	}
}

func TestPIDFeedForward(t *testing.T) {
	p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Ki: 0.01, FeedForwardSignal: "rps", FeedForwardPerReplica: 7})
	r := p.Recommend(input(t0, 10, 10, map[string]float64{"s": 1, "rps": 70}))
	p.Feedback(t0, r.Replicas, false)
	// Load doubles at the setpoint: feed-forward alone adds 10.
	r = p.Recommend(input(t0.Add(15*time.Second), 10, 10, map[string]float64{"s": 1, "rps": 140}))
	if r.Replicas != 20 {
		t.Fatalf("feed-forward: %d, want 20 (%s)", r.Replicas, r.Reason)
	}
	if diff := cmp.Diff([]string{"s", "rps"}, p.Signals()); diff != "" {
		t.Errorf("Signals (-want +got):\n%s", diff)
	}
	// A failed load signal is a failed signal: abstain.
	r = p.Recommend(Input{Now: t0.Add(30 * time.Second), Capacity: scaling.Capacity{Current: 20, Ready: 20},
		Signals: map[string]scaling.Reading{"s": {Sample: scaling.Sample{Value: 1}}, "rps": {Err: scaling.Fail(scaling.FailureStale, "old")}}})
	if !r.Abstain {
		t.Fatalf("failed feed-forward signal: %+v", r)
	}
}

func TestNewPIDValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  PIDConfig
		want string
	}{
		{PIDConfig{Setpoint: 1, Kp: 1}, `signal: "": must name a signal`},
		{PIDConfig{Signal: "s", Setpoint: 1}, "kp, ki and kd are all 0: at least one gain must be > 0"},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: -1}, "kp: -1: must be a finite number >= 0"},
		{PIDConfig{Signal: "s", Setpoint: math.NaN(), Kp: 1}, "setpoint: NaN: must be a finite number"},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: 1, Direction: "up"}, `direction: "up": must be one of decrease, increase`},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: 1, GainScale: "x"}, `gain_scale: "x": must be one of absolute, relative`},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: 1, FeedForwardSignal: "rps"}, "feed_forward.per_replica: 0: must be a finite number > 0"},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: 1, DerivativeFilter: -time.Second}, "derivative_filter: -1s: must be >= 0"},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: 1, ToleranceUp: -0.1}, "tolerance.up: -0.1: must be a finite number >= 0"},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: 1, ToleranceDown: 1}, "tolerance.down: 1: must be < 1"},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: 1, FeedForwardSignal: "rps", FeedForwardPerReplica: 1, FeedForwardSmoothing: -time.Second},
			"feed_forward.smoothing: -1s: must be >= 0"},
		{PIDConfig{Signal: "s", Setpoint: 1, Kp: 1, FeedForwardSignal: "rps", FeedForwardPerReplica: 1, FeedForwardLead: time.Second},
			"feed_forward.lead: 1s: must be >= 0, and 0 without smoothing"},
	} {
		_, err := NewPID("p", tc.cfg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// Smoothing: the feed-forward follows an exponentially weighted moving
// average of the load, weighted by the real time between readings.
func TestPIDFeedForwardSmoothing(t *testing.T) {
	p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Ki: 0.01, FeedForwardSignal: "rps", FeedForwardPerReplica: 10,
		FeedForwardSmoothing: 45 * time.Second})
	r := p.Recommend(input(t0, 10, 10, map[string]float64{"s": 1, "rps": 100}))
	p.Feedback(t0, r.Replicas, false)
	// Load doubles: weight 15/(45+15) = 1/4, smoothed load 125, ff 12.5.
	now := t0.Add(15 * time.Second)
	r = p.Recommend(input(now, 10, 10, map[string]float64{"s": 1, "rps": 200}))
	if got := p.State()["feed_forward"]; math.Abs(got-12.5) > 1e-9 {
		t.Fatalf("feed_forward after one tick %v, want 12.5", got)
	}
	p.Feedback(now, r.Replicas, false)
	// 45 s later in one step: weight 45/90 = 1/2 of the way to 200: 162.5.
	now = now.Add(45 * time.Second)
	p.Recommend(input(now, r.Replicas, r.Replicas, map[string]float64{"s": 1, "rps": 200}))
	if got := p.State()["feed_forward"]; math.Abs(got-16.25) > 1e-9 {
		t.Fatalf("feed_forward after a 45 s gap %v, want 16.25", got)
	}
	// A failed load reading leaves the average alone.
	p.Recommend(input(now.Add(15*time.Second), 16, 16, map[string]float64{"s": 1}))
	p.Recommend(input(now.Add(30*time.Second), 16, 16, map[string]float64{"s": 1, "rps": 162.5}))
	if got := p.State()["feed_forward"]; math.Abs(got-16.25) > 1e-9 {
		t.Fatalf("feed_forward after a failed reading %v, want 16.25", got)
	}
}

// Tolerance: the recommendation stays at the current capacity while the
// output is within up/down of it, and the integrator keeps integrating
// meanwhile, so a persistent error moves capacity once it has built up.
func TestPIDTolerance(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    float64 // measurement; Kp 10 replicas per unit around setpoint 1
		want int32
	}{
		{"within up: held", 1.09, 20},  // u = 20.9 <= 20 x 1.1 = 22
		{"beyond up: moves", 1.25, 23}, // u = 22.5 > 22
		{"within down: held", 0.75, 20},
		{"beyond down: moves", 0.6, 16}, // u = 16 < 20 x 0.85 = 17
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Kp: 10, ToleranceUp: 0.1, ToleranceDown: 0.15})
			p.Recommend(input(t0, 20, 20, map[string]float64{"s": 1}))
			p.Feedback(t0, 20, false)
			r := p.Recommend(input(t0.Add(15*time.Second), 20, 20, map[string]float64{"s": tc.m}))
			if r.Replicas != tc.want {
				t.Fatalf("%d, want %d (%s)", r.Replicas, tc.want, r.Reason)
			}
		})
	}
	p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Ki: 0.01, ToleranceUp: 0.1})
	p.Recommend(input(t0, 20, 20, map[string]float64{"s": 1}))
	p.Feedback(t0, 20, false)
	// Error 1 integrates 0.15 replicas a tick: held until u passes 22, at
	// the 14th tick (2.1 over), then round(u) = 22.
	var moved int
	for i := 1; i <= 20 && moved == 0; i++ {
		now := t0.Add(time.Duration(i) * 15 * time.Second)
		r := p.Recommend(input(now, 20, 20, map[string]float64{"s": 2}))
		p.Feedback(now, r.Replicas, false)
		if r.Replicas != 20 {
			moved = i
			if r.Replicas != 22 {
				t.Fatalf("tick %d: %d, want 22", i, r.Replicas)
			}
		}
	}
	if moved != 14 {
		t.Fatalf("moved at tick %d, want 14: the integrator must keep integrating while held", moved)
	}
}

// Lead: on a steady ramp the smoothed trend converges to the ramp's slope,
// and the feed-forward asks for the load the lead ahead, where a plain
// moving average lags behind the load seen.
func TestPIDFeedForwardLead(t *testing.T) {
	run := func(lead time.Duration) float64 {
		p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Ki: 0.001, FeedForwardSignal: "rps", FeedForwardPerReplica: 1,
			FeedForwardSmoothing: 60 * time.Second, FeedForwardLead: lead})
		cur := int32(100)
		for i := 0; i <= 200; i++ {
			now := t0.Add(time.Duration(i) * 15 * time.Second)
			r := p.Recommend(input(now, cur, cur, map[string]float64{"s": 1, "rps": 100 + float64(i)})) // +1 per 15 s
			p.Feedback(now, r.Replicas, false)
			cur = r.Replicas
		}
		return p.State()["feed_forward"]
	}
	// Last load 300; the ramp's value 90 s (6 ticks) on is 306.
	if got := run(90 * time.Second); math.Abs(got-306) > 0.01 {
		t.Errorf("with a 90 s lead: feed_forward %v, want 306", got)
	}
	if got := run(0); got > 297 {
		t.Errorf("without a lead: feed_forward %v, want the moving average's lag (about 4 ticks behind 300)", got)
	}
}

// Shadow (dry run): the PID works from what it decided last, as if it had
// been applied, so a persistent error shows as a rising recommendation
// rather than the same one re-based every tick on a capacity that never
// moves; its reason says so. Going live re-bases on the real capacity.
func TestPIDShadowsItsDecisionsInDryRun(t *testing.T) {
	p := mustPID(t, PIDConfig{Signal: "s", Setpoint: 1, Kp: 2, Ki: 0.02})
	const cur = 10
	var recs []int32
	for i := range 20 {
		now := t0.Add(time.Duration(i) * 15 * time.Second)
		in := input(now, cur, cur, map[string]float64{"s": 3})
		in.Shadow = true
		r := p.Recommend(in)
		p.Feedback(now, r.Replicas, false)
		recs = append(recs, r.Replicas)
		if i >= 2 && !strings.HasPrefix(r.Reason, "shadow of a dry run, as if ") {
			t.Errorf("tick %d: reason %q, want it to say it shadows its own decisions", i, r.Reason)
		}
	}
	// Bumpless start at 10, then P (+4) and I (+0.6 a tick) from there:
	// round(10 + 0.6 k) at tick k.
	for k, got := range recs {
		if want := roundCapacity(10 + 0.6*float64(k)); got != want {
			t.Fatalf("shadow recommendations %v: tick %d is %d, want %d", recs, k, got, want)
		}
	}
	// Live: the first output re-bases on the real 10, plus one tick's move.
	now := t0.Add(20 * 15 * time.Second)
	r := p.Recommend(input(now, cur, cur, map[string]float64{"s": 3}))
	if want := roundCapacity(10 + 0.02*2*15); r.Replicas != want || strings.Contains(r.Reason, "shadow") {
		t.Fatalf("first live output %d (%s), want %d, not a shadow", r.Replicas, r.Reason, want)
	}
}
