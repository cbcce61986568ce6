package engine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

func TestActing(t *testing.T) {
	onlyA := func(s string) bool { return s == "a" }
	for _, tc := range []struct {
		name string
		set  func(m *Manager)
		want map[string]bool
	}{
		{"acts for all by default", func(*Manager) {}, map[string]bool{"a": true, "b": true}},
		{"a predicate", func(m *Manager) { m.SetActing(onlyA) }, map[string]bool{"a": true, "b": false}},
		{"nil acts for all again", func(m *Manager) { m.SetActing(onlyA); m.SetActing(nil) }, map[string]bool{"a": true, "b": true}},
		{"standby acts for none", func(m *Manager) { m.SetStandby(true) }, map[string]bool{"a": false, "b": false}},
		{"standby off acts for all", func(m *Manager) { m.SetStandby(true); m.SetStandby(false) }, map[string]bool{"a": true, "b": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManager(clocktesting.NewFakeClock(t0), nil, Factories{}, nil, nil)
			defer m.Stop()
			tc.set(m)
			got := map[string]bool{"a": m.Acting("a"), "b": m.Acting("b")}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("acting (-want +got):\n%s", diff)
			}
		})
	}
}

// Each scaler acts or stands by as the predicate says at its tick, and a
// change of the predicate takes effect at the next tick.
func TestManagerActsOnlyForScalersItHolds(t *testing.T) {
	m, clk, _, rec := newTestManager()
	defer m.Stop()
	m.SetActing(func(s string) bool { return s == "a" })
	// A load of 1 against a target of 0.25 wants four times the replicas:
	// every tick wants a change (until the bound of 10).
	mustApply(t, m, scalerYAML("a", 0.25), scalerYAML("b", 0.25))
	outcomes := func(n int) map[string]scaling.Outcome {
		t.Helper()
		waitFor(t, "both timers", func() bool { return clk.HasWaiters() })
		for i := 0; i < 40 && rec.Count() < n; i++ {
			clk.Step(time.Second)
			time.Sleep(2 * time.Millisecond)
		}
		waitFor(t, "a tick of each scaler", func() bool { return rec.Count() >= n })
		out := map[string]scaling.Outcome{}
		for _, d := range rec.Decisions()[n-2 : n] {
			out[d.Scaler] = d.Outcome
		}
		return out
	}
	if diff := cmp.Diff(map[string]scaling.Outcome{"a": scaling.OutcomeApplied, "b": scaling.OutcomeDryRun}, outcomes(2)); diff != "" {
		t.Errorf("first ticks (-want +got):\n%s", diff)
	}
	// b's shard moves here and a's away: b acts, a only decides.
	m.SetActing(func(s string) bool { return s == "b" })
	if diff := cmp.Diff(map[string]scaling.Outcome{"a": scaling.OutcomeDryRun, "b": scaling.OutcomeApplied}, outcomes(4)); diff != "" {
		t.Errorf("after the handover (-want +got):\n%s", diff)
	}
}
