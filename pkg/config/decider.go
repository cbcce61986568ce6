package config

import (
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// deciderSpec builds what the scaler's decider runs on: each policy through
// its type's constructor, each schedule, and its combine rule, bounds,
// behaviour and failure rule. It is the one conversion from a scaler's
// config to pkg/policy, made when the scaler is resolved (resolve.go):
// Validate reports its problems and those of policy.NewDecider under path,
// and the daemon and the simulator build from it, so what runs is what was
// validated. startup is the startup delay the scaler plans for, resolved.
// The decider seeds stabilisation with the current capacity, as the HPA
// does, so that a restart does not scale in before a full window of fresh
// recommendations.
//
// A policy or schedule with a problem is left out of the spec.
func (s *Scaler) deciderSpec(startup time.Duration, path *field.Path) (policy.Spec, field.ErrorList) {
	spec := policy.Spec{
		Combine:         s.Combine,
		Bounds:          s.Bounds,
		OnFailure:       s.OnFailure,
		SeedWithCurrent: true,
	}
	spec.Behavior.ScaleUp = s.Behavior.ScaleUp.deciderRules(policy.DefaultTolerance.Up)
	spec.Behavior.ScaleDown = s.Behavior.ScaleDown.deciderRules(policy.DefaultTolerance.Down)
	spec.Startup.Delay = startup
	var errs field.ErrorList
	if down := s.Behavior.ScaleDown; down != nil {
		spec.Startup.Windows = down.StartupHold
	}
	if up := s.Behavior.ScaleUp; up != nil && up.StartupHold != 0 {
		errs = append(errs, fielderr.Invalid(path.Child("behavior", "scale_up", "startup_hold"), up.StartupHold,
			"must be unset: only a scale-down is held for the startup delay"))
	}
	ctx := policy.ScalerContext{
		Signals:      s.signalNames(),
		Tolerance:    policy.Tolerance{Up: spec.Behavior.ScaleUp.Tolerance, Down: spec.Behavior.ScaleDown.Tolerance},
		StartupDelay: max(0, startup), // a negative one is reported by policy.NewDecider
	}
	pp := path.Child("policies")
	if len(s.Policies) == 0 {
		errs = append(errs, fielderr.Problem(pp, "must list at least one policy"))
	}
	seen := map[string]int{}
	for i := range s.Policies {
		p, ip := &s.Policies[i], pp.Index(i)
		errs = append(errs, uniqueName(pp, seen, i, p.Name)...)
		perrs := p.check(ip)
		if errs = append(errs, perrs...); len(perrs) > 0 {
			continue
		}
		pol, perrs := p.Spec.New(p.Name, ctx, ip.Child(string(p.Type)))
		errs = append(errs, perrs...)
		if len(perrs) == 0 {
			spec.Policies = append(spec.Policies, pol)
		}
	}
	sp := path.Child("schedules")
	seen = map[string]int{}
	for i := range s.Schedules {
		errs = append(errs, uniqueName(sp, seen, i, s.Schedules[i].Name)...)
		sc, serrs := s.Schedules[i].New(sp.Index(i))
		errs = append(errs, serrs...)
		if len(serrs) == 0 {
			spec.Schedules = append(spec.Schedules, sc)
		}
	}
	return spec, errs
}

// signalNames are the scaler's signal names, each once, in order.
func (s *Scaler) signalNames() []string {
	out := make([]string, 0, len(s.Signals))
	seen := map[string]bool{}
	for _, sig := range s.Signals {
		if sig.Name != "" && !seen[sig.Name] {
			seen[sig.Name] = true
			out = append(out, sig.Name)
		}
	}
	return out
}

// deciderRules is the decider's view of one direction; an unset tolerance
// is tolerance.
func (r *ScalingRules) deciderRules(tolerance float64) policy.Rules {
	if r == nil {
		return policy.Rules{Tolerance: tolerance}
	}
	out := policy.Rules{Select: r.SelectPolicy, Limits: r.Policies, Tolerance: tolerance}
	if r.StabilizationWindow != nil {
		out.StabilizationWindow = *r.StabilizationWindow
	}
	if r.Tolerance != nil {
		out.Tolerance = *r.Tolerance
	}
	return out
}
