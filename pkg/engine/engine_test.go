package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
	"github.com/scaled-dev/scaled/pkg/telemetry"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func newTestScaler(t *testing.T, src sources.Querier, act actuators.Actuator, dryRun bool, maxAge time.Duration) (*Scaler, *fakes.Recorder) {
	t.Helper()
	tt, err := policy.NewTargetTracking("load", "load", policy.TargetValue, 0.5, policy.DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	rec := &fakes.Recorder{}
	s := NewScaler(ScalerSpec{
		Name: "web", Decider: holdingDecider(t, tt, 20), Actuator: act, Interval: 15 * time.Second, QueryTimeout: time.Second, DryRun: dryRun,
		Signals: []Signal{{Name: "load", Expr: "load", MaxAge: maxAge, Source: src}},
	}, nil, rec, nil)
	return s, rec
}

// holdingDecider decides with p alone, between 1 and most replicas, with
// the default behaviour, holding while a signal fails.
func holdingDecider(t testing.TB, p policy.Policy, most int32) *policy.Decider {
	t.Helper()
	d, errs := policy.NewDecider(policy.Spec{
		Policies: []policy.Policy{p}, Combine: policy.CombineMax,
		Bounds: policy.Bounds{Min: 1, Max: most}, Behavior: policy.DefaultBehavior(),
		OnFailure: policy.OnFailure{Mode: policy.FailureHold},
	}, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	return d
}

// meteredScaler is newTestScaler on a log target at 6 replicas whose
// loop reports to real metrics, registered on the registry returned.
func meteredScaler(t *testing.T, src sources.Querier) (*Scaler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := telemetry.NewMetrics(reg)
	s, _ := newTestScaler(t, src, actuators.NewLog(6, nil), false, 0)
	s.recorder = m
	m.InitScaler("web", []string{"load"}, false)
	return s, reg
}

type tickWant struct {
	Desired int32
	Outcome scaling.Outcome
	Failed  scaling.FailureKind
	Target  int32
}

func tickAndSee(t *testing.T, s *Scaler, act *actuators.Log, now time.Time) tickWant {
	t.Helper()
	d := s.Tick(context.Background(), now)
	c, _ := act.Read(context.Background())
	got := tickWant{Desired: d.Desired, Outcome: d.Outcome, Target: c.Current}
	for _, sig := range d.Signals {
		if sig.Failed != "" {
			got.Failed = sig.Failed
		}
	}
	return got
}

func TestTickActsOnTheDecision(t *testing.T) {
	src := &fakes.Source{Value: 1.0} // twice the target of 0.5
	act := actuators.NewLog(4, nil)
	s, rec := newTestScaler(t, src, act, false, 0)
	if diff := cmp.Diff(tickWant{Desired: 8, Outcome: scaling.OutcomeApplied, Target: 8}, tickAndSee(t, s, act, t0)); diff != "" {
		t.Errorf("rising signal (-want +got):\n%s", diff)
	}
	src.Set(0.52, nil) // within the 10% tolerance
	if diff := cmp.Diff(tickWant{Desired: 8, Outcome: scaling.OutcomeUnchanged, Target: 8}, tickAndSee(t, s, act, t0.Add(15*time.Second))); diff != "" {
		t.Errorf("within tolerance (-want +got):\n%s", diff)
	}
	src.Set(0.25, nil) // half the target: wants 4, but the 300 s window remembers 8
	if diff := cmp.Diff(tickWant{Desired: 8, Outcome: scaling.OutcomeUnchanged, Target: 8}, tickAndSee(t, s, act, t0.Add(30*time.Second))); diff != "" {
		t.Errorf("stabilised scale-down (-want +got):\n%s", diff)
	}
	if got := tickAndSee(t, s, act, t0.Add(331*time.Second)); got.Desired != 4 || got.Target != 4 {
		t.Errorf("after the window: got %+v, want 4 applied", got)
	}
	if rec.Count() != 4 {
		t.Errorf("recorded %d decisions, want 4", rec.Count())
	}
}

func TestTickDryRunNeverActs(t *testing.T) {
	act := actuators.NewLog(4, nil)
	s, _ := newTestScaler(t, &fakes.Source{Value: 1.0}, act, true, 0)
	if diff := cmp.Diff(tickWant{Desired: 8, Outcome: scaling.OutcomeDryRun, Target: 4}, tickAndSee(t, s, act, t0)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(act.History()) != 0 {
		t.Errorf("dry run set the target: %v", act.History())
	}
}

func TestNotActingDecidesLikeDryRun(t *testing.T) {
	act := actuators.NewLog(4, nil)
	s, _ := newTestScaler(t, &fakes.Source{Value: 1.0}, act, false, 0)
	s.acting = func() bool { return false }
	if got := tickAndSee(t, s, act, t0); got.Outcome != scaling.OutcomeDryRun || got.Target != 4 {
		t.Errorf("not acting: got %+v, want a dry-run decision and the target untouched", got)
	}
}

func TestFailedSignalNeverScalesDown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		src    *fakes.Source
		maxAge time.Duration
		kind   scaling.FailureKind
	}{
		{"query error", &fakes.Source{Err: scaling.Fail(scaling.FailureQuery, "connection refused")}, 0, scaling.FailureQuery},
		{"empty", &fakes.Source{Err: scaling.Fail(scaling.FailureEmpty, "no series")}, 0, scaling.FailureEmpty},
		{"plain error is a query error", &fakes.Source{Err: errors.New("boom")}, 0, scaling.FailureQuery},
		{"stale", &fakes.Source{Value: 0.01, At: t0.Add(-10 * time.Minute)}, 2 * time.Minute, scaling.FailureStale},
		{"zero is not missing data, but a NaN is", &fakes.Source{Value: nan()}, 0, scaling.FailureNotFinite},
		{"a negative value is out of the default range", &fakes.Source{Value: -1}, 0, scaling.FailureOutOfRange},
		{"an hour-old sample is stale without a max age", &fakes.Source{Value: 0.01, At: t0.Add(-time.Hour)}, 0, scaling.FailureStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			act := actuators.NewLog(6, nil)
			s, rec := newTestScaler(t, tc.src, act, false, tc.maxAge)
			want := tickWant{Desired: 6, Outcome: scaling.OutcomeUnchanged, Failed: tc.kind, Target: 6}
			if diff := cmp.Diff(want, tickAndSee(t, s, act, t0)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]scaling.FailureKind{tc.kind}, rec.Errs()); diff != "" {
				t.Errorf("signal errors counted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTargetFailures(t *testing.T) {
	s, rec := newTestScaler(t, &fakes.Source{Value: 1}, fakes.Target{Capacity: scaling.Capacity{Current: 4, Ready: 4}, ReadErr: errors.New("forbidden")}, false, 0)
	d := s.Tick(context.Background(), t0)
	if d.Outcome != scaling.OutcomeFailed || d.Error != "read target: forbidden" {
		t.Errorf("read failure: outcome %q error %q", d.Outcome, d.Error)
	}
	s, _ = newTestScaler(t, &fakes.Source{Value: 1}, fakes.Target{Capacity: scaling.Capacity{Current: 4, Ready: 4}, SetErr: errors.New("conflict")}, false, 0)
	d = s.Tick(context.Background(), t0)
	if d.Outcome != scaling.OutcomeFailed || d.Error != "set target: conflict" || d.Desired != 8 {
		t.Errorf("set failure: outcome %q error %q desired %d", d.Outcome, d.Error, d.Desired)
	}
	if rec.Count() != 1 {
		t.Errorf("the read failure was recorded %d times, want 1", rec.Count())
	}
}

func TestExplain(t *testing.T) {
	d := scaling.Decision{
		Current: 3, Desired: 5, Winner: "cpu",
		Recommendations: []scaling.Recommendation{{Policy: "cpu", Replicas: 9, Reason: "ratio 3.0"}, {Policy: "lat", Abstain: true, Reason: "abstain"}},
		Adjustments:     []scaling.Adjustment{{Guard: "rate_limit", From: 9, To: 5, Reason: "scale-up limited to 5"}},
	}
	if got, want := Explain(d), "3 -> 5; cpu: ratio 3.0; scale-up limited to 5"; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}

func nan() float64 { var z float64; return z / z }
