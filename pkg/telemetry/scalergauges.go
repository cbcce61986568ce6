package telemetry

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The series every scaler has -- the gauges labelled by scaler alone
// (scaled_desired_replicas, scaled_tick_lag_seconds...) and its counts of
// decisions by direction and outcome -- are kept as one row of numbers per
// scaler and made into series only when /metrics is read. A vector's child
// costs 350 to 500 bytes (its label pairs, its map entry, a counter's
// creation time); eleven per scaler are 45 MB of live heap at 10,000
// scalers, and a row is about 300 bytes.
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
	// decisions are the scaler's counts by direction and outcome, in the
	// order first seen: the four InitScaler makes, and any other that happens.
	decisions []decisionCount
}

// decisionCount is one series of scaled_decisions_total.
type decisionCount struct {
	direction, outcome string
	n                  float64
	created            int64 // Unix nanoseconds, the counter's creation time
}

// scalerGauges holds every scaler's row. It is safe for concurrent use.
type scalerGauges struct {
	mu   sync.RWMutex
	rows map[string]*scalerRow
}

func newScalerGauges() *scalerGauges {
	return &scalerGauges{rows: map[string]*scalerRow{}}
}

// row is scaler's row, made when it is new; g.mu is held for writing.
func (g *scalerGauges) row(scaler string) *scalerRow {
	r := g.rows[scaler]
	if r == nil {
		r = &scalerRow{}
		g.rows[scaler] = r
	}
	return r
}

func (g *scalerGauges) set(scaler string, i int, v float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.row(scaler)
	r.v[i] = v
	r.set |= 1 << i
}

// count adds n to the decisions of scaler by direction and outcome,
// making the series at 0 when it is new; n is 0 or 1.
func (g *scalerGauges) count(scaler, direction, outcome string, n float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.row(scaler)
	for i := range r.decisions {
		if c := &r.decisions[i]; c.direction == direction && c.outcome == outcome {
			c.n += n
			return
		}
	}
	if r.decisions == nil {
		r.decisions = make([]decisionCount, 0, 4)
	}
	r.decisions = append(r.decisions, decisionCount{direction: direction, outcome: outcome, n: n, created: time.Now().UnixNano()})
}

// forget deletes a scaler's row: every series of it is gone.
func (g *scalerGauges) forget(scaler string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.rows, scaler)
}

// forgetSet deletes the rows of every scaler in set.
func (g *scalerGauges) forgetSet(set map[string]bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s := range set {
		delete(g.rows, s)
	}
}

// gauge returns the collector of gauge i, with its name and help.
func (g *scalerGauges) gauge(i int, name, help string) *scalerGauge {
	return &scalerGauge{g: g, i: i, desc: prometheus.NewDesc(name, help, []string{"scaler"}, nil)}
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

// decisionCounter is scaled_decisions_total of every scaler's row, as a collector.
type decisionCounter struct {
	g    *scalerGauges
	desc *prometheus.Desc
}

var _ prometheus.Collector = (*decisionCounter)(nil)

func (g *scalerGauges) decisionCounter(name, help string) *decisionCounter {
	return &decisionCounter{g: g, desc: prometheus.NewDesc(name, help, []string{"scaler", "direction", "outcome"}, nil)}
}

// Inc counts one decision of scaler.
func (c *decisionCounter) Inc(scaler, direction, outcome string) {
	c.g.count(scaler, direction, outcome, 1)
}

// Init makes the series of scaler, direction and outcome at 0 if it is new.
func (c *decisionCounter) Init(scaler, direction, outcome string) {
	c.g.count(scaler, direction, outcome, 0)
}

func (c *decisionCounter) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *decisionCounter) Collect(ch chan<- prometheus.Metric) {
	type sample struct {
		scaler string
		decisionCount
	}
	c.g.mu.RLock()
	out := make([]sample, 0, len(c.g.rows)*4)
	for scaler, r := range c.g.rows {
		for _, d := range r.decisions {
			out = append(out, sample{scaler, d})
		}
	}
	c.g.mu.RUnlock()
	for _, s := range out {
		ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(c.desc, prometheus.CounterValue, s.n, time.Unix(0, s.created), s.scaler, s.direction, s.outcome)
	}
}
