package main

import (
	"fmt"
	"math"
	"time"
)

// A tune family is one policy structure with its parameters that matter.
// Each parameter is searched on [lo, hi], as the optimiser's coordinate
// x in [0, 1] (clamped), starting from a shipped configuration's value.
type tuneParam struct {
	name     string
	lo, hi   float64
	start    float64
	round    float64 // a multiple it is rounded to (0: none)
	duration bool    // seconds, written as a duration
}

func (p tuneParam) value(x float64) float64 {
	x = math.Min(1, math.Max(0, x))
	v := p.lo + x*(p.hi-p.lo)
	if p.round > 0 {
		v = math.Round(v/p.round) * p.round
	}
	v = math.Round(v*1e4) / 1e4 // four decimals: what the file says is what ran
	return math.Min(p.hi, math.Max(p.lo, v))
}

func (p tuneParam) coord(v float64) float64 { return (v - p.lo) / (p.hi - p.lo) }

type tuneFamily struct {
	name   string // as reports name it
	about  string
	model  string // the forecast model; "" for no forecast
	params []tuneParam
	// policies and behavior render a point (param name -> value) as the
	// scaler's policies and behavior, in the template's signals (roles).
	render func(v map[string]float64, r tuneRoles) (policies []any, behavior map[string]any)
}

// tuneRoles are the template's signals by what they read.
type tuneRoles struct {
	load string // the load in replicas' worth of SLO capacity; "" if none
	util string // a utilisation signal: slo_utilisation or utilisation
	// utilScale converts a share of the SLO capacity to util's units:
	// 1 for slo_utilisation, c/mu for utilisation.
	utilScale float64
}

func (r tuneRoles) target(sloShare float64) float64 {
	return math.Round(sloShare*r.utilScale*1e4) / 1e4
}

func dur(seconds float64) string { return (time.Duration(seconds) * time.Second).String() }

func guards(v map[string]float64) map[string]any {
	up := map[string]any{"tolerance": v["up_tolerance"]}
	if w := v["up_window"]; w > 0 {
		up["stabilization_window"] = dur(w)
	}
	down := map[string]any{"tolerance": v["down_tolerance"], "stabilization_window": dur(v["down_window"])}
	if h := v["startup_hold"]; h > 0 {
		down["startup_hold"] = h
	}
	return map[string]any{"scale_up": up, "scale_down": down}
}

func floorPolicy(v map[string]float64, r tuneRoles) map[string]any {
	return map[string]any{
		"name": "capacity", "type": "target_tracking",
		"target_tracking": map[string]any{"signal": r.util, "target_type": "utilization", "target": r.target(v["target"])},
	}
}

// tuneGuardParams are the guards every family tunes.
func tuneGuardParams(upTolerance, downTolerance, downWindow float64) []tuneParam {
	return []tuneParam{
		{name: "up_tolerance", lo: 0, hi: 0.15, start: upTolerance, round: 0.01},
		{name: "up_window", lo: 0, hi: 180, start: 0, round: 15, duration: true},
		{name: "down_tolerance", lo: 0, hi: 0.3, start: downTolerance, round: 0.01},
		{name: "down_window", lo: 0, hi: 900, start: downWindow, round: 15, duration: true},
	}
}

// tuneFamilies are the families searched; forecasting ones only when the
// template has a load signal.
func tuneFamilies(r tuneRoles) []tuneFamily {
	tt := tuneFamily{
		name:  "target_tracking",
		about: "target tracking on " + r.util + " with tuned guards",
		params: append([]tuneParam{
			{name: "target", lo: 0.6, hi: 0.98, start: 0.8566, round: 0.001},
		}, tuneGuardParams(0.1, 0.1, 300)...), // the HPA's
		render: func(v map[string]float64, r tuneRoles) ([]any, map[string]any) {
			return []any{floorPolicy(v, r)}, guards(v)
		},
	}
	fams := []tuneFamily{tt}
	if r.load == "" {
		return fams
	}
	forecastParams := func(q, target, upTolerance, downTolerance, downWindow float64) []tuneParam {
		return append([]tuneParam{
			{name: "quantile", lo: 0.5, hi: 0.99, start: q, round: 0.005},
			{name: "lead", lo: 0, hi: 300, start: 15, round: 15, duration: true},
			{name: "forecast_up", lo: 0, hi: 0.15, start: 0.05, round: 0.01},
			{name: "forecast_down", lo: 0, hi: 0.3, start: 0.1, round: 0.01},
			{name: "target", lo: 0.6, hi: 0.98, start: target, round: 0.001},
			{name: "startup_hold", lo: 0, hi: 2, start: 0, round: 1},
		}, tuneGuardParams(upTolerance, downTolerance, downWindow)...)
	}
	forecast := func(name, about, model string, extra map[string]any, q, target, upTolerance, downTolerance, downWindow float64) tuneFamily {
		return tuneFamily{
			name: name, about: about, model: model,
			params: forecastParams(q, target, upTolerance, downTolerance, downWindow),
			render: func(v map[string]float64, r tuneRoles) ([]any, map[string]any) {
				p := map[string]any{
					"signal": r.load, "capacity_per_replica": 1, "model": model,
					"lead": dur(v["lead"]), "quantile": v["quantile"], "spread": "auto", "min_history": "1h",
					"tolerance": map[string]any{"up": v["forecast_up"], "down": v["forecast_down"]},
				}
				for k, x := range extra {
					p[k] = x
				}
				return []any{
					map[string]any{"name": "forecast", "type": "predictive", "predictive": p},
					floorPolicy(v, r),
				}, guards(v)
			},
		}
	}
	return append(fams,
		// The short forecast of predictive-lean.yaml: the recent level and
		// trend need a day of history, not two weeks.
		forecast("forecast_holt", "the recent level and trend (holt) over a target-tracking floor", "holt",
			map[string]any{"history": "24h"}, 0.8, 0.8923, 0.03, 0.15, 240),
		// The forecast of recommended.yaml: daily and weekly seasons chosen
		// by backtest on 5-minute means.
		forecast("forecast_seasonal", "a seasonal forecast chosen by backtest (auto) over a target-tracking floor", "auto",
			map[string]any{"smooth": "5m"}, 0.9, 0.8566, 0.04, 0.15, 420),
	)
}

// point is the family's parameters at coordinates x.
func (f tuneFamily) point(x []float64) map[string]float64 {
	v := make(map[string]float64, len(f.params))
	for i, p := range f.params {
		v[p.name] = p.value(x[i])
	}
	return v
}

func (f tuneFamily) start() []float64 {
	x := make([]float64, len(f.params))
	for i, p := range f.params {
		x[i] = p.coord(p.start)
	}
	return x
}

// key identifies a point, so that one the optimiser proposes twice runs once.
func (f tuneFamily) key(v map[string]float64) string {
	k := f.name
	for _, p := range f.params {
		k += fmt.Sprintf(" %s=%g", p.name, v[p.name])
	}
	return k
}
