package policy

// What a Decider reports about its policies after a tick, for export.

// PolicyState is one policy's exported state (see StateReporter).
type PolicyState struct {
	Policy string
	Vars   map[string]float64
}

// States returns the state of every policy that reports one, in spec order.
func (d *Decider) States() []PolicyState {
	var out []PolicyState
	for _, p := range d.spec.Policies {
		if r, ok := p.(StateReporter); ok {
			out = append(out, PolicyState{Policy: p.Name(), Vars: r.State()})
		}
	}
	return out
}

// PolicyForecast is one forecasting policy's last forecast, as
// Decider.Forecasts reports it.
type PolicyForecast struct {
	Policy string
	Report ForecastReport
	// OK is false when the policy made no forecast at its last tick; only
	// Report.Signal is then set.
	OK bool
}

// Forecasts returns the last forecast of every policy that implements
// Forecaster, in spec order; nil when none does. Call it after Decide.
func (d *Decider) Forecasts() []PolicyForecast {
	var out []PolicyForecast
	for _, p := range d.spec.Policies {
		if f, ok := p.(Forecaster); ok {
			r, ok := f.LastForecast()
			out = append(out, PolicyForecast{Policy: p.Name(), Report: r, OK: ok})
		}
	}
	return out
}

// SpreadRefits hands key to every policy that implements RefitSpreader.
func (d *Decider) SpreadRefits(key string) {
	for _, p := range d.spec.Policies {
		if r, ok := p.(RefitSpreader); ok {
			r.SpreadRefits(key)
		}
	}
}
