package engine

import (
	"context"
	"hash/fnv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// runner drives one Scaler on a schedule until its context ends.
type runner struct {
	scaler *Scaler
	clock  clock.Clock
	ticked atomic.Bool
	// progress is the clock's Unix time in nanoseconds when the runner
	// started or last finished a tick: what liveness reads.
	progress atomic.Int64
	cancel   context.CancelFunc
	done     chan struct{}
}

// offset spreads first ticks over the interval by a hash of the scaler's
// name, as Prometheus does for rule groups, so that many scalers configured
// together do not all query at the same instant, and a restart keeps the phase.
// It is a whole number of milliseconds, so tick times in logs and the
// decision API read cleanly.
func offset(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	ms := max(1, interval/time.Millisecond) // a sub-millisecond interval gets phase 0
	return time.Duration(h.Sum64()%uint64(ms)) * time.Millisecond
}

// firstTick is the first tick time at or after now on the scaler's phase.
func firstTick(now time.Time, name string, interval time.Duration) time.Time {
	base := now.Truncate(interval).Add(offset(name, interval))
	if base.Before(now) {
		base = base.Add(interval)
	}
	return base
}

// tickBudget is how long one tick may run: its interval less a tenth (at most
// a second), so that a tick cut off by its deadline (a query that hangs)
// ends before the next is due and the loop does not skip it: the first tick
// after a fault ends is at most one interval away.
func tickBudget(interval time.Duration) time.Duration {
	return interval - min(interval/10, time.Second)
}

func startRunner(parent context.Context, s *Scaler, clk clock.Clock) *runner {
	ctx, cancel := context.WithCancel(parent)
	r := &runner{scaler: s, clock: clk, cancel: cancel, done: make(chan struct{})}
	r.progress.Store(clk.Now().UnixNano())
	go r.run(ctx)
	return r
}

// stop ends the loop and waits for a tick in flight to finish.
func (r *runner) stop() {
	r.cancel()
	<-r.done
}

func (r *runner) run(ctx context.Context) {
	defer close(r.done)
	s := r.scaler
	interval := s.Interval
	next := firstTick(r.clock.Now(), s.Name, interval)
	timer := r.clock.NewTimer(next.Sub(r.clock.Now()))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		start := r.clock.Now()
		tctx, cancel := context.WithTimeout(ctx, tickBudget(interval))
		s.Tick(tctx, next)
		cancel()
		r.ticked.Store(true)
		end := r.clock.Now()
		r.progress.Store(end.UnixNano())
		if s.recorder != nil {
			s.recorder.ObserveTick(s.Name, end.Sub(start), start.Sub(next))
		}
		next = next.Add(interval)
		if missed := int(end.Sub(next)/interval) + 1; !end.Before(next) {
			// The tick overran one or more slots: skip them rather than
			// bunching ticks, and count them.
			next = next.Add(time.Duration(missed) * interval)
			if s.recorder != nil {
				s.recorder.TickMissed(s.Name, missed)
			}
			s.log.Warn("ticks missed", zap.Int("missed", missed), zap.Duration("took", end.Sub(start)))
		}
		timer.Reset(next.Sub(r.clock.Now()))
	}
}
