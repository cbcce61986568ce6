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
	Signal string `yaml:"signal"`
	// Mode: forecastAndScale (default) or forecastOnly (explain and export, never act).
	Mode string `yaml:"mode"`
	// CapacityPerReplica: how much of the signal one replica serves within the SLO.
	CapacityPerReplica float64 `yaml:"capacity_per_replica"`
	// StartupDelay (default 60s) plus Lead (default 60s) is how far ahead it plans.
	StartupDelay time.Duration `yaml:"startup_delay"`
	Lead         time.Duration `yaml:"lead"`
	// History (default 14d) at Step (default 1m) is fetched; MinHistory
	// (default 24h) is the least it acts on.
	History    time.Duration `yaml:"history"`
	Step       time.Duration `yaml:"step"`
	MinHistory time.Duration `yaml:"min_history"`
	// Smooth (default: step): the model fits and forecasts the means of
	// blocks this long, its interval still covering every step's point.
	Smooth time.Duration `yaml:"smooth"`
	// Model: auto (default: chosen by backtest) or one of forecast.ModelNames.
	Model string `yaml:"model"`
	// Quantile planned for (default 0.9).
	Quantile float64 `yaml:"quantile"`
	// Spread: relative (default: the interval widens in proportion to the
	// forecast), sqrt (with its square root, as a count's noise does) or
	// auto (whichever the backtest scores better, at every refit).
	Spread string `yaml:"spread"`
	// RefitEvery (default 1h of new data).
	RefitEvery time.Duration `yaml:"refit_every"`
	// SurpriseRatio (default 1.5) and Handover (default 15m): a point above
	// ratio x the upper bound hands over to the reactive policies.
	SurpriseRatio float64       `yaml:"surprise_ratio"`
	Handover      time.Duration `yaml:"handover"`
	// Headroom (default 0): the least margin over the point forecast planned
	// for, as a share of it.
	Headroom float64 `yaml:"headroom"`
	// Ramp (default 0: off): a rise of the load over the last ramp is
	// compounded until the target time and planned for too.
	Ramp time.Duration `yaml:"ramp"`
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
		Ramp: pr.Ramp, Headroom: pr.Headroom,
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
