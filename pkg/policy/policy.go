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
