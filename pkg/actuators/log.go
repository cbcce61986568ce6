package actuators

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Log is an in-memory target: it records what it is asked to set and reports
// it back as both current and ready. It stands in for a real target in demos,
// dry runs and tests, and is the `kind: log` target of the config.
type Log struct {
	mu      sync.Mutex
	cap     scaling.Capacity
	history []int32
	logger  *zap.Logger
}

var _ Actuator = (*Log)(nil)

// NewLog returns a Log target that starts at initial replicas, all ready.
// logger may be nil.
func NewLog(initial int32, logger *zap.Logger) *Log {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Log{cap: scaling.Capacity{Current: initial, Ready: initial}, logger: logger}
}

// Read returns the last capacity set (or the initial one).
func (l *Log) Read(ctx context.Context) (scaling.Capacity, error) {
	if err := ctx.Err(); err != nil {
		return scaling.Capacity{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cap, nil
}

// Set records n; it becomes ready at once.
func (l *Log) Set(ctx context.Context, n int32, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n == l.cap.Current {
		return nil
	}
	l.logger.Info("log target set", zap.Int32("from", l.cap.Current), zap.Int32("to", n), zap.String("reason", reason))
	l.cap = scaling.Capacity{Current: n, Ready: n}
	l.history = append(l.history, n)
	return nil
}

// History returns every capacity set so far, oldest first.
func (l *Log) History() []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int32(nil), l.history...)
}
