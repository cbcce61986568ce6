package policy

import "time"

// The decider's spec: what a scaler configures about combining policies and
// guarding the result, the HPA's spec.behavior among it. NewDecider checks it.

// Combine says how several policies' recommendations become one.
type Combine string

const (
	CombineMax Combine = "max" // scale out if any policy wants to, in only if all do
	CombineMin Combine = "min"
	// CombinePriority takes the first policy, in the order given, that does
	// not abstain: a preferred policy with fallbacks behind it.
	CombinePriority Combine = "priority"
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
	// SeedWithCurrent records the current capacity as a recommendation at the
	// first tick, as HPA recordInitialRecommendation does, so that a freshly
	// started scaler waits a whole scale-down window before scaling in. The
	// backtest reference model (SIMULATION.md) does not seed.
	SeedWithCurrent bool
	// Schedules raise the minimum (and may lower the maximum) capacity while
	// their cron window is open; see Schedule and the guard order on Decider.
	Schedules []*Schedule
}

// Guard names, as they appear in scaling.Adjustment.Guard, in the order the
// Decider applies them.
const (
	GuardFailure       = "failure"
	GuardStabilization = "stabilization"
	GuardRateLimit     = "rate_limit"
	GuardBounds        = "bounds"
	// GuardSchedule marks a bound that an open schedule window set.
	GuardSchedule = "schedule"
)

// DefaultBehavior returns the autoscaling/v2 defaults: scale up with no
// stabilisation, at most max(4 pods, 100%) per 15 s; scale down after a 300 s
// stabilisation window, at most 100% per 15 s.
func DefaultBehavior() Behavior {
	return Behavior{
		ScaleUp: Rules{
			StabilizationWindow: 0,
			Select:              SelectMax,
			Limits: []RateLimit{
				{Type: RatePods, Value: 4, Period: 15 * time.Second},
				{Type: RatePercent, Value: 100, Period: 15 * time.Second},
			},
		},
		ScaleDown: Rules{
			StabilizationWindow: 300 * time.Second,
			Select:              SelectMax,
			Limits: []RateLimit{
				{Type: RatePercent, Value: 100, Period: 15 * time.Second},
			},
		},
	}
}
