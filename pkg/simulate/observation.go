package simulate

import (
	"math"
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
	Ready      int32 // replicas ready now
	Requested  int32 // replicas requested now, pending ones included
}

// Get looks a signal up by name: "demand" (req/s), "utilisation" or
// "utilization", "p95_seconds" or "latency", "ready", "replicas" or
// "requested". It reports false for an unknown name and, at the first tick,
// for the window signals. A saturated window gives P95Seconds = +Inf with true:
// the value is what the model says, and the caller decides how to treat it.
func (o Observation) Get(name string) (float64, bool) {
	switch name {
	case "ready":
		return float64(o.Ready), true
	case "replicas", "requested":
		return float64(o.Requested), true
	}
	var v float64
	switch name {
	case "demand":
		v = o.Demand
	case "utilisation", "utilization":
		v = o.Utilisation
	case "p95_seconds", "latency":
		v = o.P95Seconds
	default:
		return 0, false
	}
	if o.WindowTicks == 0 || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}
