package policy

import (
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Input is everything a policy may look at for one tick.
type Input struct {
	Now      time.Time
	Capacity scaling.Capacity
	// Signals by name. A reading with a non-nil Err is a failed signal.
	Signals map[string]scaling.Reading
	// Shadow is set in dry run, where nothing decided is applied: a policy
	// with state (a PID) then evolves as if its last decision had been
	// applied, instead of re-basing on the capacity in place, which a dry
	// run never moves, and says so in its reason.
	Shadow bool
}

// Policy recommends a capacity. Recommend must be a pure function of its
// input and the policy's own state; a policy whose signal failed abstains.
type Policy interface {
	Name() string
	Recommend(in Input) scaling.Recommendation
}

// HistoryNeed asks the loop to fetch a signal's past values (a range query)
// before each tick and hand them over in Reading.History.
type HistoryNeed struct {
	Signal string
	Window time.Duration
	Step   time.Duration
}

// HistoryUser is implemented by policies that need history.
type HistoryUser interface {
	HistoryNeeds() []HistoryNeed
}

// FeedbackUser is implemented by policies that must know what became of
// their recommendation: a PID's anti-windup stops or back-calculates its
// integrator when the final number differs from what it proposed. The
// Decider calls Feedback at the end of every Decide (also when the policy
// abstained, and when current was outside the bounds) with the final desired
// capacity and whether a guard or the failure rule changed the combined
// recommendation. Feedback must be pure like Recommend.
type FeedbackUser interface {
	Feedback(now time.Time, final int32, clamped bool)
}

// ScaleObserver is implemented by policies that keep time since the last
// scaling activity (a step policy's cooldown). The Decider forwards every
// Scaled call to them.
type ScaleObserver interface {
	Scaled(now time.Time, from, to int32)
}

// StateReporter is implemented by policies with internal state worth
// exporting (a PID's integrator, filtered derivative and last measurement).
// State returns the current values by variable name; the set of names is
// fixed for the life of the policy.
type StateReporter interface {
	State() map[string]float64
}
