package engine

import (
	"fmt"
	"time"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// predictivePolicy builds a predictive policy from its (validated) block.
// Without a startup_delay of its own it plans for the scaler's, when that
// is known (config.Scaler.PlannedStartupDelay).
func predictivePolicy(i int, p config.Policy, startup time.Duration) (policy.Policy, error) {
	if p.Predictive == nil {
		return nil, fmt.Errorf("policies[%d].predictive: missing for type predictive", i)
	}
	spec := p.Predictive.PredictiveSpec(p.Name)
	if p.Predictive.StartupDelay == 0 && startup > 0 {
		spec.StartupDelay = startup
	}
	pol, err := policy.NewPredictive(spec)
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
