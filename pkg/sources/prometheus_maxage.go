package sources

import (
	"context"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// MaxAgeQuerier is implemented by sources that can tell how old the raw data
// behind a value is better than Sample.Time from Query does (Prometheus stamps
// results with the evaluation time).
//
// QueryMaxAge evaluates expr at ts like Query, and fails with the kind stale
// when the newest data behind the value is older than maxAge (maxAge <= 0: no
// age check). A stale failure still returns the sample, so the caller can
// report how old it was.
type MaxAgeQuerier interface {
	QueryMaxAge(ctx context.Context, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error)
}

// QueryMaxAge evaluates expr on q at ts with a max age: through q's own
// QueryMaxAge when q implements MaxAgeQuerier, otherwise by comparing the
// Sample.Time of q.Query with ts.
func QueryMaxAge(ctx context.Context, q Querier, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error) {
	if m, ok := q.(MaxAgeQuerier); ok {
		return m.QueryMaxAge(ctx, expr, ts, maxAge)
	}
	s, err := q.Query(ctx, expr, ts)
	if err != nil || maxAge <= 0 {
		return s, err
	}
	if age := ts.Sub(s.Time); age > maxAge {
		return s, staleError(expr, age, ts, maxAge)
	}
	return s, nil
}

func staleError(expr string, age time.Duration, ts time.Time, maxAge time.Duration) error {
	return scaling.Fail(scaling.FailureStale, "newest sample of %q is %s old at %s: max age is %s",
		expr, age, ts.UTC().Format(time.RFC3339), maxAge)
}
