package scaling

import (
	"errors"
	"fmt"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
)

// Sample is one value of a signal at a point in time.
type Sample struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// FailureKind names why a signal could not be used. The values are the
// `reason` label of scaled_signal_errors_total, so the set is closed.
type FailureKind string

const (
	FailureQuery       FailureKind = "query_error"      // transport, HTTP or PromQL error
	FailureTimeout     FailureKind = "timeout"          // the query did not answer within its deadline
	FailureWarnings    FailureKind = "warnings"         // the server answered with warnings and no usable data
	FailureEmpty       FailureKind = "empty"            // no sample came back
	FailureMultiple    FailureKind = "multiple_series"  // several series where one was expected
	FailureNotFinite   FailureKind = "not_finite"       // NaN or +-Inf
	FailureStale       FailureKind = "stale"            // the newest sample is older than the signal's max age
	FailureFuture      FailureKind = "future"           // the sample is stamped later than the query's time, past the clock skew allowed
	FailureUnsupported FailureKind = "unsupported_type" // a result type that is not a scalar or an instant vector
	FailureTooLarge    FailureKind = "too_large"        // the answer was larger than the source reads
	FailureOutOfRange  FailureKind = "out_of_range"     // a finite value outside the signal's valid range
	FailureThrottled   FailureKind = "throttled"        // the source asked to be left alone for a while (HTTP 429 or 503 with Retry-After), or the query got no turn under scaled's own limits before its deadline
)

// FailureKinds lists every FailureKind, for pre-creating metric series and for validation.
var FailureKinds = []FailureKind{
	FailureQuery, FailureTimeout, FailureWarnings, FailureEmpty,
	FailureMultiple, FailureNotFinite, FailureStale, FailureUnsupported,
	FailureTooLarge, FailureOutOfRange, FailureThrottled, FailureFuture,
}

// SignalError is the error of a failed signal. Sources return it (wrapped or
// not); errors.As recovers the kind.
type SignalError struct {
	Kind FailureKind
	Err  error
}

func (e *SignalError) Error() string {
	if e.Err == nil {
		return string(e.Kind)
	}
	return fmt.Sprintf("%s: %v", e.Kind, e.Err)
}

func (e *SignalError) Unwrap() error { return e.Err }

// Fail builds a *SignalError of the given kind; durations print as
// durfmt writes them.
func Fail(kind FailureKind, format string, args ...any) error {
	return &SignalError{Kind: kind, Err: fmt.Errorf(format, durfmt.Args(args)...)}
}

// KindOf returns the FailureKind carried by err, or FailureQuery for any other
// non-nil error, and "" for nil.
func KindOf(err error) FailureKind {
	if err == nil {
		return ""
	}
	var se *SignalError
	if errors.As(err, &se) {
		return se.Kind
	}
	return FailureQuery
}

// Reading is the outcome of evaluating one named signal at one tick. When Err
// is non-nil the reading is a failed signal and Sample must not be used.
type Reading struct {
	Name   string
	Sample Sample
	Err    error
	// History holds the signal's past values, oldest first, for policies that
	// asked for it (see policy.HistoryNeed); empty otherwise. It may be
	// shared with other readings: it is never changed.
	History History
}

// OK reports whether the reading carries a usable value.
func (r Reading) OK() bool { return r.Err == nil }

// Capacity is what an actuator reports about its target.
type Capacity struct {
	// Current is the capacity the target is asked to have (spec.replicas,
	// readers counting those being created, provisioned concurrency requested).
	Current int32 `json:"current"`
	// Ready is the part of Current that serves now.
	Ready int32 `json:"ready"`
	// Pause is how the target asks to be left alone, if it does.
	Pause Pause `json:"-"`
}

// Pause is a target's request to be left alone, by the conventions of the
// autoscalers people move from: the HPA stops when a workload's replicas
// are 0 while its minReplicas is above 0 (`kubectl scale --replicas=0`), and
// KEDA when the workload carries a paused annotation.
type Pause struct {
	// Reason, when set, says why the target asks to be left alone whatever
	// the bounds (an annotation on it).
	Reason string
	// Hold is the capacity to hold it at, from the annotation that asks
	// for one; HoldSet says there is one (else it stays where it is).
	Hold    int32
	HoldSet bool
	// ZeroPauses says that a capacity of 0 means "paused" on this kind when
	// the scaler's bounds.min is above 0, as the HPA reads it.
	ZeroPauses bool
}
