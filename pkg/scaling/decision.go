package scaling

import "time"

// Direction of a decision relative to the current capacity.
type Direction string

const (
	DirectionUp   Direction = "up"
	DirectionDown Direction = "down"
	DirectionNone Direction = "none"
)

// Outcome of a decision once the loop has acted on it.
type Outcome string

const (
	OutcomeApplied   Outcome = "applied"   // the actuator set the new capacity
	OutcomeDryRun    Outcome = "dry_run"   // a change was recommended and only logged
	OutcomeUnchanged Outcome = "unchanged" // the final capacity equals the current one
	OutcomeFailed    Outcome = "failed"    // reading or setting the target failed
)

// SignalValue is a reading as a decision reports it.
type SignalValue struct {
	Name   string      `json:"name"`
	Value  float64     `json:"value"`
	Time   time.Time   `json:"time,omitzero"`
	Failed FailureKind `json:"failed,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// Recommendation is what one policy proposes.
type Recommendation struct {
	Policy string `json:"policy"`
	// Replicas is the proposed capacity. Meaningless when Abstain is true.
	Replicas int32 `json:"replicas"`
	// Abstain is set when the policy has no opinion this tick, for example
	// because a signal it needs failed; an abstaining policy never wins.
	Abstain bool   `json:"abstain,omitempty"`
	Reason  string `json:"reason"`
}

// Adjustment records one guard that changed the number, in the order applied.
type Adjustment struct {
	Guard  string `json:"guard"`
	From   int32  `json:"from"`
	To     int32  `json:"to"`
	Reason string `json:"reason"`
}

// Decision explains one tick of one scaler.
type Decision struct {
	Scaler          string           `json:"scaler"`
	Time            time.Time        `json:"time"`
	Signals         []SignalValue    `json:"signals"`
	Recommendations []Recommendation `json:"recommendations"`
	// Winner names the policy whose recommendation was taken ("" when none).
	Winner string `json:"winner,omitempty"`
	// Recommended is the combined recommendation before guards.
	Recommended int32        `json:"recommended"`
	Adjustments []Adjustment `json:"adjustments"`
	Current     int32        `json:"current"`
	Ready       int32        `json:"ready"`
	// Desired is the final capacity after every guard.
	Desired   int32     `json:"desired"`
	Direction Direction `json:"direction"`
	Outcome   Outcome   `json:"outcome"`
	DryRun    bool      `json:"dry_run"`
	Error     string    `json:"error,omitempty"`
}

// DirectionOf compares desired with current.
func DirectionOf(current, desired int32) Direction {
	switch {
	case desired > current:
		return DirectionUp
	case desired < current:
		return DirectionDown
	}
	return DirectionNone
}
