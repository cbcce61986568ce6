package telemetry

import "github.com/scaled-dev/scaled/internal/promvec"

// ForgetScalers is ForgetScaler for many scalers at once, in one pass over
// each vector: a replica that stops the scalers of a shard (thousands)
// forgets them in about the time of one. Call it once their goroutines
// have stopped.
func (m *Metrics) ForgetScalers(scalers []string) {
	if m == nil || len(scalers) == 0 {
		return
	}
	set := make(map[string]bool, len(scalers))
	for _, s := range scalers {
		set[s] = true
	}
	for _, v := range m.perScaler() {
		promvec.DeleteWhere(v, "scaler", set)
	}
	m.gauges.forgetSet(set)
}
