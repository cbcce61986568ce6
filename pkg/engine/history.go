package engine

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
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
//
// The history is kept compactly (scaling.History: 4 bytes a point, a 14-day
// window at one minute in about 80 KB), and one cache serves every scaler
// whose signal asks the same history of the same source (Histories): one
// read per new grid point, however many scalers read it.
type historyCache struct {
	need  policy.HistoryNeed
	valid scaling.Range
	key   historyKey
	users int // scalers holding it; guarded by Histories.mu
	stats *historyStats

	// turn is held by the refresh in progress: one read at a time, and the
	// scalers that wait for it take its answer.
	turn chan struct{}
	// Guarded by turn:
	hist  scaling.History
	until time.Time // the last grid point fetched; zero before the first fetch
	// reads counts the reads done; failed is the error of the last one
	// (nil when it succeeded) and failedEnd the grid point it was for, so
	// that the scalers that waited for a failed read take its error rather
	// than each sending it again.
	reads     atomic.Int64
	failed    error
	failedEnd time.Time
	// held is what hist holds, points and bytes, for Stats to read while a
	// refresh is in progress.
	heldPoints, heldBytes atomic.Int64
}

// historySkew is how far behind the last fetch a scaler sharing a history
// may ask and be served what was fetched: scalers tick at their own phase,
// so one may ask for the minute before the one another just read. Further
// back, the clock went back: the window is read again, as it ends now.
const historySkew = 10 * time.Minute

func newHistoryCache(need policy.HistoryNeed, valid scaling.Range, stats *historyStats) *historyCache {
	if need.Step <= 0 {
		need.Step = time.Minute
	}
	if stats == nil {
		stats = &historyStats{}
	}
	return &historyCache{need: need, valid: valid, stats: stats, turn: make(chan struct{}, 1),
		hist: scaling.HistoryOf(need.Step, nil)}
}

// refresh brings the history up to now and returns it. On an error the
// cache is left as it was and the error names the failed page.
func (c *historyCache) refresh(ctx context.Context, q sources.Querier, expr string, now time.Time) (scaling.History, error) {
	seen := c.reads.Load()
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return scaling.History{}, scaling.Fail(scaling.FailureTimeout, "waiting for the history another scaler is reading: %v", ctx.Err())
	}
	defer func() { <-c.turn }()

	step := c.need.Step
	end := now.Truncate(step)
	start := end.Add(-c.need.Window)
	if c.reads.Load() != seen && c.failed != nil && c.failedEnd.Equal(end) {
		return scaling.History{}, c.failed // the read this one waited for failed
	}
	if !c.until.IsZero() && !end.After(c.until) && !end.Before(c.until.Add(-max(historySkew, step))) {
		return c.hist, nil // no new grid point since the last fetch
	}
	from := start
	if !c.until.IsZero() && c.until.After(start) && !c.until.After(end) {
		from = c.until // re-read the last point: it may have been partial
	}
	values := make([]float32, int(end.Sub(from)/step)+1)
	nan := float32(math.NaN())
	for i := range values {
		values[i] = nan
	}
	done, err := c.read(ctx, q, expr, from, end, values)
	c.reads.Add(1)
	if done > 0 {
		// Keep the pages read, even when a later one failed: the next
		// read goes on from the last point they hold, rather than read
		// the whole window again (a fleet starting together would
		// otherwise repeat its first pages until every page of one read
		// gets its turn).
		c.hist = c.hist.Update(start, from, values[:done])
		c.until = from.Add(time.Duration(done-1) * step)
		c.heldPoints.Store(int64(c.hist.Len()))
		c.heldBytes.Store(int64(c.hist.Bytes()))
	}
	if err != nil {
		if ctx.Err() == nil {
			c.failed, c.failedEnd = err, end
		}
		return scaling.History{}, err
	}
	c.failed = nil
	return c.hist, nil
}

// read fills values (one per step from from to end) with what q answers,
// page by page, and returns how many of them the pages read whole cover;
// a page with no data leaves its points missing. A point off the grid or
// outside its page is an answer the source should not give: the read fails
// rather than guess where it belongs.
func (c *historyCache) read(ctx context.Context, q sources.Querier, expr string, from, end time.Time, values []float32) (int, error) {
	step := c.need.Step
	for pageStart := from; !pageStart.After(end); pageStart = pageStart.Add(sources.MaxRangePoints * step) {
		pageEnd := pageStart.Add((sources.MaxRangePoints - 1) * step)
		if pageEnd.After(end) {
			pageEnd = end
		}
		c.stats.queries.Add(1)
		c.stats.points.Add(int64(pageEnd.Sub(pageStart)/step) + 1)
		page, err := q.QueryRange(ctx, expr, pageStart, pageEnd, step)
		done := int(pageStart.Sub(from) / step) // the points of the pages before
		if scaling.KindOf(err) == scaling.FailureEmpty {
			continue
		}
		where := func() string {
			return pageStart.UTC().Format(time.RFC3339) + " to " + pageEnd.UTC().Format(time.RFC3339)
		}
		if err != nil {
			return done, fmt.Errorf("history %s: %w", where(), err)
		}
		for _, p := range page {
			d := p.Time.Sub(from)
			if p.Time.Before(pageStart) || p.Time.After(pageEnd) || d%step != 0 {
				// Nothing of this page is trusted.
				for i := done; i < len(values); i++ {
					values[i] = float32(math.NaN())
				}
				return done, scaling.Fail(scaling.FailureQuery, "history %s: the source answered a point at %s, not on the %s grid of the range asked",
					where(), p.Time.UTC().Format(time.RFC3339Nano), step)
			}
			if c.valid.Contains(p.Value) {
				values[d/step] = scaling.Float32(p.Value)
			}
		}
	}
	return len(values), nil
}

// historyKey is what makes two signals' histories one: the same source
// (sources.RangeSharer), expression, step, window and valid range.
type historyKey struct {
	source       any
	expr         string
	step, window time.Duration
	valid        scaling.Range
}

// historyStats counts the range queries the caches sent.
type historyStats struct {
	queries, points atomic.Int64
}

// Histories holds the histories of a process's scalers, one per distinct
// history (historyKey), for as long as a running scaler reads it: a fleet
// of scalers reading the same query at the same step and window costs one
// range query per new grid point and one window in memory. What it keeps
// is bounded by the distinct histories of the running scalers, each by its
// window (4 bytes a point). It is safe for concurrent use.
type Histories struct {
	mu     sync.Mutex
	shared map[historyKey]*historyCache
	stats  historyStats
}

// NewHistories returns an empty Histories.
func NewHistories() *Histories {
	return &Histories{shared: map[historyKey]*historyCache{}}
}

// HistoryStats says what a Histories holds and what it read.
type HistoryStats struct {
	// Histories is the distinct histories held, Readers the scalers'
	// signals reading them.
	Histories, Readers int
	// Points and Bytes are what the shared histories hold (a history kept
	// by one scaler alone, of a source that shares none, is not counted).
	Points int
	Bytes  int64
	// RangeQueries and PointsAsked count the range queries sent (a page
	// each) and the points they asked for, since the start.
	RangeQueries, PointsAsked int64
}

// Stats returns what h holds now and what it read so far.
func (h *Histories) Stats() HistoryStats {
	h.mu.Lock()
	st := HistoryStats{Histories: len(h.shared)}
	for _, c := range h.shared {
		st.Readers += c.users
		st.Points += int(c.heldPoints.Load())
		st.Bytes += c.heldBytes.Load()
	}
	h.mu.Unlock()
	st.RangeQueries, st.PointsAsked = h.stats.queries.Load(), h.stats.points.Load()
	return st
}

// acquire returns the cache of the history need of a signal read through q,
// shared when q says what it shares (sources.RangeSharer); a source that
// does not gets a cache of its own.
func (h *Histories) acquire(need policy.HistoryNeed, valid scaling.Range, q sources.Querier, expr string) *historyCache {
	var source any
	if rs, ok := q.(sources.RangeSharer); ok {
		source = rs.RangeKey()
	}
	if h == nil || source == nil {
		var stats *historyStats
		if h != nil {
			stats = &h.stats
		}
		return newHistoryCache(need, valid, stats)
	}
	key := historyKey{source: source, expr: expr, step: need.Step, window: need.Window, valid: valid}
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.shared[key]
	if !ok {
		c = newHistoryCache(need, valid, &h.stats)
		c.key = key
		h.shared[key] = c
	}
	c.users++
	return c
}

// release says a scaler no longer reads c. The history stays until the
// next sweep, so that a scaler rebuilt (stopped, then started) keeps it.
func (h *Histories) release(c *historyCache) {
	if h == nil || c.key.source == nil {
		return
	}
	h.mu.Lock()
	c.users--
	h.mu.Unlock()
}

// sweep drops the histories no running scaler reads.
func (h *Histories) sweep() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, c := range h.shared {
		if c.users <= 0 {
			delete(h.shared, k)
		}
	}
}

// FetchHistory is the history a policy that asked for need finds at now:
// the same paged range queries, the same valid points and the same
// tolerance of missing data as a running scaler's first tick. `scaled
// check --query` uses it so that it says what `scaled run` will do.
func FetchHistory(ctx context.Context, q sources.Querier, expr string, need policy.HistoryNeed, now time.Time) (scaling.History, error) {
	return newHistoryCache(need, scaling.DefaultRange, nil).refresh(ctx, q, expr, now)
}
