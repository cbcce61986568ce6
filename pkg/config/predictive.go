package config

import (
	"time"

	"github.com/scaled-dev/scaled/pkg/forecast"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// Predictive configures a predictive policy (docs/forecasting.md): it
// forecasts Signal from its own history and plans capacity for the upper
// quantile. Zero values take the defaults below.
type Predictive struct {
	Signal string `json:"signal,omitempty"`
	// Mode: forecastAndScale (default) or forecastOnly (explain and export, never act).
	Mode string `json:"mode,omitempty"`
	// CapacityPerReplica: how much of the signal one replica serves within the SLO.
	CapacityPerReplica float64 `json:"capacity_per_replica,omitempty"`
	// StartupDelay (default 60s) plus Lead (default 60s) is how far ahead it plans.
	StartupDelay time.Duration `json:"startup_delay,omitempty"`
	Lead         time.Duration `json:"lead,omitempty"`
	// History (default 14d) at Step (default 1m) is fetched; MinHistory
	// (default 24h) is the least it acts on.
	History    time.Duration `json:"history,omitempty"`
	Step       time.Duration `json:"step,omitempty"`
	MinHistory time.Duration `json:"min_history,omitempty"`
	// Smooth (default: step): the model fits and forecasts the means of
	// blocks this long, its interval still covering every step's point.
	Smooth time.Duration `json:"smooth,omitempty"`
	// Model: auto (default: chosen by backtest) or one of forecast.ModelNames.
	Model string `json:"model,omitempty"`
	// Quantile planned for (default 0.9).
	Quantile float64 `json:"quantile,omitempty"`
	// Spread: relative (default: the interval widens in proportion to the
	// forecast) or sqrt (with its square root, as a count's noise does).
	Spread string `json:"spread,omitempty"`
	// RefitEvery (default 1h of new data).
	RefitEvery time.Duration `json:"refit_every,omitempty"`
	// SurpriseRatio (default 1.5) and Handover (default 15m): a point above
	// ratio x the upper bound hands over to the reactive policies.
	SurpriseRatio float64       `json:"surprise_ratio,omitempty"`
	Handover      time.Duration `json:"handover,omitempty"`
}

// PredictiveSpec is the policy spec of a predictive block, defaults filled.
func (pr *Predictive) PredictiveSpec(name string) policy.PredictiveSpec {
	or := func(d, def time.Duration) time.Duration {
		if d == 0 {
			return def
		}
		return d
	}
	orf := func(v, def float64) float64 {
		if v == 0 {
			return def
		}
		return v
	}
	s := policy.PredictiveSpec{
		Name: name, Signal: pr.Signal, Mode: policy.PredictiveMode(pr.Mode), CapacityPerReplica: pr.CapacityPerReplica,
		StartupDelay: or(pr.StartupDelay, time.Minute), Lead: or(pr.Lead, time.Minute),
		History: or(pr.History, 14*24*time.Hour), Step: or(pr.Step, time.Minute), MinHistory: or(pr.MinHistory, 24*time.Hour),
		Smooth: pr.Smooth, Spread: pr.Spread,
		Model: pr.Model, Quantile: orf(pr.Quantile, 0.9), RefitEvery: or(pr.RefitEvery, time.Hour),
		SurpriseRatio: orf(pr.SurpriseRatio, 1.5), Handover: or(pr.Handover, 15*time.Minute),
	}
	if s.Mode == "" {
		s.Mode = policy.ForecastAndScale
	}
	if s.Model == "" {
		s.Model = forecast.Auto
	}
	return s
}

// validatePredictive checks a policy's predictive block: set exactly when
// its type is predictive, its signal declared, its values as
// policy.NewPredictive accepts them.
func validatePredictive(p *problems, path string, pol *Policy, signals map[string]int, signalNames []string) {
	switch {
	case pol.Type == "predictive" && pol.Predictive == nil:
		p.add(path+".predictive", nil, "must be set when type is predictive")
	case pol.Type != "predictive" && pol.Predictive != nil:
		p.add(path+".predictive", present, "must be absent when type is %q", pol.Type)
	}
	if pr := pol.Predictive; pr != nil && pol.Type == "predictive" {
		pp := path + ".predictive"
		requireSignal(p, pp+".signal", pr.Signal, signals, signalNames)
		if pr.Signal != "" {
			_, err := policy.NewPredictive(pr.PredictiveSpec(pol.Name))
			addPolicyErr(p, pp, err)
		}
	}
}
