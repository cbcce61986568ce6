package simulate

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

var calStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func series(step time.Duration, values ...float64) []scaling.Sample {
	out := make([]scaling.Sample, len(values))
	for i, v := range values {
		out[i] = scaling.Sample{Time: calStart.Add(time.Duration(i) * step), Value: v}
	}
	return out
}

// A service that is exactly M/M/1 per replica gives back its mu, and c at
// any SLO follows from it.
func TestEstimateCapacityRecoversAnMM1Service(t *testing.T) {
	const mu = 20.0
	var req, ready, p95 []float64
	for i := range 200 {
		n := float64(2 + i%5)
		x := 1 + 10*float64(i)/200 // 1 to 11 req/s per replica
		req, ready, p95 = append(req, x*n), append(ready, n), append(p95, math.Log(20)/(mu-x))
	}
	e, err := EstimateCapacity(series(15*time.Second, req...), series(15*time.Second, ready...), series(15*time.Second, p95...), 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(e.Mu-mu) > 1e-9 || math.Abs(e.MuLow-mu) > 1e-9 || math.Abs(e.MuHigh-mu) > 1e-9 {
		t.Errorf("mu = %v (%v..%v), want %v exactly", e.Mu, e.MuLow, e.MuHigh, mu)
	}
	if want := mu - math.Log(20)/0.25; math.Abs(e.C-want) > 1e-9 || math.Abs(e.UtilisationAtSLO-want/mu) > 1e-9 {
		t.Errorf("c = %v at utilisation %v, want %v at %v", e.C, e.UtilisationAtSLO, want, want/mu)
	}
	if e.Usable != 200 || e.Points != 50 || e.BusiestFrom < 8.4 || e.BusiestTo < 10.9 {
		t.Errorf("fit on %d of %d points spanning %v..%v req/s, want the busiest 50 of 200 (8.5..11)", e.Points, e.Usable, e.BusiestFrom, e.BusiestTo)
	}
	// The busiest points are around 0.28 s against 0.25: the data reached the SLO.
	if !(e.BusiestP95OverSLO > 1 && e.BusiestP95OverSLO < 1.4) {
		t.Errorf("busiest p95 over SLO = %v, want just above 1", e.BusiestP95OverSLO)
	}
}

// Points without traffic, without a ready replica, or with no latency (a
// histogram_quantile over no requests) are left out, not read as zero.
func TestEstimateCapacityLeavesOutUnusablePoints(t *testing.T) {
	const mu = 10.0
	var req, ready, p95 []float64
	for i := range 40 {
		x := 2 + float64(i%7)
		req, ready, p95 = append(req, 3*x), append(ready, 3), append(p95, math.Log(20)/(mu-x))
	}
	req[0], ready[1], p95[2], p95[3] = 0, 0, math.NaN(), math.Inf(1)
	e, err := EstimateCapacity(series(time.Minute, req...), series(time.Minute, ready...), series(time.Minute, p95...), 1)
	if err != nil {
		t.Fatal(err)
	}
	if e.Usable != 36 || math.Abs(e.Mu-mu) > 1e-9 {
		t.Errorf("usable %d, mu %v; want 36 and %v", e.Usable, e.Mu, mu)
	}
	// A point missing from one series is left out too.
	short := series(time.Minute, ready...)[:30]
	if e, err := EstimateCapacity(series(time.Minute, req...), short, series(time.Minute, p95...), 1); err != nil || e.Usable != 26 {
		t.Errorf("with 10 ready points missing: usable %d, %v; want 26", e.Usable, err)
	}
}

func TestEstimateCapacityRefuses(t *testing.T) {
	few := series(time.Minute, 1, 2, 3)
	if _, err := EstimateCapacity(few, few, few, 1); err == nil || !strings.Contains(err.Error(), "3 points") {
		t.Errorf("3 points: err = %v, want one naming the count", err)
	}
	if _, err := EstimateCapacity(few, few, few, -1); err == nil || !strings.Contains(err.Error(), "slo: -1") {
		t.Errorf("slo -1: err = %v", err)
	}
	// p95 of 1 s at no load: mu is about 3, and no load at all meets 0.5 s.
	var req, ready, p95 []float64
	for range 30 {
		req, ready, p95 = append(req, 0.5), append(ready, 1), append(p95, math.Log(20)/(3-0.5))
	}
	if _, err := EstimateCapacity(series(time.Minute, req...), series(time.Minute, ready...), series(time.Minute, p95...), 0.5); err == nil ||
		!strings.Contains(err.Error(), "cannot meet a p95 of 0.5s") {
		t.Errorf("an SLO below the no-load latency: err = %v", err)
	}
}

// Each rise of the requested count is timed to the first point at which the
// ready count reaches it; rises undone first, or never reached, are counted
// apart.
func TestEstimateStartup(t *testing.T) {
	step := 15 * time.Second
	requested := series(step, 2, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 9, 5, 5, 5, 8, 8)
	ready := series(step, 2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6, 5, 5, 5, 5, 5)
	e, err := EstimateStartup(requested, ready)
	if err != nil {
		t.Fatal(err)
	}
	// 2 -> 4 at point 1, ready at point 6: 75 s. 4 -> 6 at point 8, ready at
	// point 10: 30 s. 6 -> 9 at 13 is undone at 14; 5 -> 8 at 17 never ready.
	if e.ScaleUps != 2 || e.Abandoned != 1 || e.Unfinished != 1 {
		t.Errorf("timed %d, undone %d, unfinished %d; want 2, 1, 1", e.ScaleUps, e.Abandoned, e.Unfinished)
	}
	if e.Median != 52500*time.Millisecond || e.P90 != 70500*time.Millisecond {
		t.Errorf("median %s, p90 %s; want 52.5s (between 30 s and 75 s) and 70.5s", e.Median, e.P90)
	}
	if _, err := EstimateStartup(series(step, 3, 3, 3), series(step, 3, 3, 3)); err == nil || !strings.Contains(err.Error(), "no scale-up") {
		t.Errorf("no rise: err = %v", err)
	}
}

func TestMedianReplicas(t *testing.T) {
	if m, err := MedianReplicas(series(time.Minute, 0, 2, 4, 6, 9)); err != nil || m != 5 {
		t.Errorf("median = %v, %v; want 5 (zero left out)", m, err)
	}
	if _, err := MedianReplicas(series(time.Minute, 0, 0)); err == nil {
		t.Error("no ready replica: want an error")
	}
}
