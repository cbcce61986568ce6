package engine

import (
	"fmt"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// DeciderSpec turns a scaler's (defaulted, validated) config into the
// policies and guards of a policy.Decider. The daemon seeds stabilisation with
// the current capacity, as the HPA does, so that a restart does not scale in
// before a full window of fresh recommendations.
func DeciderSpec(sc config.Scaler) (policy.Spec, error) {
	spec := policy.Spec{
		Combine:         policy.Combine(sc.Combine),
		Bounds:          policy.Bounds{Min: sc.Bounds.Min, Max: sc.Bounds.Max},
		OnFailure:       policy.OnFailure{Mode: policy.FailureMode(sc.OnFailure.Mode), Fallback: sc.OnFailure.Fallback},
		SeedWithCurrent: true,
	}
	spec.Behavior.ScaleUp = rules(sc.Behavior.ScaleUp)
	spec.Behavior.ScaleDown = rules(sc.Behavior.ScaleDown)
	if d := sc.Behavior.ScaleDown; d != nil {
		spec.Startup = policy.StartupHold{Delay: sc.PlannedStartupDelay(), Windows: d.StartupHold}
	}
	tol := policy.Tolerance{Up: tolerance(sc.Behavior.ScaleUp), Down: tolerance(sc.Behavior.ScaleDown)}
	for i, p := range sc.Policies {
		switch p.Type {
		case "target_tracking":
			tt := p.TargetTracking
			if tt == nil {
				return spec, fmt.Errorf("policies[%d].target_tracking: missing for type target_tracking", i)
			}
			pol, err := policy.NewTargetTracking(p.Name, tt.Signal, policy.TargetType(tt.TargetType), tt.Target, tol)
			if err != nil {
				return spec, fmt.Errorf("policies[%d]: %w", i, err)
			}
			spec.Policies = append(spec.Policies, pol)
		case "pid", "step": // build_policies.go
			pol, err := configPolicy(i, p)
			if err != nil {
				return spec, err
			}
			spec.Policies = append(spec.Policies, pol)
		case "predictive": // build_predictive.go
			pol, err := predictivePolicy(i, p, sc.PlannedStartupDelay())
			if err != nil {
				return spec, err
			}
			spec.Policies = append(spec.Policies, pol)
		default:
			return spec, fmt.Errorf("policies[%d].type: %q: must be one of target_tracking, pid, step, predictive", i, p.Type)
		}
	}
	if err := schedules(&spec, sc); err != nil { // build_policies.go
		return spec, err
	}
	return spec, nil
}

func rules(r *config.ScalingRules) policy.Rules {
	if r == nil {
		return policy.Rules{}
	}
	out := policy.Rules{Select: policy.SelectPolicy(r.SelectPolicy)}
	if r.StabilizationWindow != nil {
		out.StabilizationWindow = *r.StabilizationWindow
	}
	for _, l := range r.Policies {
		out.Limits = append(out.Limits, policy.RateLimit{Type: policy.RateType(l.Type), Value: l.Value, Period: l.Period})
	}
	return out
}

func tolerance(r *config.ScalingRules) float64 {
	if r == nil || r.Tolerance == nil {
		return policy.DefaultTolerance.Up
	}
	return *r.Tolerance
}
