package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaled-dev/scaled/pkg/engine"
)

// registerHistoryMetrics exports what the predictive policies' histories
// cost: the range queries sent for them and the points asked (a steady
// fleet asks for the new points only), and what the shared histories hold.
func registerHistoryMetrics(reg prometheus.Registerer, stats func() engine.HistoryStats) {
	for _, m := range []struct {
		name, help string
		counter    bool
		read       func(engine.HistoryStats) float64
	}{
		{"scaled_history_range_queries_total", "Range queries sent for the histories of predictive policies (one per page of at most 11,000 points).", true,
			func(s engine.HistoryStats) float64 { return float64(s.RangeQueries) }},
		{"scaled_history_points_requested_total", "Points the history range queries asked for: the whole window at a history's first read, then the points since the last one read.", true,
			func(s engine.HistoryStats) float64 { return float64(s.PointsAsked) }},
		{"scaled_histories", "Distinct histories held, each shared by every scaler that reads the same query, step and window.", false,
			func(s engine.HistoryStats) float64 { return float64(s.Histories) }},
		{"scaled_history_bytes", "Bytes the shared histories hold (4 a point).", false,
			func(s engine.HistoryStats) float64 { return float64(s.Bytes) }},
	} {
		read := m.read
		value := func() float64 { return read(stats()) }
		if m.counter {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help}, value))
		} else {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: m.name, Help: m.help}, value))
		}
	}
}
