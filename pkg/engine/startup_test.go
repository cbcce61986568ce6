package engine

import (
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

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
