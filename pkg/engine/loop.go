package engine

import (
	"context"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// runner drives one Scaler on a schedule until it is stopped. Between ticks
// it holds no goroutine, only a timer: a fleet of 10,000 idle scalers would
// otherwise keep 10,000 goroutine stacks, each grown by the work of a tick.
// The timer's callback hands the tick to a goroutine of its own (see
// tickWorkers), which arms the timer for the next one when it ends, so that
// a scaler's ticks never overlap and a slow scaler delays no other.
type runner struct {
	scaler  *Scaler
	clock   clock.WithDelayedExecution
	workers *tickWorkers
	// parent ends every tick when the manager stops.
	parent context.Context
	ticked atomic.Bool
	// progress is the clock's Unix time in nanoseconds when the runner
	// started or last finished a tick: what liveness reads.
	progress atomic.Int64

	mu sync.Mutex
	// next is the scheduled time of the tick the timer starts.
	next  time.Time
	timer clock.Timer
	// cancelTick ends the tick in flight; nil between ticks.
	cancelTick context.CancelFunc
	stopped    bool
	// done, made by stop when a tick is in flight, is closed when that
	// tick ends.
	done chan struct{}
}

// offset spreads first ticks over the interval by a hash of the scaler's
// name, as Prometheus does for rule groups, so that many scalers configured
// together do not all query at the same instant, and a restart keeps the phase.
// It is a whole number of phaseSteps.
func offset(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	steps := max(1, interval/phaseStep) // an interval under a step gets phase 0
	return time.Duration(h.Sum64()%uint64(steps)) * phaseStep
}

// phaseStep is the grid the phases lie on. A fleet's ticks that fall on
// one step start together: at 10,000 scalers on a 15 s interval that is
// about 7 ticks a step, whose timers fire at once and whose queries are in
// flight together, so the process wakes 100 times a second rather than
// once for each of 667 ticks; on a machine with idle cores each wake-up
// costs threads woken and put back to sleep. A step is short beside any
// interval (so the queries are still spread) and a whole number of
// milliseconds (so tick times in logs and the decision API read cleanly).
const phaseStep = 10 * time.Millisecond

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

func startRunner(parent context.Context, s *Scaler, clk clock.WithDelayedExecution, w *tickWorkers) *runner {
	r := &runner{scaler: s, clock: clk, parent: parent, workers: w}
	now := clk.Now()
	r.progress.Store(now.UnixNano())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = firstTick(now, s.Name, s.Interval)
	r.timer = clk.AfterFunc(r.next.Sub(now), r.fire)
	return r
}

// stop ends the loop: no tick starts after it returns, and a tick in
// flight is cancelled and waited for.
func (r *runner) stop() {
	r.mu.Lock()
	if !r.stopped {
		r.stopped = true
		r.timer.Stop()
		if r.cancelTick != nil {
			r.cancelTick()
			r.done = make(chan struct{})
		}
	}
	done := r.done
	r.mu.Unlock()
	if done != nil {
		<-done
	}
	r.scaler.release()
}

// fire is the timer's callback. A fake clock calls it with its lock held,
// so it only starts the tick elsewhere.
func (r *runner) fire() { r.workers.run(r) }

// maxIdleTickWorkers is how many goroutines wait for a tick between ticks:
// about the ticks in flight at once of a fleet of 10,000 scalers on one
// interval, whose queries take milliseconds.
const maxIdleTickWorkers = 32

// tickWorkers runs each tick on a goroutine of its own, reusing one that
// finished a tick when one waits. A goroutine started afresh for a tick
// grows its stack through the tick's work (an HTTP request is deep),
// copying it at each doubling: at hundreds of ticks a second that was a
// tenth of the process's CPU. A tick never waits for a goroutine: when none
// is idle, it gets a new one. At most maxIdleTickWorkers wait between
// ticks, and none once done is closed.
type tickWorkers struct {
	done <-chan struct{}
	work chan ticker // unbuffered: a send succeeds only to a waiting goroutine
	idle atomic.Int32
}

func newTickWorkers(done <-chan struct{}) *tickWorkers {
	return &tickWorkers{done: done, work: make(chan ticker)}
}

// ticker is what tickWorkers run: a runner.
type ticker interface{ tick() }

// run starts r's tick on a waiting goroutine or a new one, without waiting.
func (w *tickWorkers) run(r ticker) {
	select {
	case w.work <- r:
	default:
		go w.loop(r)
	}
}

func (w *tickWorkers) loop(r ticker) {
	for {
		r.tick()
		if w.idle.Add(1) > maxIdleTickWorkers {
			w.idle.Add(-1)
			return
		}
		select {
		case r = <-w.work:
			w.idle.Add(-1)
		case <-w.done:
			w.idle.Add(-1)
			return
		}
	}
}

// tick runs the tick the timer was armed for, accounts for the slots it
// overran, and arms the timer for the next one.
func (r *runner) tick() {
	s := r.scaler
	interval := s.Interval
	r.mu.Lock()
	if r.stopped || r.parent.Err() != nil {
		r.mu.Unlock()
		return
	}
	next := r.next
	tctx, cancel := context.WithTimeout(r.parent, tickBudget(interval))
	r.cancelTick = cancel
	r.mu.Unlock()

	start := r.clock.Now()
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

	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelTick = nil
	if r.stopped {
		close(r.done)
		return
	}
	r.next = next
	r.timer = r.clock.AfterFunc(next.Sub(r.clock.Now()), r.fire)
}
