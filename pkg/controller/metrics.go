package controller

import "github.com/prometheus/client_golang/prometheus"

// metrics are the controller's own: how many Scalers run or were refused,
// and how many status writes the API server took.
type metrics struct {
	writes     *prometheus.CounterVec
	suppressed prometheus.Counter
}

// objectStates are the states scaled_scaler_objects counts.
var objectStates = []string{"running", "invalid", "not_started"}

func newMetrics(reg prometheus.Registerer, w *statusWriter) (*metrics, error) {
	m := &metrics{
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaled_scaler_status_writes_total",
			Help: "Status writes of Scaler objects, by result (ok, error).",
		}, []string{"result"}),
		suppressed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scaled_scaler_events_suppressed_total",
			Help: "Events not recorded on Scaler objects because their event rate limit was reached.",
		}),
	}
	for _, r := range []string{"ok", "error"} {
		m.writes.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.writes, m.suppressed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "scaled_scaler_status_refresh_seconds",
			Help: "How often an unchanged Scaler status is written again: scaler_objects.status_refresh, or longer when the Scalers this replica writes for would take more than half of status_qps.",
		}, func() float64 {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.refreshPeriod().Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "scaled_scaler_status_queue",
			Help: "Scaler statuses waiting for the status writer: near 0 while it keeps up, growing while it is held at status_qps.",
		}, func() float64 { return float64(w.queue.Len()) }),
	}
	for _, state := range objectStates {
		// Counted when scraped, so that taking a Scaler in costs nothing.
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "scaled_scaler_objects",
			Help:        "Scaler objects watched, by state: running (a valid spec runs), invalid (the last spec was refused), not_started (it could not be built).",
			ConstLabels: prometheus.Labels{"state": state},
		}, func() float64 { return float64(w.count(state)) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) write(result string) { m.writes.WithLabelValues(result).Inc() }

func (m *metrics) eventSuppressed() { m.suppressed.Inc() }

// count is how many Scalers are in state.
func (w *statusWriter) count(state string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, st := range w.states {
		var s string
		switch {
		case len(st.problems) > 0:
			s = "invalid"
		case st.startErr != "":
			s = "not_started"
		case st.running:
			s = "running"
		}
		if s == state {
			n++
		}
	}
	return n
}
