package engine

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// cycleSource serves a daily cycle of 100 +- 60 units around offset, at
// any time, for instant and range queries alike.
func cycleSource(offset float64) fakes.Querier {
	return fakes.Curve(func(t time.Time) float64 {
		return offset + 100 + 60*math.Sin(2*math.Pi*float64(t.Unix()%86400)/86400)
	})
}

// forecastRecorder is a recorder that also keeps forecasts (ForecastRecorder).
type forecastRecorder struct {
	fakes.Recorder
	fmu       sync.Mutex
	forecasts []policy.PolicyForecast
}

var _ ForecastRecorder = (*forecastRecorder)(nil)

func (r *forecastRecorder) SetForecast(scaler string, f policy.PolicyForecast) {
	r.fmu.Lock()
	defer r.fmu.Unlock()
	r.forecasts = append(r.forecasts, f)
}

// predictiveDecider decides with the predictive policy of spec alone,
// between 1 and most replicas.
func predictiveDecider(t testing.TB, spec policy.PredictiveSpec, most int32) *policy.Decider {
	t.Helper()
	p, err := policy.NewPredictive(spec)
	if err != nil {
		t.Fatal(err)
	}
	d, errs := policy.NewDecider(policy.Spec{Policies: []policy.Policy{p}, Bounds: policy.Bounds{Min: 1, Max: most}}, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	return d
}

func predictiveScaler(t *testing.T, mode policy.PredictiveMode, src sources.Querier, act actuators.Actuator, rec Recorder) *Scaler {
	t.Helper()
	d := predictiveDecider(t, policy.PredictiveSpec{
		Name: "ahead", Signal: "rps", Mode: mode, CapacityPerReplica: 10,
		StartupDelay: time.Minute, Lead: time.Minute,
		History: 3 * 24 * time.Hour, Step: 5 * time.Minute, MinHistory: 24 * time.Hour,
		Model: "auto", Quantile: 0.9, RefitEvery: time.Hour, SurpriseRatio: 1.5, Handover: 15 * time.Minute,
	}, 1000)
	spec := ScalerSpec{
		Name: "web", Decider: d, Actuator: act, Interval: 15 * time.Second, QueryTimeout: time.Second,
		Signals: []Signal{{Name: "rps", Expr: "rps", MaxAge: time.Minute, Source: src}},
	}
	return NewScaler(spec, nil, rec, nil)
}

// TestForecastOnlyNeverActs: a forecastOnly scaler whose forecast needs a
// hundred times its current capacity explains the forecast and never sets
// its target, tick after tick, across refits.
func TestForecastOnlyNeverActs(t *testing.T) {
	src := cycleSource(900) // 840 to 1060 units: 84 to 106 replicas at 10 each
	act := actuators.NewLog(1, nil)
	rec := &forecastRecorder{}
	s := predictiveScaler(t, policy.ForecastOnly, src, act, rec)
	start := t0.Add(5 * time.Second)
	for i := range 3 * 60 * 4 { // three hours at 15 s: three refits
		d := s.Tick(context.Background(), start.Add(time.Duration(i)*15*time.Second))
		if d.Outcome != scaling.OutcomeUnchanged || d.Desired != 1 {
			t.Fatalf("tick %d: outcome %s, desired %d: want unchanged at 1", i, d.Outcome, d.Desired)
		}
		if r := d.Recommendations[0]; !r.Abstain || !strings.HasPrefix(r.Reason, "forecastOnly: forecast ") {
			t.Fatalf("tick %d: recommendation %+v: want a forecastOnly abstention explaining the forecast", i, r)
		}
	}
	if h := act.History(); len(h) != 0 {
		t.Errorf("actuator was set %d times (%v): forecastOnly must never act", len(h), h)
	}
	// The forecast it would have acted on is far above current, and exported.
	if len(rec.forecasts) != 3*60*4 {
		t.Fatalf("%d forecasts recorded, want one per tick (%d)", len(rec.forecasts), 3*60*4)
	}
	last := rec.forecasts[len(rec.forecasts)-1]
	if !last.OK || last.Policy != "ahead" || last.Report.Signal != "rps" || last.Report.Upper < 800 {
		t.Errorf("last forecast %+v: want one of rps by ahead above 800", last)
	}
}

// TestForecastAndScaleActs is the control of TestForecastOnlyNeverActs: the
// same scaler in forecastAndScale sets its target at the first tick.
func TestForecastAndScaleActs(t *testing.T) {
	act := actuators.NewLog(1, nil)
	s := predictiveScaler(t, policy.ForecastAndScale, cycleSource(900), act, nil)
	d := s.Tick(context.Background(), t0.Add(5*time.Second))
	if d.Outcome != scaling.OutcomeApplied || d.Desired < 84 {
		t.Fatalf("outcome %s, desired %d: want applied, at least 84", d.Outcome, d.Desired)
	}
	if diff := cmp.Diff([]int32{d.Desired}, act.History()); diff != "" {
		t.Errorf("actuator history (-want +got):\n%s", diff)
	}
}

// TestRecordForecastsWithoutHistory: with less than min_history the
// recorder is told there is no forecast, for the policy's signal.
func TestRecordForecastsWithoutHistory(t *testing.T) {
	rec := &forecastRecorder{}
	s := predictiveScaler(t, policy.ForecastAndScale, cycleSource(0), actuators.NewLog(1, nil), rec)
	s.history["rps"].need.Window = 12 * time.Hour // less than min_history
	s.Tick(context.Background(), t0)
	want := []policy.PolicyForecast{{Policy: "ahead", Report: policy.ForecastReport{Signal: "rps"}}}
	if diff := cmp.Diff(want, rec.forecasts); diff != "" {
		t.Errorf("forecasts (-want +got):\n%s", diff)
	}
}

// TestPredictivePlansForTheScalersStartupDelay: a predictive policy without
// a startup_delay of its own forecasts for the scaler's (or its target
// kind's) startup delay plus its lead; its own setting wins.
func TestPredictivePlansForTheScalersStartupDelay(t *testing.T) {
	for _, tc := range []struct {
		name          string
		kind          string
		scaler, owned time.Duration
		want          time.Duration // from now to the time forecast
	}{
		{"the scaler's", "log", 10 * time.Minute, 0, 11 * time.Minute},
		{"the kind's", "lambda", 0, 0, 90*time.Second + time.Minute},
		{"the policy's own", "aurora", 10 * time.Minute, 2 * time.Minute, 3 * time.Minute},
		{"none known: the policy's default", "kubernetes", 0, 0, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, ok := actuators.NewSpec(actuators.TargetKind(tc.kind))
			if !ok {
				t.Fatalf("no target kind %s", tc.kind)
			}
			pred := &policy.PredictiveSpec{Signal: "rps", CapacityPerReplica: 10, StartupDelay: tc.owned, Step: 5 * time.Minute, MinHistory: time.Hour}
			pred.Default()
			rps := sources.QuerySpec("sum(rate(http_requests_total[1m]))")
			sc := config.Scaler{
				Name: "web", Target: config.Target{Kind: actuators.TargetKind(tc.kind), Spec: target},
				Signals: []config.Signal{{Name: "rps", Source: config.SignalSource{Kind: sources.KindQuery, Spec: &rps}}},
				DecisionSpec: config.DecisionSpec{
					StartupDelay: tc.scaler,
					Bounds:       config.Bounds{Min: 1, Max: 100},
					Policies:     []config.Policy{{Name: "ahead", Type: policy.TypePredictive, Spec: pred}},
				},
			}
			cfg := config.Defaults()
			cfg.Interval = 15 * time.Second
			r, err := cfg.Resolve(sc)
			if err != nil {
				t.Fatal(err)
			}
			p := r.Decider.Policies[0].(*policy.Predictive)
			src := cycleSource(0)
			start := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
			hist, _ := src.QueryRange(t.Context(), "", start, start.Add(6*time.Hour), 5*time.Minute)
			now := hist[len(hist)-1].Time.Add(time.Minute)
			rec := p.Recommend(policy.Input{Now: now, Capacity: scaling.Capacity{Current: 5, Ready: 5},
				Signals: map[string]scaling.Reading{"rps": {Name: "rps", Sample: hist[len(hist)-1], History: scaling.HistoryOf(5*time.Minute, hist)}}})
			f, ok := p.LastForecast()
			if rec.Abstain || !ok {
				t.Fatalf("no forecast: %+v", rec)
			}
			if got := f.Target.Sub(now); got != tc.want {
				t.Errorf("forecast for now + %s: want now + %s", got, tc.want)
			}
		})
	}
}
