package simulate

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// trace builds a trace with the given step and values, starting at unix 0.
func trace(step time.Duration, values ...float64) *sources.Trace {
	tr := &sources.Trace{Step: step}
	for i, v := range values {
		tr.Samples = append(tr.Samples, scaling.Sample{Time: time.Unix(0, 0).Add(time.Duration(i) * step).UTC(), Value: v})
	}
	return tr
}

func mustModel(t testing.TB, tr *sources.Trace, p Params) *Model {
	t.Helper()
	m, err := NewModel(tr, p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestParamsC(t *testing.T) {
	if got := DefaultParams().C(); math.Abs(got-7.004) > 0.0005 {
		t.Fatalf("C() = %v, want 7.004 (mu - ln 20 / L)", got)
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Params)
		want string
	}{
		{"mu", func(p *Params) { p.Mu = 0 }, "mu: 0: must be a finite number > 0"},
		{"L", func(p *Params) { p.L = -1 }, "L: -1: must be a finite number > 0"},
		{"L too tight", func(p *Params) { p.L = 0.2 }, "L: 0.2: must be > ln(20)/mu"},
		{"S", func(p *Params) { p.S = -time.Second }, "S: -1s: must be >= 0"},
		{"T", func(p *Params) { p.T = 0 }, "T: 0s: must be > 0"},
		{"m", func(p *Params) { p.M = math.NaN() }, "m: NaN: must be a finite number > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			tc.edit(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
}

func TestNewModelRefusesAllZeroTrace(t *testing.T) {
	_, err := NewModel(trace(time.Minute, 0, 0, 0), DefaultParams())
	if err == nil || !strings.Contains(err.Error(), "every value is 0") {
		t.Fatalf("err = %v, want an all-zero trace refused", err)
	}
}

func TestDemandScalesByMedianNonZeroRate(t *testing.T) {
	p := DefaultParams()
	c := p.C()
	for _, tc := range []struct {
		name   string
		values []float64
		median float64 // req/s
	}{
		// Zeros are left out: the non-zero rates are 1, 2, 4 req/s.
		{"odd count", []float64{0, 60, 120, 240}, 2},
		// Even count: the mean of the two middle rates 2 and 4.
		{"even count", []float64{60, 120, 240, 480}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, trace(time.Minute, tc.values...), p)
			if got, want := m.Ticks(), 4*len(tc.values); got != want {
				t.Fatalf("Ticks() = %d, want %d (60 s steps on a 15 s grid)", got, want)
			}
			k := p.M * c / tc.median
			if !near(m.Scale(), k) {
				t.Errorf("Scale() = %v, want %v", m.Scale(), k)
			}
			for i := range m.Ticks() {
				// A step of 60 s holds its rate on all four of its ticks.
				want := k * tc.values[i/4] / 60
				if !near(m.Demand(i), want) {
					t.Errorf("Demand(%d) = %v, want %v", i, m.Demand(i), want)
				}
			}
		})
	}
}

func TestMedianStepHasLoadExactlyM(t *testing.T) {
	// The median minute needs exactly m replicas: no ulp above, which would
	// make the oracle pay for one more replica and N = m replicas violate.
	m := mustModel(t, trace(time.Minute, 7, 31, 31, 31, 95), DefaultParams())
	if got := m.Load(4); got != 10 {
		t.Fatalf("Load at the median = %v, want exactly 10", got)
	}
	if got := m.OracleReplicasAt(4); got != 10 {
		t.Errorf("OracleReplicasAt(median) = %d, want 10", got)
	}
	if m.ViolatesAt(4, 10) {
		t.Errorf("10 replicas at a demand of exactly 10c violate; want p95 = L to meet the SLO")
	}
	if !m.ViolatesAt(4, 9) {
		t.Errorf("9 replicas at 10c do not violate; want a violation")
	}
}

func TestDemandInterpolatesCoarseSteps(t *testing.T) {
	p := DefaultParams()
	m := mustModel(t, trace(time.Hour, 3600, 7200, 3600), p) // 1, 2, 1 req/s
	k := p.M * p.C() / 1                                     // median of 1, 1, 2
	for _, tc := range []struct {
		tick int
		rate float64
	}{
		{0, 1},
		{1, 1 + 15.0/3600},
		{120, 1.5}, // half an hour in
		{240, 2},   // the second step's start
		{360, 1.5},
		{480, 1},
		{719, 1}, // the last step has no next start: it holds
	} {
		if got, want := m.Demand(tc.tick), k*tc.rate; !near(got, want) {
			t.Errorf("Demand(%d) = %v, want %v (rate %v)", tc.tick, got, want, tc.rate)
		}
	}
	if m.Ticks() != 720 {
		t.Errorf("Ticks() = %d, want 720", m.Ticks())
	}
}

func TestP95AndUtilisation(t *testing.T) {
	p := DefaultParams()
	for _, tc := range []struct {
		demand  float64
		ready   int32
		p95     float64
		utilise float64
	}{
		{0, 1, math.Log(20) / 10, 0},
		{50, 10, math.Log(20) / 5, 0.5},
		{70, 10, math.Log(20) / 3, 0.7},
		{100, 10, math.Inf(1), 1},        // lambda/N = mu: saturated
		{150, 10, math.Inf(1), 1.5},      // beyond saturation
		{5, 0, math.Inf(1), math.Inf(1)}, // nobody ready
		{0, 0, math.Inf(1), 0},
	} {
		t.Run(fmt.Sprintf("%v/%d", tc.demand, tc.ready), func(t *testing.T) {
			if got := p.P95(tc.demand, tc.ready); !(got == tc.p95 || near(got, tc.p95)) {
				t.Errorf("P95 = %v, want %v", got, tc.p95)
			}
			if got := p.Utilisation(tc.demand, tc.ready); !(got == tc.utilise || near(got, tc.utilise)) {
				t.Errorf("Utilisation = %v, want %v", got, tc.utilise)
			}
		})
	}
}

func TestOracle(t *testing.T) {
	p := DefaultParams()
	c := p.C()
	for _, tc := range []struct {
		demand float64
		want   int32
	}{{0, 1}, {0.5 * c, 1}, {1.01 * c, 2}, {20.5 * c, 21}} {
		if got := p.OracleReplicas(tc.demand); got != tc.want {
			t.Errorf("OracleReplicas(%v) = %d, want %d", tc.demand, got, tc.want)
		}
	}
	m := mustModel(t, trace(time.Minute, 0, 60, 300), p) // loads 0, 10/3, 50/3
	for i, want := range map[int]int32{0: 1, 4: 4, 8: 17} {
		if got := m.OracleReplicasAt(i); got != want {
			t.Errorf("OracleReplicasAt(%d) = %d, want %d", i, got, want)
		}
	}
}

func TestObservedDemandIsThePastMinute(t *testing.T) {
	p := DefaultParams()
	m := mustModel(t, trace(time.Minute, 60, 120, 180), p) // 4 ticks at each rate
	k := m.Scale()
	for _, tc := range []struct {
		tick, n int
		rate    float64
	}{
		{1, 1, 1},             // clipped at the start
		{3, 3, 1},             // ticks 0..2
		{4, 4, 1},             // ticks 0..3: the whole first minute, not tick 4
		{5, 4, (3 + 2) / 4.0}, // ticks 1..4
		{8, 4, 2},             // ticks 4..7
		{10, 4, (2*2 + 3*2) / 4.0},
	} {
		got, n := m.ObservedDemand(tc.tick)
		if n != tc.n || !near(got, k*tc.rate) {
			t.Errorf("ObservedDemand(%d) = %v over %d ticks, want %v over %d", tc.tick, got, n, k*tc.rate, tc.n)
		}
	}
	if got, n := m.ObservedDemand(0); n != 0 || !math.IsNaN(got) {
		t.Errorf("ObservedDemand(0) = %v over %d ticks, want nothing observed", got, n)
	}
}
