// Package fakes holds the test doubles the packages' tests share: signal
// sources that answer as told, a target whose reads and sets fail as told,
// and a recorder that keeps what a scaler's loop reports. It depends on
// pkg/scaling alone, so that any package's own tests may use it.
package fakes

import (
	"context"
	"sync"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// notUsed is the answer of a query a test does not expect.
func notUsed() error { return scaling.Fail(scaling.FailureQuery, "not used") }

// Querier is a source made of its two functions; a nil one fails every
// call as not used.
type Querier struct {
	Instant func(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error)
	Range   func(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error)
}

// Query calls q.Instant.
func (q Querier) Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	if q.Instant == nil {
		return scaling.Sample{}, notUsed()
	}
	return q.Instant(ctx, expr, ts)
}

// QueryRange calls q.Range.
func (q Querier) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	if q.Range == nil {
		return nil, notUsed()
	}
	return q.Range(ctx, expr, start, end, step)
}

// Curve is a source whose signal is f of the time: an instant query is
// answered with f at its time, a range with f at each step.
func Curve(f func(time.Time) float64) Querier {
	return Querier{
		Instant: func(_ context.Context, _ string, ts time.Time) (scaling.Sample, error) {
			return scaling.Sample{Time: ts, Value: f(ts)}, nil
		},
		Range: func(_ context.Context, _ string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
			var out []scaling.Sample
			for t := start; !t.After(end); t = t.Add(step) {
				out = append(out, scaling.Sample{Time: t, Value: f(t)})
			}
			return out, nil
		},
	}
}

// Constant is a source whose signal is v at every time.
func Constant(v float64) Querier { return Curve(func(time.Time) float64 { return v }) }

// Failing is a source that fails every query with err.
func Failing(err error) Querier {
	return Querier{
		Instant: func(context.Context, string, time.Time) (scaling.Sample, error) { return scaling.Sample{}, err },
		Range: func(context.Context, string, time.Time, time.Time, time.Duration) ([]scaling.Sample, error) {
			return nil, err
		},
	}
}

// Samples is a source that answers a range query with the samples it
// holds inside the range; an instant query is not used.
func Samples(samples ...scaling.Sample) Querier {
	return Querier{Range: func(_ context.Context, _ string, start, end time.Time, _ time.Duration) ([]scaling.Sample, error) {
		var out []scaling.Sample
		for _, s := range samples {
			if !s.Time.Before(start) && !s.Time.After(end) {
				out = append(out, s)
			}
		}
		return out, nil
	}}
}

// Source answers every instant query with the value (or error) it is set
// to, stamped at the query's time unless At is set. Set its fields before it is shared; change them with its
// methods after.
type Source struct {
	mu      sync.Mutex
	Value   float64
	At      time.Time // zero: the query's time
	Err     error
	OnQuery func() // called inside Query, e.g. to make a query slow on a fake clock
}

// Set sets the value and error of the next queries.
func (s *Source) Set(v float64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Value, s.Err = v, err
}

// SetAt sets the value of the next queries and the time they are stamped.
func (s *Source) SetAt(v float64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Value, s.At = v, at
}

// SetOnQuery sets what each next query calls.
func (s *Source) SetOnQuery(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.OnQuery = f
}

// Query answers with the value and error the source is set to.
func (s *Source) Query(_ context.Context, _ string, ts time.Time) (scaling.Sample, error) {
	s.mu.Lock()
	on := s.OnQuery
	v, at, err := s.Value, s.At, s.Err
	s.mu.Unlock()
	if on != nil {
		on()
	}
	if at.IsZero() {
		at = ts
	}
	return scaling.Sample{Time: at, Value: v}, err
}

// QueryRange is not used.
func (s *Source) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) ([]scaling.Sample, error) {
	return nil, notUsed()
}

// Target is a target that reads Capacity, failing with ReadErr when it is
// set, and fails every set with SetErr.
type Target struct {
	Capacity        scaling.Capacity
	ReadErr, SetErr error
}

// Read returns the target's capacity and ReadErr.
func (t Target) Read(context.Context) (scaling.Capacity, error) { return t.Capacity, t.ReadErr }

// Set returns SetErr.
func (t Target) Set(context.Context, int32, string) error { return t.SetErr }

// Recorder keeps what a scaler's loop reports (engine.Recorder).
type Recorder struct {
	mu        sync.Mutex
	decisions []scaling.Decision
	errs      []scaling.FailureKind
	missed    int
	ticks     int
	forgotten []string
	started   []string
}

// InitScaler keeps the scaler started.
func (r *Recorder) InitScaler(s string, _ []string, _ bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, s)
}

// SetScalers is dropped.
func (r *Recorder) SetScalers(int) {}

// ObserveDecision keeps d.
func (r *Recorder) ObserveDecision(d scaling.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decisions = append(r.decisions, d)
}

// SignalError keeps the failure's kind.
func (r *Recorder) SignalError(_, _ string, k scaling.FailureKind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, k)
}

// ObserveTick counts the tick.
func (r *Recorder) ObserveTick(string, time.Duration, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ticks++
}

// TickMissed counts the ticks missed.
func (r *Recorder) TickMissed(_ string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.missed += n
}

// ForgetScaler keeps the scaler forgotten.
func (r *Recorder) ForgetScaler(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgotten = append(r.forgotten, s)
}

// Count is how many decisions were observed.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.decisions)
}

// Decisions are the decisions observed, oldest first.
func (r *Recorder) Decisions() []scaling.Decision { return read(r, &r.decisions) }

// Errs are the kinds of the signal failures reported, oldest first.
func (r *Recorder) Errs() []scaling.FailureKind { return read(r, &r.errs) }

// Forgotten are the scalers forgotten, in order.
func (r *Recorder) Forgotten() []string { return read(r, &r.forgotten) }

// Started are the scalers (re)started, in order.
func (r *Recorder) Started() []string { return read(r, &r.started) }

// Missed is how many ticks were missed.
func (r *Recorder) Missed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.missed
}

// Ticks is how many ticks were observed.
func (r *Recorder) Ticks() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ticks
}

// read copies one of r's lists under its lock.
func read[T any](r *Recorder, list *[]T) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), *list...)
}
