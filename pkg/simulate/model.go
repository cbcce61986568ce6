package simulate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// ObservationWindow is how far back a policy looks at tick t: the mean over
// [t-ObservationWindow, t), as Prometheus' rate(x[1m]) would show it.
const ObservationWindow = 60 * time.Second

// heldStepMax is the coarsest trace step whose rate is held for the whole
// step; coarser steps are interpolated linearly between step starts.
const heldStepMax = 60 * time.Second

// ln20 is -ln(0.05): the p95 of an exponential sojourn time is ln(20)/(mu-lambda).
var ln20 = math.Log(20)

// Params are the model's parameters (docs/model.md, "Parameters").
type Params struct {
	Mu float64       // requests/s one replica serves (M/M/1 service rate)
	L  float64       // SLO: p95 latency must stay at or below L seconds
	S  time.Duration // startup delay: a replica requested at t is ready at t+S
	T  time.Duration // decision tick and evaluation grid
	M  float64       // demand scale: the median non-zero rate needs M replicas at the SLO
}

// DefaultParams are the reference parameters: mu 10, L 1 s, S 60 s, T 15 s, m 10.
func DefaultParams() Params {
	return Params{Mu: 10, L: 1, S: 60 * time.Second, T: 15 * time.Second, M: 10}
}

// MuForCapacity is the service rate at which one replica serves c requests/s
// with p95 exactly L: mu = c + ln(20)/L. It states the model in the terms a
// service is measured in (requests per replica at the SLO) rather than in
// the M/M/1 rate.
func MuForCapacity(c, L float64) float64 { return c + ln20/L }

// C is the per-replica SLO capacity mu - ln(20)/L: the highest demand one
// replica serves with p95 <= L.
func (p Params) C() float64 { return p.Mu - ln20/p.L }

// Validate reports every bad parameter, each naming the field, its value and
// what is allowed.
func (p Params) Validate() error {
	var errs []error
	if !(p.Mu > 0) || math.IsInf(p.Mu, 0) {
		errs = append(errs, fmt.Errorf("mu: %v: must be a finite number > 0", p.Mu))
	}
	if !(p.L > 0) || math.IsInf(p.L, 0) {
		errs = append(errs, fmt.Errorf("L: %v: must be a finite number > 0", p.L)) //nolint:staticcheck // L is the model's symbol for the SLO
	}
	if len(errs) == 0 && !(p.C() > 0) {
		errs = append(errs, fmt.Errorf("L: %v: must be > ln(20)/mu = %.4g so that a replica can meet the SLO at all", p.L, ln20/p.Mu)) //nolint:staticcheck // the model's symbol
	}
	if p.S < 0 {
		errs = append(errs, fmt.Errorf("S: %s: must be >= 0", durfmt.D(p.S))) //nolint:staticcheck // the model's symbol
	}
	if p.T <= 0 {
		errs = append(errs, fmt.Errorf("T: %s: must be > 0", durfmt.D(p.T))) //nolint:staticcheck // the model's symbol
	}
	if !(p.M > 0) || math.IsInf(p.M, 0) {
		errs = append(errs, fmt.Errorf("m: %v: must be a finite number > 0", p.M))
	}
	return errors.Join(errs...)
}

// P95 is the p95 latency in seconds of N ready replicas, each an M/M/1 queue
// at demand/N: ln(20)/(mu - demand/N), +Inf when demand/N >= mu or N = 0.
func (p Params) P95(demand float64, ready int32) float64 {
	if ready <= 0 {
		return math.Inf(1)
	}
	per := demand / float64(ready)
	if per >= p.Mu {
		return math.Inf(1)
	}
	return ln20 / (p.Mu - per)
}

// Utilisation is demand/(N*mu); with N = 0 it is +Inf under any demand and 0
// without.
func (p Params) Utilisation(demand float64, ready int32) float64 {
	if ready <= 0 {
		if demand > 0 {
			return math.Inf(1)
		}
		return 0
	}
	return demand / (float64(ready) * p.Mu)
}

// OracleReplicas is max(1, ceil(demand/c)): the fewest replicas that keep
// p95 <= L at this demand.
func (p Params) OracleReplicas(demand float64) int32 {
	return max(1, int32(math.Ceil(demand/p.C())))
}

// Model is a trace turned into demand (req/s) at every tick of the T grid.
// It is immutable once built and may be shared by concurrent runs.
//
// Demand is kept as load: demand in units of c, the replicas it needs at the
// SLO. A step whose rate is the median has load exactly m (rate/median is 1
// with no rounding), so the many ticks that sit exactly on the SLO boundary
// (demand = N*c, p95 = L, which meets the SLO) are scored the same whatever
// order the arithmetic takes; computed as k*rate they fall an ulp either side.
type Model struct {
	Params
	start time.Time
	scale float64   // k = m*c/median(non-zero rate)
	load  []float64 // demand/c at tick i, i.e. at start + i*T
}

// NewModel scales and grids a trace. The grid starts at the trace's first
// timestamp and covers [first, last+step): floor(len*step/T) ticks.
func NewModel(tr *sources.Trace, p Params) (*Model, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if tr == nil || len(tr.Samples) < 2 || tr.Step <= 0 {
		return nil, errors.New("trace: want at least 2 samples with a regular step > 0")
	}
	step := tr.Step.Seconds()
	rates := make([]float64, len(tr.Samples))
	var nonZero []float64
	for i, s := range tr.Samples {
		if s.Value < 0 || math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			return nil, fmt.Errorf("trace sample %d (%s): value %v: want a finite number >= 0", i, s.Time.UTC().Format(time.RFC3339), s.Value)
		}
		rates[i] = s.Value / step
		if rates[i] > 0 {
			nonZero = append(nonZero, rates[i])
		}
	}
	if len(nonZero) == 0 {
		return nil, errors.New("trace: every value is 0: want at least one non-zero value to scale demand by")
	}
	med := median(nonZero)
	span := time.Duration(len(rates)) * tr.Step
	n := int(span / p.T)
	if n == 0 {
		return nil, fmt.Errorf("T: %s: longer than the whole trace (%s): want at least one tick", durfmt.D(p.T), durfmt.D(span)) //nolint:staticcheck // the model's symbol
	}
	m := &Model{Params: p, start: tr.Samples[0].Time, scale: p.M * p.C() / med, load: make([]float64, n)}
	held := tr.Step <= heldStepMax
	for i := range m.load {
		at := time.Duration(i) * p.T
		j := int(at / tr.Step)
		r := rates[j]
		if !held && j+1 < len(rates) {
			frac := float64(at-time.Duration(j)*tr.Step) / float64(tr.Step)
			r += (rates[j+1] - r) * frac
		}
		m.load[i] = p.M * (r / med)
	}
	return m, nil
}

// median of a non-empty slice; it sorts the slice.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Ticks is the number of ticks on the grid.
func (m *Model) Ticks() int { return len(m.load) }

// Start is the time of tick 0 (the trace's first timestamp).
func (m *Model) Start() time.Time { return m.start }

// TickTime is the time of tick i.
func (m *Model) TickTime(i int) time.Time { return m.start.Add(time.Duration(i) * m.T) }

// TickFrom is the index of the first tick at or after t. It fails when t is
// after the last tick, or before the first: scoring from there would score
// nothing, or would claim a history the trace does not have.
func (m *Model) TickFrom(t time.Time) (int, error) {
	last := m.TickTime(m.Ticks() - 1)
	if t.Before(m.start) || t.After(last) {
		return 0, fmt.Errorf("%s: outside the trace's ticks (%s to %s)", t.UTC().Format(time.RFC3339),
			m.start.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	}
	d := t.Sub(m.start)
	i := int(d / m.T)
	if time.Duration(i)*m.T < d {
		i++
	}
	return i, nil
}

// Scale is k, the factor from trace rate to demand.
func (m *Model) Scale() float64 { return m.scale }

// Demand is the demand in req/s at tick i.
func (m *Model) Demand(i int) float64 { return m.load[i] * m.C() }

// Load is the demand at tick i in units of c: the replicas it needs at the SLO
// before rounding up.
func (m *Model) Load(i int) float64 { return m.load[i] }

// OracleReplicasAt is max(1, ceil(demand/c)) at tick i, computed from the
// load so that a demand of exactly N*c needs N replicas.
func (m *Model) OracleReplicasAt(i int) int32 { return max(1, int32(math.Ceil(m.load[i]))) }

// ViolatesAt reports whether tick i breaks the SLO with ready replicas:
// p95 > L, i.e. demand > ready*c, or no replica at all.
func (m *Model) ViolatesAt(i int, ready int32) bool {
	return ready <= 0 || m.load[i] > float64(ready)
}

// windowTicks is how many ticks fall in [t-ObservationWindow, t): the ticks
// t-T, t-2T, ... down to t-ObservationWindow. A tick coarser than the window
// still sees the one tick before it.
func (m *Model) windowTicks() int {
	return max(1, int(ObservationWindow/m.T))
}

// ObservedDemand is the mean demand over the ticks in [t_i - 60 s, t_i)
// (with T = 15 s: ticks i-4..i-1), clipped at the start of the trace. The
// second result is the number of ticks averaged; it is 0 at tick 0, where
// nothing has been observed yet.
func (m *Model) ObservedDemand(i int) (float64, int) {
	load, n := m.observedLoad(i)
	return load * m.C(), n
}

// observedLoad is ObservedDemand in units of c.
func (m *Model) observedLoad(i int) (float64, int) {
	lo := max(0, i-m.windowTicks())
	if lo >= i {
		return math.NaN(), 0
	}
	var sum float64
	for _, x := range m.load[lo:i] {
		sum += x
	}
	return sum / float64(i-lo), i - lo
}
