//go:build integration

package engine

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// countingQuerier passes queries through and keeps the range queries asked.
type countingQuerier struct {
	sources.Querier
	mu      sync.Mutex
	ranges  [][2]time.Time
	points  []int
	instant int
}

func (c *countingQuerier) Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	c.mu.Lock()
	c.instant++
	c.mu.Unlock()
	return c.Querier.Query(ctx, expr, ts)
}

func (c *countingQuerier) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	c.mu.Lock()
	c.ranges = append(c.ranges, [2]time.Time{start.UTC(), end.UTC()})
	c.points = append(c.points, int(end.Sub(start)/step)+1)
	c.mu.Unlock()
	return c.Querier.QueryRange(ctx, expr, start, end, step)
}

func (c *countingQuerier) reset() ([][2]time.Time, []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, p := c.ranges, c.points
	c.ranges, c.points = nil, nil
	return r, p
}

// TestHistoryPagerAgainstRealPrometheus backfills 14 days and 2 hours of
// one-minute load into the real Prometheus and ticks a predictive scaler
// through the end of it on a simulated clock: the first tick fetches the 14
// days in pages of at most 11,000 points, later ticks only the new tail (one
// query of two points per new minute, none within a minute), and the cached
// history is, point for point, what Prometheus holds.
func TestHistoryPagerAgainstRealPrometheus(t *testing.T) {
	const window = 14 * 24 * time.Hour
	const extra = 120 // minutes of history after the first tick's window
	n := int(window/time.Minute) + 1 + extra
	histEnd := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	histStart := histEnd.Add(-time.Duration(n-1) * time.Minute)
	load := make([]scaling.Sample, n)
	for i := range load {
		// A daily cycle plus a ramp: every value differs from its neighbours.
		v := 500 + 300*math.Sin(2*math.Pi*float64(i)/1440) + float64(i)/100
		load[i] = scaling.Sample{Time: histStart.Add(time.Duration(i) * time.Minute), Value: math.Round(v*1000) / 1000}
	}
	began := time.Now()
	srv := promtest.Start(t, promtest.WithHistory("shop_requests_rate", map[string]string{"app": "shop"}, load))
	t.Logf("backfilled %d samples and started in %s", n, time.Since(began))
	prom, err := sources.NewPrometheus(config.Prometheus{URL: srv.URL(), QueryTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	q := &countingQuerier{Querier: prom}

	pred, err := policy.NewPredictive(policy.PredictiveSpec{
		Name: "ahead", Signal: "load", Mode: policy.ForecastOnly, CapacityPerReplica: 100,
		StartupDelay: time.Minute, Lead: time.Minute,
		History: window, Step: time.Minute, MinHistory: 24 * time.Hour,
		Model: "snaive_daily", Quantile: 0.9, RefitEvery: time.Hour, SurpriseRatio: 1.5, Handover: 15 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	dec, errs := policy.NewDecider(policy.Spec{Policies: []policy.Policy{pred}, Bounds: policy.Bounds{Min: 1, Max: 100}}, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	s := NewScaler(ScalerSpec{
		Name: "web", Decider: dec, Actuator: actuators.NewLog(5, nil), Interval: 15 * time.Second, QueryTimeout: 20 * time.Second,
		Signals: []Signal{{Name: "load", Expr: `shop_requests_rate{app="shop"}`, MaxAge: 2 * time.Minute, Source: q}},
	}, nil, nil, nil)

	// want is the window Prometheus holds at now: the samples on the minute
	// grid from now-14d to now, truncated to the minute.
	want := func(now time.Time) []scaling.Sample {
		end := now.Truncate(time.Minute)
		from := int(end.Add(-window).Sub(histStart) / time.Minute)
		to := int(end.Sub(histStart) / time.Minute)
		return load[from : to+1]
	}
	ctx := context.Background()
	tick := func(now time.Time) {
		t.Helper()
		d := s.Tick(ctx, now)
		if d.Error != "" || len(d.Recommendations) != 1 || !strings.HasPrefix(d.Recommendations[0].Reason, "forecastOnly: forecast ") {
			t.Fatalf("tick at %s: %+v: want a forecast over the fetched history", now, d)
		}
		got, w := s.history["load"].hist.Samples(), want(now)
		if len(got) != len(w) {
			t.Fatalf("cached history at %s: %d points, want the %d Prometheus holds", now, len(got), len(w))
		}
		for i := range w {
			// Kept as float32: seven significant digits.
			if !got[i].Time.Equal(w[i].Time) || got[i].Value != float64(float32(w[i].Value)) {
				t.Fatalf("cached history at %s: point %d is %v at %s, Prometheus holds %v at %s",
					now, i, got[i].Value, got[i].Time.UTC(), w[i].Value, w[i].Time.UTC())
			}
		}
	}

	// First tick: the whole window, paged.
	now := histStart.Add(window).Add(20 * time.Second)
	tick(now)
	ranges, points := q.reset()
	first := now.Truncate(time.Minute).Add(-window)
	wantRanges := [][2]time.Time{
		{first, first.Add(10999 * time.Minute)},
		{first.Add(11000 * time.Minute), now.Truncate(time.Minute)},
	}
	if diff := cmp.Diff(wantRanges, ranges); diff != "" {
		t.Fatalf("first tick's range queries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{11000, 9161}, points); diff != "" {
		t.Errorf("points per page (-want +got):\n%s", diff)
	}

	// Then ticks every 15 s through the next 2 hours: one tail query per
	// new minute, re-reading the last point fetched.
	for k := 1; k <= extra*4; k++ {
		prev := now
		now = now.Add(15 * time.Second)
		tick(now)
		ranges, points = q.reset()
		if now.Truncate(time.Minute).Equal(prev.Truncate(time.Minute)) {
			if len(ranges) != 0 {
				t.Fatalf("tick at %s, within the minute of the last fetch: range queries %v, want none", now, ranges)
			}
			continue
		}
		wantTail := [][2]time.Time{{prev.Truncate(time.Minute), now.Truncate(time.Minute)}}
		if diff := cmp.Diff(wantTail, ranges); diff != "" || points[0] != 2 {
			t.Fatalf("tick at %s: range queries (-want +got):\n%s (points %v, want [2])", now, diff, points)
		}
	}
	if q.instant != 1+extra*4 {
		t.Errorf("%d instant queries, want one per tick (%d)", q.instant, 1+extra*4)
	}
}
