package simulate

import (
	"strings"
	"testing"
	"time"
)

func TestMeanReferenceValidate(t *testing.T) {
	m := mustModel(t, trace(time.Minute, 70, 70, 70), DefaultParams())
	for _, tc := range []struct {
		ref  MeanReference
		want string
	}{
		{MeanReference{Window: 10 * time.Second}, "window: 10s: must be at least the tick (15s)"},
		{MeanReference{Window: time.Minute, Margin: -1}, "margin: -1: must be a finite number >= 0"},
	} {
		if _, err := PlayMeanReference(m, tc.ref); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PlayMeanReference(%+v) = %v, want %q", tc.ref, err, tc.want)
		}
	}
}

// stepModel holds 70 requests a minute for 40 minutes, then after for 20:
// the median stays 70, so the load is 10 replicas, then 10*after/70.
func stepModel(t *testing.T, after float64) *Model {
	vals := make([]float64, 60)
	for i := range vals {
		vals[i] = 70
		if i >= 40 {
			vals[i] = after
		}
	}
	return mustModel(t, trace(time.Minute, vals...), DefaultParams())
}

func TestMeanReferenceConstantLoadMatchesTheOracle(t *testing.T) {
	m := stepModel(t, 70)
	for _, centred := range []bool{true, false} {
		run, err := PlayMeanReference(m, MeanReference{Window: 5 * time.Minute, Centred: centred})
		if err != nil {
			t.Fatal(err)
		}
		s := run.Score()
		if s.ViolatingRequestFraction != 0 || !near(s.CostVsOracle, 1) || s.ScaleActions != 1 {
			t.Errorf("centred=%v: %+v, want no violation at the oracle's cost with one action", centred, s)
		}
	}
}

func TestMeanReferenceCentredSeesTheStepTrailingDoesNot(t *testing.T) {
	m := stepModel(t, 140) // load 10, then 20 from minute 40
	play := func(centred bool) Score {
		run, err := PlayMeanReference(m, MeanReference{Window: m.T, Centred: centred})
		if err != nil {
			t.Fatal(err)
		}
		return run.Score()
	}
	if s := play(true); s.ViolatingRequestFraction != 0 {
		t.Errorf("centred: violating %v, want 0: it knows the step before it comes", s.ViolatingRequestFraction)
	}
	// Trailing learns of the step one tick after it and gets the replicas a
	// startup delay later: the step's first minute and one tick violate.
	s := play(false)
	want := 5 * 20.0 / (160*10 + 80*20)
	if !near(s.ViolatingRequestFraction, want) {
		t.Errorf("trailing: violating %v, want %v (5 ticks at load 20)", s.ViolatingRequestFraction, want)
	}
}

// The trailing reference must be causal: what it asks for up to a tick does
// not depend on any load from that tick on.
func TestMeanReferenceTrailingReadsOnlyThePast(t *testing.T) {
	a, b := stepModel(t, 70), stepModel(t, 350)
	first := 40 * 4 // the first tick where the two models differ
	play := func(m *Model, centred bool) []Row {
		run, err := PlayMeanReference(m, MeanReference{Window: 3 * time.Minute, Centred: centred, Margin: 1}, WithTimeline())
		if err != nil {
			t.Fatal(err)
		}
		return run.Timeline()
	}
	ta, tb := play(a, false), play(b, false)
	for i := 0; i <= first; i++ {
		if ta[i].Replicas != tb[i].Replicas {
			t.Fatalf("trailing: tick %d asks %d on one model and %d on the other; the loads differ only from tick %d", i, ta[i].Replicas, tb[i].Replicas, first)
		}
	}
	if ta[first+8].Replicas == tb[first+8].Replicas {
		t.Fatalf("trailing: still %d replicas two minutes after a fivefold step", ta[first+8].Replicas)
	}
	ca, cb := play(a, true), play(b, true)
	if ca[first-1].Replicas == cb[first-1].Replicas {
		t.Fatalf("centred: %d replicas on both models the tick before the step; it should read ahead", ca[first-1].Replicas)
	}
}

// A relative margin asks for that share of the mean on top: on a constant
// load the cost is the oracle's times 1 + margin, rounded up per tick, and a
// square-root margin of the same number asks for less where the mean is
// above one replica.
func TestMeanReferenceRelativeMargin(t *testing.T) {
	m := stepModel(t, 70) // a constant 10 replicas' load
	rel, err := PlayMeanReference(m, MeanReference{Window: 5 * time.Minute, Margin: 0.2, Relative: true})
	if err != nil {
		t.Fatal(err)
	}
	sqrt, err := PlayMeanReference(m, MeanReference{Window: 5 * time.Minute, Margin: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if s := rel.Score(); !near(s.CostVsOracle, 1.2) {
		t.Errorf("relative margin 0.2 on 10 replicas: cost %.3f x the oracle, want 1.2 (12 replicas)", s.CostVsOracle)
	}
	if s := sqrt.Score(); !near(s.CostVsOracle, 1.1) {
		t.Errorf("square-root margin 0.2 on 10 replicas: cost %.3f x the oracle, want 1.1 (ceil(10 + 0.2 x 3.16) = 11)", s.CostVsOracle)
	}
}
