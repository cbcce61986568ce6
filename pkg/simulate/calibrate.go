package simulate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/scaled-dev/scaled/pkg/forecast"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Calibration sets the model to one service from its own measurements: the
// requests it serves per ready replica against its p95 latency give mu (and
// so c at the service's SLO), and the time from a scale-up to ready replicas
// gives S. The functions are pure: the caller reads the series (`scaled
// calibrate` reads them from Prometheus with range queries on one step grid).

// MinCapacityPoints is the fewest joined points EstimateCapacity fits on.
const MinCapacityPoints = 20

// CapacityEstimate is mu and c fitted to a service's measurements.
type CapacityEstimate struct {
	// Mu is the M/M/1 service rate per replica: the median, over the busiest
	// quarter of the points, of x + ln(20)/p95, which is mu exactly when each
	// replica is M/M/1 at x requests/s.
	Mu float64 `json:"mu"`
	// MuLow and MuHigh bound the middle half of those per-point estimates: a
	// wide range says the service is not close to the model.
	MuLow  float64 `json:"mu_low"`
	MuHigh float64 `json:"mu_high"`
	// SLO is the p95 objective in seconds, and C the requests/s one replica
	// serves with p95 at the SLO: mu - ln(20)/SLO.
	SLO float64 `json:"slo_seconds"`
	C   float64 `json:"capacity_per_replica"`
	// UtilisationAtSLO is C/Mu, the utilisation at which a replica reaches
	// the SLO (0.70 in the reference model).
	UtilisationAtSLO float64 `json:"utilisation_at_slo"`
	// Points is how many points the fit used (the busiest quarter), of
	// Usable joined points with traffic, a ready replica and a latency.
	Points int `json:"points"`
	Usable int `json:"usable_points"`
	// BusiestFrom and BusiestTo are the requests/s per ready replica the
	// busiest quarter spans; BusiestP95OverSLO is its median p95 over the
	// SLO. Well below 1, the fit extrapolates to the SLO along the model's
	// queueing curve rather than measuring it.
	BusiestFrom       float64 `json:"busiest_from"`
	BusiestTo         float64 `json:"busiest_to"`
	BusiestP95OverSLO float64 `json:"busiest_p95_over_slo"`
}

// EstimateCapacity fits mu to three series on one time grid: requests/s of
// the whole service, its ready replicas, and its p95 latency in seconds.
// Points missing from any series, and points with no traffic, no ready
// replica or a latency that is not a finite number > 0, are left out. slo is
// the service's p95 objective in seconds.
func EstimateCapacity(requests, ready, p95 []scaling.Sample, slo float64) (CapacityEstimate, error) {
	if !(slo > 0) || math.IsInf(slo, 0) {
		return CapacityEstimate{}, fmt.Errorf("slo: %v: must be a finite number of seconds > 0", slo)
	}
	type point struct{ x, p95 float64 }
	var pts []point
	for _, j := range join(requests, ready, p95) {
		r, n, l := j.v[0], j.v[1], j.v[2]
		if !(r > 0) || !(n >= 1) || !(l > 0) || math.IsInf(r, 0) || math.IsInf(n, 0) || math.IsInf(l, 0) {
			continue
		}
		pts = append(pts, point{x: r / n, p95: l})
	}
	if len(pts) < MinCapacityPoints {
		return CapacityEstimate{}, fmt.Errorf("%d points with traffic, a ready replica and a latency at the same time: want at least %d (a longer range or a finer step)", len(pts), MinCapacityPoints)
	}
	slices.SortFunc(pts, func(a, b point) int { return cmp.Compare(a.x, b.x) })
	busiest := pts[len(pts)-max(MinCapacityPoints/2, len(pts)/4):]
	mus := make([]float64, len(busiest))
	over := make([]float64, len(busiest))
	for i, p := range busiest {
		mus[i] = p.x + ln20/p.p95
		over[i] = p.p95 / slo
	}
	slices.Sort(mus)
	e := CapacityEstimate{
		Mu: forecast.Quantile(mus, 0.5), MuLow: forecast.Quantile(mus, 0.25), MuHigh: forecast.Quantile(mus, 0.75),
		SLO: slo, Points: len(busiest), Usable: len(pts),
		BusiestFrom: busiest[0].x, BusiestTo: busiest[len(busiest)-1].x,
		BusiestP95OverSLO: median(over),
	}
	e.C = e.Mu - ln20/slo
	e.UtilisationAtSLO = e.C / e.Mu
	if !(e.C > 0) {
		return e, fmt.Errorf("the fitted mu %.4g req/s per replica cannot meet a p95 of %gs at any load (that needs mu > ln(20)/slo = %.4g): the SLO is tighter than the service's latency with no queue", e.Mu, slo, ln20/slo)
	}
	return e, nil
}

// StartupEstimate is the time from a scale-up to the replicas being ready.
type StartupEstimate struct {
	Median time.Duration `json:"median_seconds"`
	P90    time.Duration `json:"p90_seconds"`
	// ScaleUps is how many rises of the requested count were timed;
	// Unfinished how many more never reached their ready count in the
	// range, and Abandoned how many were undone (the request fell below
	// it) first.
	ScaleUps   int `json:"scale_ups"`
	Unfinished int `json:"unfinished"`
	Abandoned  int `json:"abandoned"`
}

// EstimateStartup times every rise of the requested replicas to the first
// point at which the ready replicas reach the new count, on the series'
// common grid: each time is a whole number of steps, within a step of the
// truth.
func EstimateStartup(requested, ready []scaling.Sample) (StartupEstimate, error) {
	pts := join(requested, ready)
	var e StartupEstimate
	var delays []float64
rises:
	for k := 1; k < len(pts); k++ {
		want := pts[k].v[0]
		if !(want > pts[k-1].v[0]) {
			continue
		}
		for j := k; j < len(pts); j++ {
			switch {
			case pts[j].v[0] < want:
				e.Abandoned++
				continue rises
			case pts[j].v[1] >= want:
				delays = append(delays, pts[j].t.Sub(pts[k].t).Seconds())
				continue rises
			}
		}
		e.Unfinished++
	}
	e.ScaleUps = len(delays)
	if len(delays) == 0 {
		return e, fmt.Errorf("no scale-up reached its ready count in %d joined points (%d unfinished, %d undone first): want a range in which the service scaled up", len(pts), e.Unfinished, e.Abandoned)
	}
	slices.Sort(delays)
	e.Median = time.Duration(forecast.Quantile(delays, 0.5) * float64(time.Second))
	e.P90 = time.Duration(forecast.Quantile(delays, 0.9) * float64(time.Second))
	return e, nil
}

// MedianReplicas is the median of a replica series: the m (--median-replicas)
// at which to replay another trace as if it were the service's own load.
func MedianReplicas(ready []scaling.Sample) (float64, error) {
	var v []float64
	for _, s := range ready {
		if s.Value >= 1 && !math.IsInf(s.Value, 0) {
			v = append(v, s.Value)
		}
	}
	if len(v) == 0 {
		return 0, errors.New("no point with a ready replica")
	}
	return median(v), nil
}

// joined is one time with a value from every series.
type joined struct {
	t time.Time
	v []float64
}

// join keeps the times present in every series (range queries on one grid
// share their times exactly), in time order, with each series' value.
func join(series ...[]scaling.Sample) []joined {
	if len(series) == 0 {
		return nil
	}
	at := make([]map[int64]float64, len(series))
	for i, s := range series {
		at[i] = make(map[int64]float64, len(s))
		for _, p := range s {
			at[i][p.Time.UnixMilli()] = p.Value
		}
	}
	var out []joined
	for _, p := range series[0] {
		j := joined{t: p.Time, v: make([]float64, len(series))}
		ok := true
		for i := range series {
			v, found := at[i][p.Time.UnixMilli()]
			if !found || math.IsNaN(v) {
				ok = false
				break
			}
			j.v[i] = v
		}
		if ok {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b joined) int { return a.t.Compare(b.t) })
	return out
}
