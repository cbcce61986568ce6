package simulate

import (
	"math"
	"strings"
	"time"
)

// Observation is what a policy may see at tick t: the window [t-60 s, t) and
// the cluster as it stands before the tick's decision. Nothing from t onward.
type Observation struct {
	Time time.Time
	// WindowTicks is how many ticks the window averaged. It is 0 at the first
	// tick, where nothing has been observed: Demand, Utilisation and
	// P95Seconds are then NaN and Get reports them absent.
	WindowTicks int
	// Demand is the mean demand (req/s) over the window.
	Demand float64
	// Utilisation is Demand/(Ready*mu).
	Utilisation float64
	// P95Seconds is ln(20)/(mu - Demand/Ready): the window's mean demand
	// served by the replicas ready now; +Inf when saturated or Ready = 0.
	P95Seconds float64
	// The same three in the service's own terms, so that a config written
	// against them carries over to any mu and SLO: Load is Demand/c (the
	// replicas the window's demand needs at the SLO), SLOUtilisation is
	// Demand/(Ready*c) (1 at the SLO), P95OverSLO is P95Seconds/L.
	Load, SLOUtilisation, P95OverSLO float64
	Ready                            int32 // replicas ready now
	Requested                        int32 // replicas requested now, pending ones included
}

// observe is the Observation at tick i with ready and requested replicas.
func (m *Model) observe(i int, ready, requested int32) Observation {
	o := Observation{Time: m.TickTime(i), Ready: ready, Requested: requested}
	o.Demand, o.WindowTicks = m.ObservedDemand(i)
	o.Utilisation = m.Utilisation(o.Demand, ready)
	o.P95Seconds = m.P95(o.Demand, ready)
	o.Load, _ = m.observedLoad(i)
	o.SLOUtilisation = math.Inf(1)
	if ready > 0 {
		o.SLOUtilisation = o.Load / float64(ready)
	} else if o.Load == 0 {
		o.SLOUtilisation = 0
	}
	o.P95OverSLO = o.P95Seconds / m.L
	if o.WindowTicks == 0 {
		o.Utilisation, o.P95Seconds = math.NaN(), math.NaN() // not observed yet
		o.SLOUtilisation, o.P95OverSLO = math.NaN(), math.NaN()
	}
	return o
}

// Observation names, as a config's signals bind to them.
const (
	ObserveDemand      = "demand"      // mean demand over the window, req/s
	ObserveUtilisation = "utilisation" // demand/(ready*mu)
	ObserveP95         = "p95_seconds" // p95 latency of the window's demand on the ready replicas
	ObserveReady       = "ready"       // ready replicas
	ObserveReplicas    = "replicas"    // requested replicas, pending ones included
	// In the service's own terms (a config on these carries over to any
	// capacity and SLO):
	ObserveLoad           = "load"            // mean demand over the window / c: replicas needed at the SLO
	ObserveSLOUtilisation = "slo_utilisation" // load / ready replicas: 1 at the SLO
	ObserveP95OverSLO     = "p95_over_slo"    // p95 / L: 1 at the SLO
)

// Observations lists the observation names, each with the aliases that mean
// the same, for help and error messages, and how an Observation gives it.
var Observations = []struct {
	Name    string
	Aliases []string
	value   func(Observation) float64
	// windowed: read from the window, so absent at the first tick (and
	// whenever it is NaN).
	windowed bool
}{
	{ObserveDemand, nil, func(o Observation) float64 { return o.Demand }, true},
	{ObserveUtilisation, []string{"utilization"}, func(o Observation) float64 { return o.Utilisation }, true},
	{ObserveP95, []string{"latency"}, func(o Observation) float64 { return o.P95Seconds }, true},
	{ObserveReady, nil, func(o Observation) float64 { return float64(o.Ready) }, false},
	{ObserveReplicas, []string{"requested"}, func(o Observation) float64 { return float64(o.Requested) }, false},
	{ObserveLoad, nil, func(o Observation) float64 { return o.Load }, true},
	{ObserveSLOUtilisation, []string{"slo_utilization"}, func(o Observation) float64 { return o.SLOUtilisation }, true},
	{ObserveP95OverSLO, []string{"latency_over_slo"}, func(o Observation) float64 { return o.P95OverSLO }, true},
}

// ObservationName returns the observation name or alias's canonical name,
// and false for any other name.
func ObservationName(name string) (string, bool) {
	i := observation(name)
	if i < 0 {
		return "", false
	}
	return Observations[i].Name, true
}

// observation is the index in Observations of a name or alias, or -1.
func observation(name string) int {
	for i, o := range Observations {
		if name == o.Name {
			return i
		}
		for _, a := range o.Aliases {
			if name == a {
				return i
			}
		}
	}
	return -1
}

// ObservationList is "demand, utilisation (or utilization), ...", for messages.
func ObservationList() string {
	parts := make([]string, len(Observations))
	for i, o := range Observations {
		parts[i] = o.Name
		if len(o.Aliases) > 0 {
			parts[i] += " (or " + strings.Join(o.Aliases, ", ") + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// Get looks a signal up by name: "demand" (req/s), "utilisation" or
// "utilization", "p95_seconds" or "latency", "ready", "replicas" or
// "requested", "load", "slo_utilisation" or "slo_utilization",
// "p95_over_slo" or "latency_over_slo". It reports false for an unknown name and, at the first tick,
// for the window signals. A saturated window gives P95Seconds = +Inf with true:
// the value is what the model says, and the caller decides how to treat it.
func (o Observation) Get(name string) (float64, bool) {
	i := observation(name)
	if i < 0 {
		return 0, false
	}
	v := Observations[i].value(o)
	if Observations[i].windowed && (o.WindowTicks == 0 || math.IsNaN(v)) {
		return 0, false
	}
	return v, true
}
