package telemetry

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// The gauges every scaler has, labelled by scaler alone (scaled_desired_replicas,
// scaled_tick_lag_seconds...), are kept as one row of numbers per scaler
// and made into series only when /metrics is read. A GaugeVec child costs
// about 350 bytes (its label pairs, its map entry); seven per scaler are
// 25 MB of live heap at 10,000 scalers, and a row is under 100 bytes.
const (
	gaugeRecommended = iota
	gaugeDesired
	gaugeCurrent
	gaugeReady
	gaugeLastDecision
	gaugeTickLag
	gaugeDryRun
	numScalerGauges
)

// scalerRow is one scaler's gauges; set has bit i when gauge i has a value
// (a gauge is absent until its first value, as a GaugeVec child is).
type scalerRow struct {
	v   [numScalerGauges]float64
	set uint8
}

// scalerGauges holds every scaler's row. It is safe for concurrent use.
type scalerGauges struct {
	mu   sync.RWMutex
	rows map[string]*scalerRow
}

func newScalerGauges() *scalerGauges {
	return &scalerGauges{rows: map[string]*scalerRow{}}
}

func (g *scalerGauges) set(scaler string, i int, v float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.rows[scaler]
	if r == nil {
		r = &scalerRow{}
		g.rows[scaler] = r
	}
	r.v[i] = v
	r.set |= 1 << i
}

// forget deletes a scaler's row: every series of it is gone.
func (g *scalerGauges) forget(scaler string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.rows, scaler)
}

// gauge returns the collector of gauge i, named and described by opts.
func (g *scalerGauges) gauge(i int, opts prometheus.GaugeOpts) *scalerGauge {
	return &scalerGauge{
		g: g, i: i,
		desc: prometheus.NewDesc(prometheus.BuildFQName(opts.Namespace, opts.Subsystem, opts.Name), opts.Help, []string{"scaler"}, nil),
	}
}

// scalerGauge is one gauge of every scaler's row, as a collector.
type scalerGauge struct {
	g    *scalerGauges
	i    int
	desc *prometheus.Desc
}

var _ prometheus.Collector = (*scalerGauge)(nil)

// Set sets the gauge of scaler to v.
func (c *scalerGauge) Set(scaler string, v float64) { c.g.set(scaler, c.i, v) }

func (c *scalerGauge) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *scalerGauge) Collect(ch chan<- prometheus.Metric) {
	type sample struct {
		scaler string
		v      float64
	}
	c.g.mu.RLock()
	out := make([]sample, 0, len(c.g.rows))
	for scaler, r := range c.g.rows {
		if r.set&(1<<c.i) != 0 {
			out = append(out, sample{scaler, r.v[c.i]})
		}
	}
	c.g.mu.RUnlock()
	// Send outside the lock: a slow reader of /metrics must not hold up ticks.
	for _, s := range out {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, s.v, s.scaler)
	}
}
