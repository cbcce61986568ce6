package policy

import (
	"strings"
	"testing"
	"time"
)

// TestStartupHold: with a ten-minute startup delay and a hold of one
// delay, a fall waits until the highest recommendation of the last ten
// minutes allows it, whatever the (zero) stabilisation window says; a rise
// is never held. The queue of recommendations stays short.
func TestStartupHold(t *testing.T) {
	b := DefaultBehavior()
	b.ScaleDown.StabilizationWindow = 0
	d := mustDecider(t, Spec{
		Policies: []Policy{mustTT(t, "load", "load", TargetAverageValue, 10)},
		Bounds:   Bounds{Min: 1, Max: 100},
		Behavior: b,
		Startup:  StartupHold{Delay: 10 * time.Minute, Windows: 1},
	})
	cur := int32(10)
	for _, step := range []struct {
		at          time.Duration
		load        float64
		want        int32
		held        bool
		reasonAbout string
	}{
		{0, 100, 10, false, ""},
		{4 * time.Minute, 80, 10, true, "max over 10m (1 x startup delay 10m) = 10"},
		{6 * time.Minute, 150, 15, false, ""}, // a rise passes at once
		{9 * time.Minute, 60, 15, true, "max over 10m (1 x startup delay 10m) = 15"},
		{15*time.Minute + time.Second, 60, 15, true, "= 15"}, // 6m's 15 is 9m1s old
		{16*time.Minute + time.Second, 60, 6, false, ""},     // and now 10m1s old
	} {
		dec := d.Decide(input(t0.Add(step.at), cur, cur, map[string]float64{"load": step.load}))
		held := false
		for _, a := range dec.Adjustments {
			if a.Guard == GuardStartup {
				held = true
				if !strings.Contains(a.Reason, step.reasonAbout) {
					t.Errorf("at %s: reason %q: want %q", step.at, a.Reason, step.reasonAbout)
				}
			}
		}
		if dec.Desired != step.want || held != step.held {
			t.Errorf("at %s, load %g from %d: desired %d (held %v): want %d (held %v); %+v", step.at, step.load, cur, dec.Desired, held, step.want, step.held, dec.Adjustments)
		}
		cur = dec.Desired
	}
	if n := len(d.startup.q); n > 3 {
		t.Errorf("%d recommendations queued: want the decreasing few", n)
	}
}
