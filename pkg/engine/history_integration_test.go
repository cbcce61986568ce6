//go:build integration

package engine

import (
	"context"
	"fmt"
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

	dec := predictiveDecider(t, shopForecast(window), 100)
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

// TestFleetReadsEachHistoryOnceAndThenOnlyNewPoints: 20 predictive scalers
// with the same history query, each ticking at its own phase through the
// process's Sharing against the real Prometheus, for two hours and more
// (two refits of each, spread over the hour): the window is read once for
// all of them, paged, and then only the points since the last one read,
// one query of two points a minute for the whole fleet.
func TestFleetReadsEachHistoryOnceAndThenOnlyNewPoints(t *testing.T) {
	const window = 14 * 24 * time.Hour
	const extra = 140 // minutes after the first tick
	n := int(window/time.Minute) + 1 + extra
	histEnd := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	histStart := histEnd.Add(-time.Duration(n-1) * time.Minute)
	load := make([]scaling.Sample, n)
	for i := range load {
		v := 500 + 300*math.Sin(2*math.Pi*float64(i)/1440) + float64(i%7)
		load[i] = scaling.Sample{Time: histStart.Add(time.Duration(i) * time.Minute), Value: v}
	}
	srv := promtest.Start(t, promtest.WithHistory("shop_requests_rate", map[string]string{"app": "shop"}, load))
	prom, err := sources.NewPrometheus(config.Prometheus{URL: srv.URL(), QueryTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	q := &countingQuerier{Querier: prom}
	view := sources.NewSharing(q).Every(15 * time.Second)
	hs := NewHistories()
	fleet := make([]*Scaler, 20)
	for i := range fleet {
		name := fmt.Sprintf("shop/web-%d", i)
		dec := predictiveDecider(t, shopForecast(window), 100)
		dec.SpreadRefits(name) // as the daemon's Manager does
		fleet[i] = NewScaler(ScalerSpec{
			Name: name, Decider: dec, Actuator: actuators.NewLog(5, nil), Interval: 30 * time.Second,
			QueryTimeout: 20 * time.Second, Histories: hs,
			Signals: []Signal{{Name: "load", Expr: `shop_requests_rate{app="shop"}`, MaxAge: 2 * time.Minute, Source: view}},
		}, nil, nil, nil)
	}

	first := histStart.Add(window).Add(10 * time.Second)
	var points, queries int
	for k := 0; k < extra*2; k++ { // every 30 s
		base := first.Add(time.Duration(k) * 30 * time.Second)
		for i, s := range fleet {
			now := base.Add(time.Duration(i) * time.Second) // each at its phase
			d := s.Tick(context.Background(), now)
			if d.Error != "" || !strings.HasPrefix(d.Recommendations[0].Reason, "forecastOnly: forecast ") {
				t.Fatalf("%s at %s: %+v: want a forecast over the history", s.Name, now, d)
			}
		}
		ranges, pts := q.reset()
		queries += len(ranges)
		for _, p := range pts {
			points += p
		}
		switch {
		case k == 0:
			if diff := cmp.Diff([]int{11000, 9161}, pts); diff != "" {
				t.Fatalf("first ticks of 20 scalers: points per range query (-want +got):\n%s", diff)
			}
		case base.Add(19 * time.Second).Truncate(time.Minute).Equal(base.Add(-11 * time.Second).Truncate(time.Minute)):
			if len(pts) != 0 {
				t.Fatalf("ticks at %s, no new minute: range queries %v, want none", base, ranges)
			}
		default:
			if diff := cmp.Diff([]int{2}, pts); diff != "" {
				t.Fatalf("ticks at %s: range queries %v: points (-want +got):\n%s: want the last point read and the new one, once for all", base, ranges, diff)
			}
		}
	}
	minutes := int(first.Add(time.Duration(extra*2-1)*30*time.Second+19*time.Second).Truncate(time.Minute).Sub(first.Truncate(time.Minute)) / time.Minute)
	t.Logf("%d range queries, %d points asked over %d minutes for 20 scalers", queries, points, minutes)
	if want := 20161 + 2*minutes; points != want || queries != 2+minutes {
		t.Errorf("%d range queries asked %d points: want 2 pages of the window, then one query of 2 points a minute: %d queries, %d points",
			queries, points, 2+minutes, want)
	}
	if st := hs.Stats(); st.Histories != 1 || st.Readers != 20 || st.Points != 20161 {
		t.Errorf("histories %+v: want one of 20,161 points read by 20 scalers", st)
	}
}

// TestYoungHistoryUnderTheRecommendedConfig runs the recommended
// configuration (examples/simulate/recommended.yaml: a predictive policy
// asking for 14 days of history over a target-tracking floor) against a real
// Prometheus that holds only 30 minutes, 3 hours or 2 days of the service's
// history, then 25 more minutes in which the load rises and falls. Whatever
// the history, no signal fails and the floor acts: the capacity goes up and
// comes back down. With 30 minutes the forecast abstains with "history too
// short to forecast"; with 3 hours and 2 days it forecasts from what there is.
func TestYoungHistoryUnderTheRecommendedConfig(t *testing.T) {
	cfg, err := config.Load("../../examples/simulate/recommended.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Scalers[0]
	const live = 25 * time.Minute
	for _, tc := range []struct {
		name     string
		history  time.Duration
		forecast bool // the predictive policy forecasts (rather than abstains) by the end
	}{
		{"30m", 30 * time.Minute, false},
		{"3h", 3 * time.Hour, true},
		{"2d", 48 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// History ends an hour ago, so that the whole run is in the past
			// and lies in blocks; the live part follows it.
			liveStart := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
			first := liveStart.Add(-tc.history)
			var load, util []scaling.Sample
			for at := first; !at.After(liveStart.Add(live)); at = at.Add(15 * time.Second) {
				// 5 replicas' worth of load with a little noise, at 0.6 of
				// the SLO capacity; in the live part a minute at 1.0 (a
				// rise the floor must follow), then 0.3 (it must come
				// down). The signals are recorded, so they do not answer
				// the capacity: the floor steps up at each tick of the rise.
				i := float64(at.Sub(first) / (15 * time.Second))
				l, u := 5+0.2*math.Sin(i/7), 0.6
				if into := at.Sub(liveStart); into > 0 {
					if into <= time.Minute {
						l, u = 8, 1.0
					} else {
						l, u = 2, 0.3
					}
				}
				load = append(load, scaling.Sample{Time: at, Value: math.Round(l*1000) / 1000})
				util = append(util, scaling.Sample{Time: at, Value: u})
			}
			srv := promtest.Start(t,
				promtest.WithHistory("shop_load", map[string]string{"app": "shop"}, load),
				promtest.WithHistory("shop_slo_utilisation", map[string]string{"app": "shop"}, util))
			prom, err := sources.NewPrometheus(config.Prometheus{URL: srv.URL(), QueryTimeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			rs, err := cfg.Resolve(sc)
			if err != nil {
				t.Fatal(err)
			}
			dec, errs := rs.NewDecider()
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			exprs := map[string]string{"load": `shop_load{app="shop"}`, "slo_utilisation": `shop_slo_utilisation{app="shop"}`}
			var signals []Signal
			for _, sig := range sc.Signals {
				r := sig.Range()
				signals = append(signals, Signal{Name: sig.Name, Expr: exprs[sig.Name], MaxAge: 2 * time.Minute, ValidRange: &r, Source: prom})
			}
			if len(signals) != 2 || signals[0].Expr == "" || signals[1].Expr == "" {
				t.Fatalf("recommended.yaml's signals changed: %+v", sc.Signals)
			}
			s := NewScaler(ScalerSpec{
				Name: sc.Name, Decider: dec, Actuator: actuators.NewLog(5, nil), Interval: rs.Interval,
				QueryTimeout: 20 * time.Second, Signals: signals,
			}, nil, nil, nil)

			ctx := context.Background()
			var ups, downs int
			var lastForecast string
			peak := int32(5)
			for now := liveStart.Add(15 * time.Second); !now.After(liveStart.Add(live)); now = now.Add(rs.Interval) {
				d := s.Tick(ctx, now)
				if d.Error != "" || d.Outcome == scaling.OutcomeFailed {
					t.Fatalf("tick at %s: outcome %s, error %q", now, d.Outcome, d.Error)
				}
				for _, sig := range d.Signals {
					if sig.Failed != "" || sig.Error != "" {
						t.Fatalf("tick at %s: signal %s failed (%s): %s", now, sig.Name, sig.Failed, sig.Error)
					}
				}
				for _, a := range d.Adjustments {
					if a.Guard == policy.GuardFailure {
						t.Fatalf("tick at %s: the failure guard held: %s", now, a.Reason)
					}
				}
				for _, r := range d.Recommendations {
					if r.Policy == "forecast" {
						lastForecast = r.Reason
						if !tc.forecast && (!r.Abstain || !strings.HasPrefix(r.Reason, "history too short to forecast: ")) {
							t.Fatalf("tick at %s with %s of history: forecast %+v, want it to abstain for too short a history", now, tc.history, r)
						}
					}
				}
				switch d.Direction {
				case scaling.DirectionUp:
					ups++
				case scaling.DirectionDown:
					downs++
				}
				peak = max(peak, d.Desired)
				if d.Desired != d.Current && d.Outcome == scaling.OutcomeApplied {
					t.Logf("%s: %d -> %d", now.Sub(liveStart), d.Current, d.Desired)
				}
			}
			if ups == 0 || downs == 0 {
				t.Errorf("%d scale-ups and %d scale-downs in %s: want both (peak %d)", ups, downs, live, peak)
			}
			if tc.forecast && !strings.HasPrefix(lastForecast, "forecast ") {
				t.Errorf("with %s of history the forecast's last reason is %q: want a forecast", tc.history, lastForecast)
			}
			if st := dec.States(); len(st) != 1 || st[0].Vars["history_seconds"] < tc.history.Seconds() {
				t.Errorf("policy state %+v: want the forecast's history_seconds at least %s", st, tc.history)
			}
		})
	}
}

// shopForecast is the predictive policy of the shop's load in these tests:
// forecast only, a same-time-yesterday model over window at one-minute
// steps, 100 per replica.
func shopForecast(window time.Duration) policy.PredictiveSpec {
	return policy.PredictiveSpec{
		Name: "ahead", Signal: "load", Mode: policy.ForecastOnly, CapacityPerReplica: 100,
		StartupDelay: time.Minute, Lead: time.Minute,
		History: window, Step: time.Minute, MinHistory: 24 * time.Hour,
		Model: "snaive_daily", Quantile: 0.9, RefitEvery: time.Hour, SurpriseRatio: 1.5, Handover: 15 * time.Minute,
	}
}
