package sources

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

type observation struct {
	Kind     string
	Duration time.Duration
	Failure  scaling.FailureKind
}

type recordingObserver struct{ got []observation }

func (o *recordingObserver) ObserveQuery(kind string, d time.Duration, err error) {
	o.got = append(o.got, observation{kind, d, scaling.KindOf(err)})
}

// slowQuerier steps a fake clock by its latency on every call.
type slowQuerier struct {
	clock   *clocktesting.FakeClock
	latency time.Duration
	sample  scaling.Sample
	err     error
}

func (q *slowQuerier) Query(context.Context, string, time.Time) (scaling.Sample, error) {
	q.clock.Step(q.latency)
	return q.sample, q.err
}

func (q *slowQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) ([]scaling.Sample, error) {
	q.clock.Step(q.latency)
	return []scaling.Sample{q.sample}, q.err
}

func TestInstrumentObservesEveryQuery(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(now)
	inner := &slowQuerier{clock: clk, latency: 250 * time.Millisecond, sample: scaling.Sample{Time: now.Add(-time.Minute), Value: 7}}
	obs := &recordingObserver{}
	q := Instrument(inner, obs)
	q.(*instrumented).clock = clk
	ctx := context.Background()

	if s, err := q.Query(ctx, "x", now); err != nil || s.Value != 7 {
		t.Fatalf("Query: got %v, %v", s, err)
	}
	if _, err := q.QueryRange(ctx, "x", now.Add(-time.Hour), now, time.Minute); err != nil {
		t.Fatal(err)
	}
	// The inner querier has no QueryMaxAge: the wrapper checks Sample.Time.
	if _, err := QueryMaxAge(ctx, q, "x", now, 30*time.Second); scaling.KindOf(err) != scaling.FailureStale {
		t.Fatalf("QueryMaxAge: got %v, want stale", err)
	}
	inner.err = scaling.Fail(scaling.FailureEmpty, "nothing")
	inner.latency = time.Second
	if _, err := q.Query(ctx, "x", now); !errors.Is(err, inner.err) {
		t.Fatalf("Query: got %v, want the inner error", err)
	}

	want := []observation{
		{QueryKindInstant, 250 * time.Millisecond, ""},
		{QueryKindRange, 250 * time.Millisecond, ""},
		{QueryKindInstant, 250 * time.Millisecond, scaling.FailureStale},
		{QueryKindInstant, time.Second, scaling.FailureEmpty},
	}
	if diff := cmp.Diff(want, obs.got); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}
