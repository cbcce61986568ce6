package sources

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Defaults of the load a Prometheus source puts on its server.
const (
	// DefaultMaxConcurrentQueries is Prometheus' own default
	// --query.max-concurrency: more in flight would only queue there.
	DefaultMaxConcurrentQueries = 20
	// DefaultMaxQueriesPerSecond is room for 15,000 signals of distinct
	// queries at a 15 s interval; grouped queries need one per interval.
	DefaultMaxQueriesPerSecond = 1000
)

// errNotSent marks a failure that sent nothing: the server or the limits
// asked to wait. A shared request that failed so is asked again by the
// others, each in its own time.
var errNotSent = errors.New("not sent")

func notSent(format string, args ...any) error {
	return &scaling.SignalError{Kind: scaling.FailureThrottled, Err: fmt.Errorf("%w: "+format, append([]any{errNotSent}, durfmt.Args(args)...)...)}
}

// limits bound the requests of one source: how many are in flight and how
// many start per second. Zero is no bound.
type limits struct {
	inFlight    chan struct{} // nil: no bound
	rate        *rate.Limiter // nil: no bound
	maxInFlight int
	perSecond   float64
	waiting     atomic.Int64
	sent        atomic.Int64
	throttled   atomic.Int64
}

func newLimits(maxInFlight int, perSecond float64) *limits {
	l := &limits{maxInFlight: maxInFlight, perSecond: perSecond}
	if maxInFlight > 0 {
		l.inFlight = make(chan struct{}, maxInFlight)
	}
	if perSecond > 0 {
		// A burst of one second's worth lets staggered ticks that bunch up
		// through without waiting, and no more.
		l.rate = rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
	}
	return l
}

// wait takes a turn for one request: it returns when the request may be
// sent, and then release must end the turn, or a throttled failure when
// ctx ends first or its deadline comes before the turn would.
func (l *limits) wait(ctx context.Context, expr string) error {
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	if l.rate != nil {
		if err := l.rate.Wait(ctx); err != nil {
			l.throttled.Add(1)
			return notSent("%s: not sent: no turn before the deadline at max_queries_per_second %g", quote(expr), l.perSecond)
		}
	}
	if l.inFlight != nil {
		select {
		case l.inFlight <- struct{}{}:
		case <-ctx.Done():
			l.throttled.Add(1)
			return notSent("%s: not sent: %d queries in flight (max_concurrent_queries) until the deadline", quote(expr), l.maxInFlight)
		}
	}
	l.sent.Add(1)
	return nil
}

// release ends the turn a successful wait took.
func (l *limits) release() {
	if l.inFlight != nil {
		<-l.inFlight
	}
}

// PrometheusStats counts the requests of a Prometheus source.
type PrometheusStats struct {
	// Waiting is the requests waiting for their turn now.
	Waiting int64
	// Sent is the requests sent so far.
	Sent int64
	// Throttled is the requests that did not get their turn in time.
	Throttled int64
}

// Stats returns the source's counts so far.
func (p *Prometheus) Stats() PrometheusStats {
	return PrometheusStats{Waiting: p.limits.waiting.Load(), Sent: p.limits.sent.Load(), Throttled: p.limits.throttled.Load()}
}
