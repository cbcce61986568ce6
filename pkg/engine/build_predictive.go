package engine

import (
	"fmt"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// predictivePolicy builds a predictive policy from its (validated) block.
func predictivePolicy(i int, p config.Policy) (policy.Policy, error) {
	if p.Predictive == nil {
		return nil, fmt.Errorf("policies[%d].predictive: missing for type predictive", i)
	}
	pol, err := policy.NewPredictive(p.Predictive.PredictiveSpec(p.Name))
	if err != nil {
		return nil, fmt.Errorf("policies[%d].predictive: %w", i, err)
	}
	return pol, nil
}
