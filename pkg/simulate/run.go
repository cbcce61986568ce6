package simulate

import (
	"fmt"
	"time"
)

// Run plays one decider against a Model, tick by tick:
//
//	run := NewRun(model, initial)
//	for !run.Done() {
//		obs := run.Observe()
//		run.Request(decide(obs)) // optional: no request holds R
//		run.Advance()
//	}
//	score := run.Score()
//
// A Run is not safe for concurrent use.
type Run struct {
	model   *Model
	tick    int
	initial int32

	requested int32
	ready     int32
	pending   []time.Time // ready times of pending replicas, oldest first
	// before is R at the start of the current tick. It starts at 0: placing
	// the initial replicas is the run's first scale action, the convention
	// of docs/model.md's reference figures (nothing runs before the trace).
	before int32

	score    Score
	from     int // the first tick scored
	timeline []Row
	record   bool
}

// RunOption configures a Run.
type RunOption func(*Run)

// WithTimeline keeps one Row per tick, read back with Timeline.
func WithTimeline() RunOption {
	return func(r *Run) {
		r.record = true
		r.timeline = make([]Row, 0, r.model.Ticks())
	}
}

// ScoreFrom scores only the ticks from index from on: the run still plays
// every tick (a policy's history starts with the trace), but the ticks
// before from count for nothing, and a scale action at from is a change
// from the count the tick before ended with.
func ScoreFrom(from int) RunOption {
	return func(r *Run) { r.from = max(0, from) }
}

// NewRun starts a run at tick 0 with initial replicas requested and all ready.
// It panics on a negative count, which is a programming error.
func NewRun(m *Model, initial int32, opts ...RunOption) *Run {
	if initial < 0 {
		panic(fmt.Sprintf("simulate.NewRun: initial replicas %d: must be >= 0", initial))
	}
	r := &Run{model: m, initial: initial, requested: initial, ready: initial}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Model is the model the run plays.
func (r *Run) Model() *Model { return r.model }

// Initial is the requested count the run started with, all ready.
func (r *Run) Initial() int32 { return r.initial }

// Done reports whether every tick has been advanced past.
func (r *Run) Done() bool { return r.tick >= r.model.Ticks() }

// Tick is the index of the current tick.
func (r *Run) Tick() int { return r.tick }

// Now is the time of the current tick.
func (r *Run) Now() time.Time { return r.model.TickTime(r.tick) }

// Ready is the number of ready replicas now.
func (r *Run) Ready() int32 { return r.ready }

// Requested is the requested count R now, pending replicas included.
func (r *Run) Requested() int32 { return r.requested }

// Observe is what a policy may see at the current tick (see Observation). It
// may be called any number of times; it changes nothing.
func (r *Run) Observe() Observation {
	return r.model.observe(r.tick, r.ready, r.requested)
}

// Request sets the requested count R at the current tick, at once. An increase
// adds pending replicas that are ready S later (at once when S = 0); a decrease
// removes pending replicas first, newest first, then ready ones. Several
// requests in one tick act in turn and count as one scale action if R ends
// different from where the tick began. A negative count is refused.
func (r *Run) Request(replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("replicas: %d: must be >= 0", replicas)
	}
	switch {
	case replicas > r.requested:
		add := int(replicas - r.requested)
		if r.model.S == 0 {
			r.ready += int32(add)
		} else {
			at := r.Now().Add(r.model.S)
			for range add {
				r.pending = append(r.pending, at)
			}
		}
	case replicas < r.requested:
		drop := int(r.requested - replicas)
		fromPending := min(drop, len(r.pending))
		r.pending = r.pending[:len(r.pending)-fromPending]
		r.ready -= int32(drop - fromPending)
	}
	r.requested = replicas
	return nil
}

// Advance scores the current tick and moves to the next one. The tick is
// scored with its own demand and the replicas ready once its decision has
// acted: a decrease hurts at once, an increase helps only S later.
func (r *Run) Advance() {
	if r.Done() {
		panic("simulate.Run.Advance: past the last tick")
	}
	m := r.model
	d := m.Demand(r.tick)
	violating := m.ViolatesAt(r.tick, r.ready)
	if r.tick >= r.from {
		tickSeconds := m.T.Seconds()
		requests := d * tickSeconds
		s := &r.score
		s.Ticks++
		s.TotalRequests += requests
		if violating {
			s.ViolatingRequests += requests
		}
		s.ReplicaSeconds += float64(r.requested) * tickSeconds
		s.OracleReplicaSeconds += float64(m.OracleReplicasAt(r.tick)) * tickSeconds
		if r.requested != r.before {
			s.ScaleActions++
		}
	}
	if r.record {
		obs, _ := m.ObservedDemand(r.tick) // NaN at tick 0
		r.timeline = append(r.timeline, Row{
			Time: m.TickTime(r.tick), Demand: d, Observed: obs,
			Ready: r.ready, Replicas: r.requested, P95Seconds: m.P95(d, r.ready), Violating: violating,
		})
	}
	r.tick++
	r.before = r.requested
	r.promote()
}

// promote makes ready every pending replica whose ready time has come.
func (r *Run) promote() {
	now := r.Now()
	n := 0
	for n < len(r.pending) && !r.pending[n].After(now) {
		n++
	}
	if n > 0 {
		r.ready += int32(n)
		r.pending = append(r.pending[:0], r.pending[n:]...)
	}
}

// Timeline is one Row per advanced tick when the run was made WithTimeline.
func (r *Run) Timeline() []Row { return r.timeline }

// Score is the score of the ticks advanced so far.
func (r *Run) Score() Score { return r.score.finish() }
