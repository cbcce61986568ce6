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

// ForecastRecorder is the optional part of a Recorder that exports the
// forecasts of forecasting policies (policy.Forecaster), after each tick;
// telemetry.Metrics implements it.
type ForecastRecorder interface {
	SetForecast(scaler string, f policy.PolicyForecast)
}

func recordForecasts(rec Recorder, scaler string, d *policy.Decider) {
	r, ok := rec.(ForecastRecorder)
	if !ok {
		return
	}
	for _, f := range d.Forecasts() {
		r.SetForecast(scaler, f)
	}
}
