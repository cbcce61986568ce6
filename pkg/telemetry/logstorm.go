package telemetry

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
)

// Storm sampling: when one cause makes thousands of scalers change at once
// (Prometheus stops answering in time, and every signal starts failing,
// then recovers), each change is a line, and a fleet writes megabytes a
// minute about one event. Of each message named to StormSampler, the log
// keeps the first StormFirst lines of every second and one in StormThereafter
// after them; the metrics and the decisions API still see every change.
const (
	StormFirst      = 20
	StormThereafter = 100
)

// StormSampler samples the lines of the given messages in a burst, over
// every logger made from its core (scalers' loggers share the counts). It
// is safe for concurrent use.
type StormSampler struct {
	counts  map[string]*stormCount
	dropped atomic.Uint64
}

type stormCount struct {
	resetAt atomic.Int64 // Unix nanoseconds at which the second's count restarts
	n       atomic.Uint64
}

// NewStormSampler samples the lines whose message is one of messages.
func NewStormSampler(messages ...string) *StormSampler {
	s := &StormSampler{counts: make(map[string]*stormCount, len(messages))}
	for _, m := range messages {
		s.counts[m] = &stormCount{}
	}
	return s
}

// Wrap returns core with the sampling applied; use it with zap.WrapCore.
func (s *StormSampler) Wrap(core zapcore.Core) zapcore.Core {
	return &stormCore{Core: core, s: s}
}

// Dropped is how many lines the sampling has left out.
func (s *StormSampler) Dropped() uint64 { return s.dropped.Load() }

// Collector exports Dropped as scaled_log_lines_dropped_total.
func (s *StormSampler) Collector() prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "scaled_log_lines_dropped_total",
		Help: "Log lines of a change left out because thousands of scalers changed alike at once (signals starting or stopping to fail, guards, missed ticks).",
	}, func() float64 { return float64(s.Dropped()) })
}

// keep counts a line of a sampled message at t and says whether to write it.
func (c *stormCount) keep(t time.Time) bool {
	now := t.UnixNano()
	var n uint64
	if reset := c.resetAt.Load(); now < reset {
		n = c.n.Add(1)
	} else if c.resetAt.CompareAndSwap(reset, now+int64(time.Second)) {
		c.n.Store(1)
		n = 1
	} else {
		n = c.n.Add(1)
	}
	return n <= StormFirst || (n-StormFirst)%StormThereafter == 0
}

type stormCore struct {
	zapcore.Core
	s *StormSampler
}

func (c *stormCore) With(fields []zapcore.Field) zapcore.Core {
	return &stormCore{Core: c.Core.With(fields), s: c.s}
}

func (c *stormCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !c.Enabled(ent.Level) {
		return ce
	}
	if cnt, ok := c.s.counts[ent.Message]; ok && !cnt.keep(ent.Time) {
		c.s.dropped.Add(1)
		return ce
	}
	return c.Core.Check(ent, ce)
}
