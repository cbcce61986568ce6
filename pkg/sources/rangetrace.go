package sources

import (
	"context"
	"fmt"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// RangeTrace is a trace read from a range query, and how it was made.
type RangeTrace struct {
	*Trace
	// Wanted is how many steps the range asked for; Missing how many of
	// those after the first sample Prometheus had no value for (each is
	// filled with the value before it); Leading how many before the first
	// sample (the trace starts at that sample instead).
	Wanted, Missing, Leading int
}

// TraceFromRange reads expr over [start, end] every step through q (which
// pages a long range, as Prometheus.QueryRange does at MaxRangePoints per
// query) and returns it as a Trace. expr must give a load per second, such
// as sum(rate(http_requests_total[1m])): each sample, evaluated at the end
// of a step, becomes that step's count (value x step) at the step's start,
// as a trace file records it.
//
// It fails, naming the query and the range, when there is no data, when a
// value is negative, and when more than half of the steps after the first
// sample are missing: a series that holes is not a workload's history.
func TraceFromRange(ctx context.Context, q Querier, expr string, start, end time.Time, step time.Duration) (*RangeTrace, error) {
	if step <= 0 || step%time.Second != 0 {
		return nil, fmt.Errorf("step: %s: must be a whole number of seconds > 0", durfmt.D(step))
	}
	start, end = start.Truncate(step), end.Truncate(step)
	if !end.After(start) {
		return nil, fmt.Errorf("range: %s to %s: must span at least one step (%s)",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), durfmt.D(step))
	}
	samples, err := q.QueryRange(ctx, expr, start, end, step)
	if err != nil {
		return nil, err
	}
	rt := &RangeTrace{Trace: &Trace{Step: step}, Wanted: int(end.Sub(start)/step) + 1}
	if len(samples) == 0 {
		return nil, fmt.Errorf("%q: no data between %s and %s", expr, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	first := samples[0].Time.Truncate(step)
	rt.Leading = int(first.Sub(start) / step)
	secs := step.Seconds()
	j := 0
	var prev float64
	for t := first; !t.After(end); t = t.Add(step) {
		for j < len(samples) && samples[j].Time.Before(t) {
			j++
		}
		v := prev
		if j < len(samples) && samples[j].Time.Equal(t) {
			v = samples[j].Value
			if v < 0 {
				return nil, fmt.Errorf("%q: value %g at %s: a load must be >= 0", expr, v, t.UTC().Format(time.RFC3339))
			}
		} else {
			rt.Missing++
		}
		prev = v
		rt.Samples = append(rt.Samples, scaling.Sample{Time: t.Add(-step), Value: v * secs})
	}
	if n := len(rt.Samples); rt.Missing*2 > n {
		return nil, fmt.Errorf("%q: %d of %d steps of %s between %s and %s have no value: want a series that is there at least half the time",
			expr, rt.Missing, n, durfmt.D(step), first.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	if len(rt.Samples) < 2 {
		return nil, fmt.Errorf("%q: one step of data between %s and %s: want at least two", expr,
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	return rt, nil
}
