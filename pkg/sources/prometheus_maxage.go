package sources

import (
	"context"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// DefaultMaxAge is how old a sample may be, by the time its answer gives for
// it, when a signal sets no max age. It is Prometheus' default lookback delta
// (--query.lookback-delta): the oldest sample Prometheus itself serves for a
// selector, so the default never refuses what a default Prometheus answers,
// and refuses an answer from a back end (or a lookback delta raised to an
// hour) that passes off an older sample as current. Checking it costs no
// request: it reads the time the answer carries.
const DefaultMaxAge = 5 * time.Minute

// MaxAgeQuerier is implemented by sources that can tell how old the raw data
// behind a value is better than Sample.Time from Query does (Prometheus stamps
// results with the evaluation time).
//
// QueryMaxAge evaluates expr at ts like Query, and fails with the kind stale
// when the newest data behind the value is older than maxAge (maxAge <= 0:
// DefaultMaxAge, compared with Sample.Time only). A stale failure still
// returns the sample, so the caller can report how old it was.
type MaxAgeQuerier interface {
	QueryMaxAge(ctx context.Context, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error)
}

// DefaultMaxAger is implemented by sources whose answers are older than
// DefaultMaxAge by design (a replayed trace of hour-long steps answers with
// the step that ended last): their DefaultMaxAge replaces the package's.
type DefaultMaxAger interface {
	DefaultMaxAge() time.Duration
}

// QueryMaxAge evaluates expr on q at ts with a max age: through q's own
// QueryMaxAge when q implements MaxAgeQuerier, otherwise by comparing the
// Sample.Time of q.Query with ts. A sample's own time always counts: maxAge
// <= 0 is q's DefaultMaxAge (DefaultMaxAger) or the package's.
func QueryMaxAge(ctx context.Context, q Querier, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error) {
	if m, ok := q.(MaxAgeQuerier); ok {
		return m.QueryMaxAge(ctx, expr, ts, maxAge)
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
		if d, ok := q.(DefaultMaxAger); ok {
			maxAge = d.DefaultMaxAge()
		}
	}
	s, err := q.Query(ctx, expr, ts)
	if err != nil {
		return s, err
	}
	if err := futureError(expr, s.Time, ts); err != nil {
		return s, err
	}
	if age := ts.Sub(s.Time); age > maxAge {
		return s, staleError(expr, age, ts, maxAge)
	}
	return s, nil
}

// MaxFutureSkew is how much later than the query's time a sample may be
// stamped: the clocks of scaled and of the source may differ by this much.
// A sample stamped later is a failed signal (future): its age cannot be
// told, and a sample from the future would pass any max age.
const MaxFutureSkew = time.Minute

// futureError fails a sample stamped at more than MaxFutureSkew after ts.
func futureError(expr string, at, ts time.Time) error {
	if ahead := at.Sub(ts); ahead > MaxFutureSkew {
		return scaling.Fail(scaling.FailureFuture, "newest sample of %s is stamped %s after the query's time %s: at most %s of clock skew is allowed",
			quote(expr), ahead, ts.UTC().Format(time.RFC3339), MaxFutureSkew)
	}
	return nil
}

func staleError(expr string, age time.Duration, ts time.Time, maxAge time.Duration) error {
	return scaling.Fail(scaling.FailureStale, "newest sample of %s is %s old at %s: max age is %s",
		quote(expr), age, ts.UTC().Format(time.RFC3339), maxAge)
}
