package actuators

import (
	"context"
	"errors"
	"time"

	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Operations a TargetObserver is told about.
const (
	OpRead = "read"
	OpSet  = "set"
)

// Reasons every target may fail with, beside its kind's own (AWSError,
// KubernetesError): the reason label of scaled_target_errors_total.
const (
	ReasonTimeout = "timeout" // the call did not answer before its context's deadline
	ReasonOther   = "other"   // an error that names no reason
)

// TargetObserver is told about every Read and Set a wrapped target answers,
// so that telemetry can time them and count failures by reason without
// targets knowing about metrics. reason is "" for a success (a Set that a
// limit held back, *LimitedError, is one: the target changed as far as it
// could) and ErrorReason's otherwise. ObserveTarget is called synchronously
// after the call returns and must not block.
type TargetObserver interface {
	ObserveTarget(op string, took time.Duration, reason string)
}

// WarningObserver is told of what a target found wrong in the world and
// acts on by itself, once per occurrence, never per tick: a reader that
// died as it was created, a key RDS cannot use. A Scaler object's observer
// records a Warning Event on it. ObserveWarning must not block.
type WarningObserver interface {
	ObserveWarning(reason, message string)
}

// Reasons of the warnings AWS targets raise (WarningObserver).
const (
	// WarningReaderDied: a reader scaled created died of its settings
	// before it served; creations wait (the message gives until when).
	WarningReaderDied = "ReaderDiedOnCreation"
	// WarningKeyNotAccessible: RDS cannot use the cluster's or source's KMS
	// key; creations wait.
	WarningKeyNotAccessible = "KMSKeyNotAccessible"
)

// ErrorReason names why a call to a target failed: timeout for a deadline
// that passed, the reason a typed error carries (Reason() string: AWSError,
// KubernetesError, or a kind's own), other for anything else; "" for nil or
// a *LimitedError.
func ErrorReason(err error) string {
	var lim *LimitedError
	switch {
	case err == nil, errors.As(err, &lim):
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	}
	var r interface{ Reason() string }
	if errors.As(err, &r) {
		return r.Reason()
	}
	return ReasonOther
}

// Instrument wraps a so that obs observes the duration and outcome of every
// Read and Set but a canceled one. The result reports a's status when a is a StatusReporter.
func Instrument(a Actuator, obs TargetObserver) Actuator {
	return &instrumented{next: a, obs: obs, clock: clock.RealClock{}}
}

type instrumented struct {
	next  Actuator
	obs   TargetObserver
	clock clock.PassiveClock
}

var (
	_ Actuator       = (*instrumented)(nil)
	_ StatusReporter = (*instrumented)(nil)
)

func (i *instrumented) Read(ctx context.Context) (scaling.Capacity, error) {
	start := i.clock.Now()
	c, err := i.next.Read(ctx)
	i.observe(OpRead, start, err)
	return c, err
}

func (i *instrumented) Set(ctx context.Context, n int32, reason string) error {
	start := i.clock.Now()
	err := i.next.Set(ctx, n, reason)
	i.observe(OpSet, start, err)
	return err
}

// observe tells obs about a call that started at start, unless it was
// canceled: a cancellation is the daemon shutting down or a scaler being
// removed, not a failure of the target, and its duration says nothing.
func (i *instrumented) observe(op string, start time.Time, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	i.obs.ObserveTarget(op, i.clock.Since(start), ErrorReason(err))
}

// PauseChanged implements PauseRecorder: the wrapped target's, if it records.
func (i *instrumented) PauseChanged(ctx context.Context, why string) {
	if p, ok := i.next.(PauseRecorder); ok {
		p.PauseChanged(ctx, why)
	}
}

// Status implements StatusReporter: the wrapped target's, or "".
func (i *instrumented) Status() string {
	if s, ok := i.next.(StatusReporter); ok {
		return s.Status()
	}
	return ""
}
