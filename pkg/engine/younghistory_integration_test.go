//go:build integration

package engine

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

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
