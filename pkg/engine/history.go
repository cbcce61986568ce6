package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// historyCache keeps one signal's history for a policy that asked for it
// (policy.HistoryNeed) on a grid of absolute multiples of the step, so that
// a tick only queries the tail since the last fetch: the first tick fetches
// the whole window (paged by sources.MaxRangePoints), later ones the new points plus the last one
// again (it may have been incomplete when fetched), and nothing at all while
// no new grid point has passed. Samples older than the window are dropped,
// and so are points outside the signal's valid range: a policy sees them as
// missing points (one bad point must not blind a signal for a whole window,
// nor be forecast from). A page with no data (the series is younger than
// the window, or had a gap that long) is points missing, not a failure: a
// young service has less history than the window asks for, and the policy
// says what it does with what there is (policy.Predictive abstains below
// its min_history and forecasts from the rest).
type historyCache struct {
	need    policy.HistoryNeed
	valid   scaling.Range
	samples []scaling.Sample
	until   time.Time // the last grid point fetched; zero before the first fetch
}

func newHistoryCache(need policy.HistoryNeed) *historyCache {
	if need.Step <= 0 {
		need.Step = time.Minute
	}
	return &historyCache{need: need, valid: scaling.DefaultRange}
}

// refresh brings the history up to now and returns it, oldest first. The
// slice belongs to the cache: callers must not change it. On an error the
// cache is left as it was and the error names the failed page.
func (c *historyCache) refresh(ctx context.Context, q sources.Querier, expr string, now time.Time) ([]scaling.Sample, error) {
	step := c.need.Step
	end := now.Truncate(step)
	start := end.Add(-c.need.Window)
	if !c.until.IsZero() && !end.After(c.until) && !end.Before(c.until) {
		return c.samples, nil // no new grid point since the last fetch
	}
	from := start
	if !c.until.IsZero() && c.until.After(start) && !c.until.After(end) {
		from = c.until // re-read the last point: it may have been partial
	}
	var fresh []scaling.Sample
	for pageStart := from; !pageStart.After(end); pageStart = pageStart.Add(sources.MaxRangePoints * step) {
		pageEnd := pageStart.Add((sources.MaxRangePoints - 1) * step)
		if pageEnd.After(end) {
			pageEnd = end
		}
		page, err := q.QueryRange(ctx, expr, pageStart, pageEnd, step)
		if scaling.KindOf(err) == scaling.FailureEmpty {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("history %s to %s: %w", pageStart.UTC().Format(time.RFC3339), pageEnd.UTC().Format(time.RFC3339), err)
		}
		for _, p := range page {
			if c.valid.Contains(p.Value) {
				fresh = append(fresh, p)
			}
		}
	}
	// Keep what is older than the refetched part and inside the window, in
	// place: the history is long and this runs every new grid point.
	keepTo, _ := slices.BinarySearchFunc(c.samples, from, cmpSampleTime)
	c.samples = append(c.samples[:keepTo], fresh...)
	keepFrom, _ := slices.BinarySearchFunc(c.samples, start, cmpSampleTime)
	c.samples = c.samples[keepFrom:]
	c.until = end
	return c.samples, nil
}

func cmpSampleTime(s scaling.Sample, t time.Time) int { return s.Time.Compare(t) }

// FetchHistory is the history a policy that asked for need finds at now:
// the same paged range queries, the same valid points and the same
// tolerance of missing data as a running scaler's first tick. `scaled
// check --query` uses it so that it says what `scaled run` will do.
func FetchHistory(ctx context.Context, q sources.Querier, expr string, need policy.HistoryNeed, now time.Time) ([]scaling.Sample, error) {
	return newHistoryCache(need).refresh(ctx, q, expr, now)
}
