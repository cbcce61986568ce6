package actuators

import (
	"context"
	"sync"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// KindLog is an in-memory target that records what it would set.
const KindLog TargetKind = "log"

func init() {
	Register(KindLog, func() TargetSpec { return &LogTarget{} })
}

// LogTarget is the log block of a target. It needs nothing, so `kind: log`
// alone is a target.
type LogTarget struct {
	// Initial capacity the target reports before anything is set.
	Initial int32 `json:"initial,omitempty"`
}

var (
	_ TargetSpec    = (*LogTarget)(nil)
	_ BlockOptional = (*LogTarget)(nil)
	_ Reacher       = (*LogTarget)(nil)
)

// Reach implements Reacher: nothing outside scaled.
func (t *LogTarget) Reach() Reach { return Reach{} }

// Default implements TargetSpec: every key has its default already.
func (t *LogTarget) Default(string) {}

// BlockOptional implements BlockOptional.
func (t *LogTarget) BlockOptional() {}

// Validate implements TargetSpec.
func (t *LogTarget) Validate(_ string, path *field.Path) field.ErrorList {
	if t.Initial < 0 {
		return field.ErrorList{fielderr.Invalid(path.Child("initial"), t.Initial, "must be >= 0")}
	}
	return nil
}

// DefaultBehavior implements TargetSpec: the HPA's, as for pods.
func (t *LogTarget) DefaultBehavior() policy.Behavior { return policy.DefaultBehavior() }

// New implements TargetSpec.
func (t *LogTarget) New(deps Deps) (Actuator, error) { return NewLog(t.Initial, deps.Logger), nil }

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
	// At debug: the decision's own line says the change, once.
	l.logger.Debug("log target set", zap.Int32("from", l.cap.Current), zap.Int32("to", n), zap.String("reason", reason))
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
