package telemetry

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// ForgetScalers forgets exactly what ForgetScaler forgets for each of the
// scalers, and nothing of the others, whatever series a scaler has.
func TestForgetScalersIsForgetScalerForEach(t *testing.T) {
	fill := func(m *Metrics) {
		for _, name := range []string{"a", "b", "c"} {
			m.InitScaler(name, []string{"rps", "p99"}, false)
			d := decision()
			d.Scaler = name
			m.ObserveDecision(d)
			m.SignalError(name, "p99", scaling.FailureStale)
			m.ObserveTick(name, time.Millisecond, time.Millisecond)
			m.TickMissed(name, 1)
			m.QueryObserver(name).ObserveQuery("instant", time.Millisecond, nil)
		}
	}
	one, oneReg := newTestMetrics(t)
	batch, batchReg := newTestMetrics(t)
	fill(one)
	fill(batch)
	one.ForgetScaler("a")
	one.ForgetScaler("c")
	batch.ForgetScalers([]string{"a", "c"})
	want, got := series(t, oneReg), series(t, batchReg)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series after ForgetScalers(a, c) (-ForgetScaler each +ForgetScalers):\n%s", diff)
	}
	for key := range got {
		if scalerOf(key) == "a" || scalerOf(key) == "c" {
			t.Errorf("%s is still exported", key)
		}
	}
	kept := 0
	for key := range got {
		if scalerOf(key) == "b" {
			kept++
		}
	}
	if kept == 0 {
		t.Error("b's series went with a's and c's")
	}
}

// scalerOf is the scaler label of a key of series, "" without one.
func scalerOf(key string) string {
	_, labels, _ := strings.Cut(strings.TrimSuffix(key, "}"), "{")
	for _, part := range strings.Split(labels, ",") {
		if v, ok := strings.CutPrefix(part, "scaler="); ok {
			return v
		}
	}
	return ""
}
