package engine

import (
	"fmt"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// configPolicy builds a pid or step policy from its (validated) block.
func configPolicy(i int, p config.Policy) (policy.Policy, error) {
	pol, err := p.NewPolicy()
	if err != nil {
		return nil, fmt.Errorf("policies[%d].%s: %w", i, p.Type, err)
	}
	return pol, nil
}

// schedules builds a scaler's schedules into spec.
func schedules(spec *policy.Spec, sc config.Scaler) error {
	for i := range sc.Schedules {
		s, err := sc.Schedules[i].NewSchedule()
		if err != nil {
			return fmt.Errorf("schedules[%d]: %w", i, err)
		}
		spec.Schedules = append(spec.Schedules, s)
	}
	return nil
}

// PolicyStateRecorder is the optional part of a Recorder that exports the
// state of policies that report one (policy.StateReporter), after each tick.
type PolicyStateRecorder interface {
	SetPolicyState(scaler, policy string, vars map[string]float64)
}

func recordPolicyStates(rec Recorder, scaler string, d *policy.Decider) {
	r, ok := rec.(PolicyStateRecorder)
	if !ok {
		return
	}
	for _, st := range d.States() {
		r.SetPolicyState(scaler, st.Policy, st.Vars)
	}
}
