package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// A sample stamped in the future (its source's clock ahead, or a hostile
// answer) cannot be aged: it is a failed signal of its own kind, counted
// with its own reason, and the scaler holds. Within the skew allowed, it
// is used.
func TestAFutureSampleIsAFailedSignal(t *testing.T) {
	src := &fakes.Source{Value: 0.5}
	s, reg := meteredScaler(t, src)
	for i, ahead := range []time.Duration{400 * time.Second, 365 * 24 * time.Hour} {
		now := t0.Add(time.Duration(i) * 15 * time.Second)
		src.SetAt(0.01, now.Add(ahead)) // a value that would scale in
		d := s.Tick(context.Background(), now)
		if d.Desired != 6 || d.Signals[0].Failed != scaling.FailureFuture {
			t.Fatalf("a sample %s ahead: desired %d, signal %+v; want 6 held, future", ahead, d.Desired, d.Signals[0])
		}
		if !strings.Contains(d.Signals[0].Error, "after the query's time") {
			t.Errorf("signal error %q does not say why", d.Signals[0].Error)
		}
	}
	if got := gathered(t, reg, "scaled_signal_errors_total", `reason="future",scaler="web",signal="load"`); got != "2" {
		t.Errorf(`scaled_signal_errors_total{reason="future"} = %v, want 2`, got)
	}
	now := t0.Add(time.Minute)
	src.SetAt(0.5, now.Add(30*time.Second))
	if d := s.Tick(context.Background(), now); d.Signals[0].Failed != "" {
		t.Errorf("a sample 30 s ahead, within the skew allowed: %+v, want it used", d.Signals[0])
	}
}
