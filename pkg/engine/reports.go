package engine

// What a scaler reports about its policies after each tick, to the parts
// of a Recorder that take it.

import (
	"github.com/scaled-dev/scaled/pkg/policy"
)

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
