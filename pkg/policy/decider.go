package policy

import (
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Combine says how several policies' recommendations become one.
type Combine string

const (
	CombineMax Combine = "max" // scale out if any policy wants to, in only if all do
	CombineMin Combine = "min"
)

// SelectPolicy mirrors HPA's selectPolicy.
type SelectPolicy string

const (
	SelectMax      SelectPolicy = "Max"
	SelectMin      SelectPolicy = "Min"
	SelectDisabled SelectPolicy = "Disabled"
)

// RateType mirrors HPAScalingPolicyType.
type RateType string

const (
	RatePods    RateType = "Pods"
	RatePercent RateType = "Percent"
)

// RateLimit mirrors HPAScalingPolicy: at most Value pods or percent per Period.
type RateLimit struct {
	Type   RateType
	Value  int32
	Period time.Duration
}

// Rules mirrors HPAScalingRules for one direction.
type Rules struct {
	StabilizationWindow time.Duration
	Select              SelectPolicy
	Limits              []RateLimit
}

// Behavior is the per-direction guard configuration (HPA spec.behavior).
type Behavior struct {
	ScaleUp   Rules
	ScaleDown Rules
}

// Bounds always hold, whatever else happens.
type Bounds struct {
	Min, Max int32
}

// FailureMode says what a failed signal does.
type FailureMode string

const (
	FailureHold     FailureMode = "hold"     // keep the current capacity
	FailureFallback FailureMode = "fallback" // rise to Fallback if below it, never fall
)

// OnFailure is the scaler's rule for failed signals.
type OnFailure struct {
	Mode     FailureMode
	Fallback int32
}

// Spec is everything a Decider needs.
type Spec struct {
	Policies  []Policy
	Combine   Combine
	Bounds    Bounds
	Behavior  Behavior
	OnFailure OnFailure
}

// Decider turns one tick's readings into a decision: each policy recommends,
// the recommendations combine, the failure rule and the guards apply in a
// fixed order, and every change is explained. It keeps the history the guards
// need (recommendations for stabilisation, scale events for rate limits), so
// one Decider belongs to one scaler. It is not safe for concurrent use.
type Decider struct {
	spec Spec
}

// NewDecider validates spec and returns a Decider with empty history.
func NewDecider(spec Spec) (*Decider, error) {
	return &Decider{spec: spec}, nil
}

// Decide computes the decision for in.Now. It fills every field of
// scaling.Decision except Scaler, Outcome, DryRun and Error, which belong to
// the loop. It records the recommendation for stabilisation.
func (d *Decider) Decide(in Input) scaling.Decision {
	return scaling.Decision{Time: in.Now, Current: in.Capacity.Current, Ready: in.Capacity.Ready, Desired: in.Capacity.Current}
}

// Scaled records that the target really changed from one capacity to another
// at now; rate limits count these changes over their periods.
func (d *Decider) Scaled(now time.Time, from, to int32) {}
