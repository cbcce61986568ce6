package sources

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Sharing sends each distinct instant query once per evaluation time, however
// many signals ask it: a request in flight is joined, and an answer already
// received is handed out again until its grid step is over. It is what keeps
// the load on Prometheus flat as scalers are added: a fleet whose scalers
// all read one grouped query (see GroupedSpec) costs one request per
// interval.
//
// Scalers tick at their own phase within the interval (spread by a hash of
// their name, so that their work is spread too), and Prometheus answers
// for the exact time it is asked. To make the questions of different
// scalers equal, a signal's instant queries are evaluated on its interval's
// grid: at the tick's time truncated to a multiple of the interval (the
// views Every returns). A value is then up to one interval older than the
// tick that uses it, and a max age counts that: a sample's age is taken at
// the tick, not at the evaluation time.
//
// What is kept is bounded: an answer is dropped once an evaluation time two
// of its intervals later is asked, so at most the distinct queries of two
// grid steps are held (a tick that starts late still finds the answer of
// its own grid step). Range queries (a policy's history)
// are not shared here: the loop keeps one history per distinct range query
// of a source (RangeSharer), which asks only for its new points.
type Sharing struct {
	next Querier

	mu    sync.Mutex
	calls map[shareKey]*sharedCall
	// newest is the latest evaluation time asked, which ages answers out.
	newest time.Time

	asked  atomic.Int64
	shared atomic.Int64
}

// shareKind tells apart the answers of one expression that are read
// differently.
type shareKind uint8

const (
	shareInstant     shareKind = iota // one value
	shareInstantTime                  // one value and the time of its newest data (QueryMaxAge)
	shareGroup                        // every series (QueryGroup)
)

type shareKey struct {
	expr string
	at   int64 // evaluation time, Unix nanoseconds
	kind shareKind
}

// sharedCall is one request and, once done is closed, its answer.
type sharedCall struct {
	done   chan struct{}
	expiry time.Time // dropped once an evaluation time after this is asked (its grid step's end)
	sample scaling.Sample
	group  *Group
	err    error
	// again: the request ended with the context of the signal that sent it
	// (cancelled, or its deadline passed before Prometheus answered, or it
	// never got its turn): nothing to share, the others ask again.
	again bool
}

// NewSharing shares the instant queries sent to next, which is usually the
// process's one *Prometheus.
func NewSharing(next Querier) *Sharing {
	return &Sharing{next: next, calls: map[shareKey]*sharedCall{}}
}

// SharingStats counts what a Sharing was asked and how much of it was
// answered without a request of its own.
type SharingStats struct {
	// Asked is every instant or grouped query signals asked.
	Asked int64
	// Shared is those answered by another signal's request (joined in
	// flight or already received).
	Shared int64
}

// Stats returns the counts so far.
func (s *Sharing) Stats() SharingStats {
	return SharingStats{Asked: s.asked.Load(), Shared: s.shared.Load()}
}

// Every returns the Querier of the signals that tick every interval: its
// instant and grouped queries are evaluated at the tick's time truncated to
// the interval and shared with every other signal that asks the same
// expression on the same grid. Its range queries go to the shared source as
// they are.
func (s *Sharing) Every(interval time.Duration) Querier {
	return &gridQuerier{s: s, interval: max(interval, time.Millisecond)}
}

// Exact returns a view that evaluates every query at the time it is asked
// for, shared only with queries asked for that same time: a one-shot check
// asks each signal about now, not about the last grid time.
func (s *Sharing) Exact() Querier { return &gridQuerier{s: s} }

// at is ts on the view's grid.
func (g *gridQuerier) at(ts time.Time) time.Time {
	if g.interval <= 0 {
		return ts
	}
	return ts.Truncate(g.interval)
}

// do returns the answer to key, sending it through fetch only when no other
// signal has sent it or is sending it.
func (s *Sharing) do(ctx context.Context, key shareKey, keep time.Duration, fetch func(context.Context, *sharedCall)) (*sharedCall, error) {
	s.asked.Add(1)
	at := time.Unix(0, key.at)
	for {
		s.mu.Lock()
		if at.After(s.newest) {
			s.newest = at
			s.sweep()
		}
		c, ok := s.calls[key]
		if !ok {
			c = &sharedCall{done: make(chan struct{}), expiry: at.Add(keep)}
			s.calls[key] = c
			s.mu.Unlock()
			fetch(ctx, c)
			c.again = c.err != nil && (ctx.Err() != nil || errors.Is(c.err, errNotSent))
			if c.again {
				s.mu.Lock()
				delete(s.calls, key)
				s.mu.Unlock()
			}
			close(c.done)
			return c, nil
		}
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, transportError(ctx, key.expr, errors.New("waiting for the answer another signal asked for: "+ctx.Err().Error()))
		}
		if !c.again {
			s.shared.Add(1)
			return c, nil
		}
		// The signal that sent it gave up: ask again, this one's own way.
	}
}

// sweep drops the answers that no tick asks for any more. Calls in flight
// stay: their sender removes or completes them.
func (s *Sharing) sweep() {
	for k, c := range s.calls {
		if c.expiry.Before(s.newest) && closed(c.done) {
			delete(s.calls, k)
		}
	}
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// gridQuerier is the view of a Sharing for the signals of one interval
// (0: no grid, see Exact).
type gridQuerier struct {
	s        *Sharing
	interval time.Duration
}

var (
	_ Querier       = (*gridQuerier)(nil)
	_ MaxAgeQuerier = (*gridQuerier)(nil)
	_ GroupQuerier  = (*gridQuerier)(nil)
)

// Query evaluates expr at ts's grid time, shared.
func (g *gridQuerier) Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	at := g.at(ts)
	c, err := g.s.do(ctx, shareKey{expr: expr, at: at.UnixNano(), kind: shareInstant}, g.interval, func(ctx context.Context, c *sharedCall) {
		c.sample, c.err = g.s.next.Query(ctx, expr, at)
	})
	if err != nil {
		return scaling.Sample{}, err
	}
	return c.sample, c.err
}

// QueryMaxAge evaluates expr at ts's grid time, shared, and checks the
// sample's age at ts: the time from the grid to the tick counts.
func (g *gridQuerier) QueryMaxAge(ctx context.Context, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error) {
	at := g.at(ts)
	kind := shareInstant
	if maxAge > 0 {
		kind = shareInstantTime
	}
	c, err := g.s.do(ctx, shareKey{expr: expr, at: at.UnixNano(), kind: kind}, g.interval, func(ctx context.Context, c *sharedCall) {
		if kind == shareInstant {
			c.sample, c.err = g.s.next.Query(ctx, expr, at)
			return
		}
		// The time of the newest data, which the check below compares.
		c.sample, c.err = QueryMaxAge(ctx, g.s.next, expr, at, math.MaxInt64)
	})
	if err != nil {
		return scaling.Sample{}, err
	}
	if c.err != nil {
		return c.sample, c.err
	}
	return checkAge(g.s.next, expr, c.sample, ts, maxAge, ts.Sub(at))
}

// QueryGroup evaluates expr at ts's grid time, shared. The Group's time
// is the grid time; the caller checks ages at its tick.
func (g *gridQuerier) QueryGroup(ctx context.Context, expr string, ts time.Time) (*Group, error) {
	gq, ok := g.s.next.(GroupQuerier)
	if !ok {
		return nil, scaling.Fail(scaling.FailureQuery, "%s: this source cannot answer a grouped query", quote(expr))
	}
	at := g.at(ts)
	c, err := g.s.do(ctx, shareKey{expr: expr, at: at.UnixNano(), kind: shareGroup}, g.interval, func(ctx context.Context, c *sharedCall) {
		c.group, c.err = gq.QueryGroup(ctx, expr, at)
	})
	if err != nil {
		return nil, err
	}
	return c.group, c.err
}

// RangeKey implements RangeSharer: every view of one Sharing sends its
// range queries to the same source.
func (g *gridQuerier) RangeKey() any { return g.s }

// QueryRange is the shared source's own: not shared here (see RangeSharer).
func (g *gridQuerier) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	return g.s.next.QueryRange(ctx, expr, start, end, step)
}

// RangeSharer is a Querier that says which of its range queries another
// Querier may answer for it: two whose RangeKey is equal (a comparable
// value) answer every range query alike, so that one answer, and the
// history kept from it, serves both. A Querier that is not one shares none.
type RangeSharer interface {
	Querier
	RangeKey() any
}

// checkAge fails a sample older than maxAge at ts with the kind stale,
// returning the sample. maxAge <= 0 is q's default (see QueryMaxAge) plus
// grid, the time from the evaluation to ts: the default is there to catch a
// back end that passes off an old sample as current, whatever the interval.
func checkAge(q Querier, expr string, s scaling.Sample, ts time.Time, maxAge, grid time.Duration) (scaling.Sample, error) {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
		if d, ok := q.(DefaultMaxAger); ok {
			maxAge = d.DefaultMaxAge()
		}
		maxAge += grid
	}
	if err := futureError(expr, s.Time, ts); err != nil {
		return s, err
	}
	if age := ts.Sub(s.Time); age > maxAge {
		return s, staleError(expr, age, ts, maxAge)
	}
	return s, nil
}
