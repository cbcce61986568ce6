package telemetry

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// fixedClock stamps every entry with the time it holds.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time                         { return c.now }
func (c *fixedClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

// A burst of one change over a fleet keeps the first lines of each second
// and one in StormThereafter after them, over every scaler's logger; other
// messages are never sampled, and a new second starts again.
func TestStormSamplerKeepsTheStartOfABurst(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	s := NewStormSampler("signal failing")
	clk := &fixedClock{now: t0}
	log := zap.New(s.Wrap(core), zap.WithClock(clk))
	const scalers = 1000
	for i := range scalers {
		l := log.With(zap.Int("scaler", i))
		l.Warn("signal failing")
		l.Info("decision")
	}
	failing := len(logs.FilterMessage("signal failing").All())
	if want := StormFirst + (scalers-StormFirst)/StormThereafter; failing != want {
		t.Errorf("%d signal failing lines of %d, want %d", failing, scalers, want)
	}
	if n := len(logs.FilterMessage("decision").All()); n != scalers {
		t.Errorf("%d decision lines, want every one of %d", n, scalers)
	}
	if got, want := s.Dropped(), uint64(scalers-failing); got != want {
		t.Errorf("dropped %d, want %d", got, want)
	}
	if got := testutil.ToFloat64(s.Collector()); got != float64(scalers-failing) {
		t.Errorf("scaled_log_lines_dropped_total = %v, want %d", got, scalers-failing)
	}

	clk.now = t0.Add(time.Second)
	logs.TakeAll()
	log.Warn("signal failing")
	if n := logs.Len(); n != 1 {
		t.Errorf("the next second logged %d lines, want 1", n)
	}
	// Below the level, nothing is counted.
	log.Debug("signal failing")
	if got := s.Dropped(); got != uint64(scalers-failing) {
		t.Errorf("a debug line moved the count to %d", got)
	}
}
