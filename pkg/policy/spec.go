package policy

import (
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// The decider's spec: what a scaler configures about combining policies and
// guarding the result, the HPA's spec.behavior among it, and the checks
// NewDecider runs on it. Bounds, OnFailure, RateLimit and ScheduleSpec are
// also what a config file writes, hence their json tags.

// HPA's own limits (k8s.io/kubernetes pkg/apis/autoscaling/validation).
const (
	MaxRatePeriod          = 1800 * time.Second
	MaxStabilizationWindow = 3600 * time.Second
)

// Combine says how several policies' recommendations become one.
type Combine string

const (
	CombineMax Combine = "max" // scale out if any policy wants to, in only if all do
	CombineMin Combine = "min"
	// CombinePriority takes the first policy, in the order given, that does
	// not abstain: a preferred policy with fallbacks behind it.
	CombinePriority Combine = "priority"
)

// Combines lists every Combine, in the order messages show them.
var Combines = []Combine{CombineMax, CombineMin, CombinePriority}

// SelectPolicy mirrors HPA's selectPolicy.
type SelectPolicy string

const (
	SelectMax      SelectPolicy = "Max"
	SelectMin      SelectPolicy = "Min"
	SelectDisabled SelectPolicy = "Disabled"
)

// SelectPolicies lists every SelectPolicy.
var SelectPolicies = []SelectPolicy{SelectMax, SelectMin, SelectDisabled}

// RateType mirrors HPAScalingPolicyType.
type RateType string

const (
	RatePods    RateType = "Pods"
	RatePercent RateType = "Percent"
)

// RateTypes lists every RateType.
var RateTypes = []RateType{RatePods, RatePercent}

// RateLimit mirrors HPAScalingPolicy: at most Value pods or percent per Period.
type RateLimit struct {
	// Type is Pods (value is a count) or Percent (of the current capacity).
	Type RateType `json:"type,omitempty"`
	// Value is the most change per period.
	Value int32 `json:"value,omitempty"`
	// Period over which the change is counted (at most 30m).
	Period time.Duration `json:"period,omitempty"`
}

// Rules mirrors HPAScalingRules for one direction.
type Rules struct {
	StabilizationWindow time.Duration
	Select              SelectPolicy
	Limits              []RateLimit
	// Tolerance is the band around the target ratio within which target
	// tracking keeps the current capacity in this direction (HPA's
	// tolerance); the Decider checks it, policies read it through
	// ScalerContext.
	Tolerance float64
}

// Behavior is the per-direction guard configuration (HPA spec.behavior).
type Behavior struct {
	ScaleUp   Rules
	ScaleDown Rules
}

// Bounds always hold, whatever else happens.
type Bounds struct {
	// Min is the least capacity (default 1; 0 is allowed).
	Min int32 `json:"min"` // no omitempty: an explicit 0 differs from the default 1
	// Max is the most capacity.
	Max int32 `json:"max,omitempty"`
}

// FailureMode says what a failed signal does.
type FailureMode string

const (
	FailureHold     FailureMode = "hold"     // keep the current capacity
	FailureFallback FailureMode = "fallback" // rise to Fallback if below it, never fall
)

// FailureModes lists every FailureMode.
var FailureModes = []FailureMode{FailureHold, FailureFallback}

// OnFailure is the scaler's rule for failed signals.
type OnFailure struct {
	// Mode is hold (keep the current capacity, the default) or fallback
	// (rise to fallback if below it; never fall).
	Mode FailureMode `json:"mode,omitempty"`
	// Fallback is the capacity fallback rises to.
	Fallback int32 `json:"fallback,omitempty"`
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
	// Startup holds a scale-down for a span proportional to the startup
	// delay (startup.go).
	Startup StartupHold
}

// Guard names, as they appear in scaling.Adjustment.Guard, in the order the
// Decider applies them; Guards says what each is to the rest of scaled.
const (
	GuardFailure       = "failure"
	GuardStabilization = "stabilization"
	// GuardStartup marks a scale-down held back because capacity removed
	// now would take the startup delay to come back.
	GuardStartup   = "startup"
	GuardRateLimit = "rate_limit"
	GuardBounds    = "bounds"
	// GuardSchedule marks a bound that an open schedule window set.
	GuardSchedule = "schedule"
	// GuardPaused marks a decision the target's own pause held at its
	// capacity (scaling.Pause); it comes after every other guard.
	GuardPaused = "paused"
	// GuardTargetLimit marks a capacity the target itself held back when it
	// was set (actuators.LimitedError): the loop adds it after the set.
	GuardTargetLimit = "target_limit"
)

// DefaultBehavior returns the autoscaling/v2 defaults: scale up with no
// stabilisation, at most max(4 pods, 100%) per 15 s; scale down after a 300 s
// stabilisation window, at most 100% per 15 s; a tolerance of 0.1 both ways.
func DefaultBehavior() Behavior {
	return Behavior{
		ScaleUp: Rules{
			StabilizationWindow: 0,
			Select:              SelectMax,
			Limits: []RateLimit{
				{Type: RatePods, Value: 4, Period: 15 * time.Second},
				{Type: RatePercent, Value: 100, Period: 15 * time.Second},
			},
			Tolerance: DefaultTolerance.Up,
		},
		ScaleDown: Rules{
			StabilizationWindow: 300 * time.Second,
			Select:              SelectMax,
			Limits: []RateLimit{
				{Type: RatePercent, Value: 100, Period: 15 * time.Second},
			},
			Tolerance: DefaultTolerance.Down,
		},
	}
}

// validate checks every field of a spec whose empty values are already
// defaulted, under path (the scaler's). Policies and schedules were checked
// when they were built; here only their presence and the schedules'
// minimum against the bounds.
func (s *Spec) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, p := range s.Policies {
		if p == nil {
			errs = append(errs, fielderr.Invalid(path.Child("policies").Index(i), nil, "must be a policy"))
		}
	}
	if !slices.Contains(Combines, s.Combine) {
		errs = append(errs, fielderr.NotSupported(path.Child("combine"), string(s.Combine), Combines))
	}
	b, bp := s.Bounds, path.Child("bounds")
	if b.Min < 0 {
		errs = append(errs, fielderr.Invalid(bp.Child("min"), b.Min, "must be >= 0"))
	}
	if b.Max < 1 {
		errs = append(errs, fielderr.Invalid(bp.Child("max"), b.Max, "must be >= 1"))
	}
	if b.Min > b.Max && b.Max >= 1 {
		errs = append(errs, fielderr.Invalid(bp.Child("min"), b.Min, "must be <= bounds.max (%d)", b.Max))
	}
	errs = append(errs, s.Behavior.ScaleUp.validate(path.Child("behavior", "scale_up"))...)
	errs = append(errs, s.Behavior.ScaleDown.validate(path.Child("behavior", "scale_down"))...)
	f, fp := s.OnFailure, path.Child("on_failure")
	switch f.Mode {
	case FailureFallback:
		// With broken bounds the range means nothing; that is reported already.
		if b.Min <= b.Max && (f.Fallback < b.Min || f.Fallback > b.Max) {
			errs = append(errs, fielderr.Invalid(fp.Child("fallback"), f.Fallback, "must be within bounds %d..%d", b.Min, b.Max))
		}
	case FailureHold:
		if f.Fallback != 0 {
			errs = append(errs, fielderr.Invalid(fp.Child("fallback"), f.Fallback, "must be unset unless mode is fallback"))
		}
	default:
		errs = append(errs, fielderr.NotSupported(fp.Child("mode"), string(f.Mode), FailureModes))
	}
	errs = append(errs, s.Startup.validate(path)...)
	for i, sc := range s.Schedules {
		sp := path.Child("schedules").Index(i)
		switch {
		case sc == nil:
			errs = append(errs, fielderr.Invalid(sp, nil, "must be a schedule"))
		case sc.Min > b.Max && b.Max >= 1:
			errs = append(errs, fielderr.Invalid(sp.Child("min"), sc.Min, "must be <= bounds.max (%d)", b.Max))
		}
	}
	return errs
}

// validate checks one direction against HPA's own rules. An empty list of
// rate limits is allowed here (no rate limit); a config file refuses one.
func (r *Rules) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if w := r.StabilizationWindow; w < 0 || w > MaxStabilizationWindow {
		errs = append(errs, fielderr.Invalid(path.Child("stabilization_window"), w, "must be in 0s..%s", MaxStabilizationWindow))
	}
	if !slices.Contains(SelectPolicies, r.Select) {
		errs = append(errs, fielderr.NotSupported(path.Child("select_policy"), string(r.Select), SelectPolicies))
	}
	for i, l := range r.Limits {
		lp := path.Child("policies").Index(i)
		if !slices.Contains(RateTypes, l.Type) {
			errs = append(errs, fielderr.NotSupported(lp.Child("type"), string(l.Type), RateTypes))
		}
		if l.Value <= 0 {
			errs = append(errs, fielderr.Invalid(lp.Child("value"), l.Value, "must be > 0"))
		}
		if l.Period <= 0 || l.Period > MaxRatePeriod {
			errs = append(errs, fielderr.Invalid(lp.Child("period"), l.Period, "must be in (0s, %s]", MaxRatePeriod))
		}
	}
	// As the HPA's: any finite value >= 0. From 1 on, scale_down never
	// moves on the ratio (it would need a ratio below 0), and scale_up
	// moves only beyond a ratio of 1 + tolerance.
	if t := r.Tolerance; !(t >= 0) || math.IsInf(t, 1) {
		errs = append(errs, fielderr.Invalid(path.Child("tolerance"), t, "must be a finite number >= 0"))
	}
	return errs
}
