package sources

import (
	"context"
	"time"

	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Query kinds passed to a QueryObserver.
const (
	QueryKindInstant = "instant"
	QueryKindRange   = "range"
)

// QueryObserver is told about every query a wrapped source answers, so that
// telemetry can keep latency histograms and error counts without sources
// knowing about metrics. kind is QueryKindInstant or QueryKindRange; err is
// the query's error (nil on success), whose scaling.KindOf is the failure kind.
// ObserveQuery is called synchronously after the query returns and must not block.
type QueryObserver interface {
	ObserveQuery(kind string, d time.Duration, err error)
}

// Instrument wraps q so that obs observes the duration and outcome of every
// query. The result also implements MaxAgeQuerier (through q's own when q has
// one; see QueryMaxAge), observed as an instant query.
func Instrument(q Querier, obs QueryObserver) Querier {
	return &instrumented{next: q, obs: obs, clock: clock.RealClock{}}
}

type instrumented struct {
	next  Querier
	obs   QueryObserver
	clock clock.PassiveClock
}

var (
	_ Querier       = (*instrumented)(nil)
	_ MaxAgeQuerier = (*instrumented)(nil)
)

func (i *instrumented) Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	start := i.clock.Now()
	s, err := i.next.Query(ctx, expr, ts)
	i.obs.ObserveQuery(QueryKindInstant, i.clock.Since(start), err)
	return s, err
}

func (i *instrumented) QueryMaxAge(ctx context.Context, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error) {
	start := i.clock.Now()
	s, err := QueryMaxAge(ctx, i.next, expr, ts, maxAge)
	i.obs.ObserveQuery(QueryKindInstant, i.clock.Since(start), err)
	return s, err
}

// RangeKey is the wrapped source's (RangeSharer), nil when it shares none.
func (i *instrumented) RangeKey() any {
	if rs, ok := i.next.(RangeSharer); ok {
		return rs.RangeKey()
	}
	return nil
}

func (i *instrumented) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	t0 := i.clock.Now()
	s, err := i.next.QueryRange(ctx, expr, start, end, step)
	i.obs.ObserveQuery(QueryKindRange, i.clock.Since(t0), err)
	return s, err
}
