package sources

import (
	"context"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Querier evaluates PromQL-like expressions.
//
// Query evaluates expr at ts and returns exactly one value: a scalar or a
// one-sample instant vector. Every failure is (or wraps) a
// *scaling.SignalError whose Kind says why: query_error, timeout, warnings,
// empty, multiple_series, not_finite, unsupported_type, too_large (more than
// the source reads of one answer), throttled (the server asked to be left
// alone). Its text is bounded, whatever the server sent. Sample.Time is the
// time the value was observed, which callers compare with a max age (see
// QueryMaxAge). When ctx is cancelled or its deadline passes, Query returns
// promptly with a timeout failure.
//
// QueryRange returns expr's values over [start, end] every step, oldest first;
// it fails like Query, except that points missing in the range are simply absent.
type Querier interface {
	Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error)
	QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error)
}
