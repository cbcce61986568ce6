package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// steady is a model with a flat demand of 10c for n minutes (at least 2).
func steady(t testing.TB, p Params, minutes int) *Model {
	t.Helper()
	v := make([]float64, max(2, minutes))
	for i := range v {
		v[i] = 60
	}
	return mustModel(t, trace(time.Minute, v...), p)
}

func request(t *testing.T, r *Run, n int32) {
	t.Helper()
	if err := r.Request(n); err != nil {
		t.Fatal(err)
	}
}

func TestIncreaseIsReadyAfterStartupDelay(t *testing.T) {
	run := NewRun(steady(t, DefaultParams(), 3), 2) // S = 60 s = 4 ticks
	request(t, run, 5)
	var ready []int32
	for range 6 {
		ready = append(ready, run.Observe().Ready)
		if got := run.Observe().Requested; got != 5 {
			t.Fatalf("tick %d: requested %d, want 5", run.Tick(), got)
		}
		run.Advance()
	}
	if diff := cmp.Diff([]int32{2, 2, 2, 2, 5, 5}, ready); diff != "" {
		t.Errorf("ready by tick (-want +got):\n%s", diff)
	}
}

func TestZeroStartupDelayHelpsTheSameTick(t *testing.T) {
	p := DefaultParams()
	p.S = 0
	run := NewRun(steady(t, p, 1), 1) // load 10: 1 replica violates
	request(t, run, 10)
	if run.Ready() != 10 {
		t.Fatalf("ready = %d after requesting 10 with S = 0, want 10", run.Ready())
	}
	run.Advance()
	if s := run.Score(); s.ViolatingRequests != 0 {
		t.Errorf("violating requests = %v, want 0: the replicas were ready for the tick", s.ViolatingRequests)
	}
}

func TestDecreaseRemovesPendingNewestFirstThenReady(t *testing.T) {
	run := NewRun(steady(t, DefaultParams(), 4), 2)
	request(t, run, 4) // tick 0: two ready at tick 4
	run.Advance()
	request(t, run, 6) // tick 1: two ready at tick 5
	run.Advance()
	request(t, run, 5) // tick 2: drops one of tick 1's, the newest
	if run.Ready() != 2 || run.Requested() != 5 {
		t.Fatalf("after decrease: ready %d requested %d, want 2 and 5", run.Ready(), run.Requested())
	}
	run.Advance()
	run.Advance() // now tick 4
	if run.Ready() != 4 {
		t.Errorf("tick 4: ready %d, want 4 (the tick 0 pair kept)", run.Ready())
	}
	run.Advance() // tick 5
	if run.Ready() != 5 {
		t.Errorf("tick 5: ready %d, want 5", run.Ready())
	}
	request(t, run, 2) // nothing pending: ready ones go at once
	if run.Ready() != 2 {
		t.Errorf("ready %d after decrease to 2, want 2", run.Ready())
	}
	// Pending and ready together: 2 ready + 3 pending, down to 1.
	request(t, run, 5)
	request(t, run, 1)
	if run.Ready() != 1 || run.Requested() != 1 {
		t.Errorf("ready %d requested %d, want 1 and 1", run.Ready(), run.Requested())
	}
	for range 4 {
		run.Advance()
	}
	if run.Ready() != 1 {
		t.Errorf("a removed pending replica became ready: ready %d, want 1", run.Ready())
	}
}

func TestRequestRefusesNegative(t *testing.T) {
	run := NewRun(steady(t, DefaultParams(), 1), 1)
	if err := run.Request(-1); err == nil || err.Error() != "replicas: -1: must be >= 0" {
		t.Fatalf("Request(-1) = %v", err)
	}
}

// handTrace is the model the scores below are worked out by hand on: two
// minutes at 1 and 2 req/s; m = 2, so the median 1.5 req/s needs 2
// replicas: load 4/3 then 8/3, demand = load*c. S = one tick. It returns
// the model and c.
func handTrace(t *testing.T) (*Model, float64) {
	t.Helper()
	p := DefaultParams()
	p.M = 2
	p.S = 15 * time.Second
	return mustModel(t, trace(time.Minute, 60, 120), p), p.C()
}

// handPlan scales handTrace's run up as the load rises, then down too early.
var handPlan = map[int]int32{4: 3, 6: 2}

func TestScoreOnHandComputedTrace(t *testing.T) {
	m, c := handTrace(t)
	run := NewRun(m, 2)
	play(t, run, handPlan)
	// Requested by tick: 2 2 2 2 3 3 2 2 -> 18 x 15 s; actions: the initial 2
	// at tick 0, then ticks 4 and 6. Oracle: 2 x 4 + 3 x 4 -> 20 x 15 s.
	// Ready: 2 2 2 2 2 3 2 2; load 8/3 > 2 violates at ticks 4, 6, 7.
	// Requests: 15 s x c x (4 x 4/3 + 4 x 8/3) = 240c; violating 3 x 15 x 8/3 c = 120c.
	want := Score{
		Ticks:                    8,
		TotalRequests:            240 * c,
		ViolatingRequests:        120 * c,
		ViolatingRequestFraction: 0.5,
		ReplicaSeconds:           270,
		CostReplicaHours:         270.0 / 3600,
		OracleReplicaSeconds:     300,
		OracleReplicaHours:       300.0 / 3600,
		CostVsOracle:             0.9,
		ScaleActions:             3,
	}
	if diff := cmp.Diff(want, run.Score(), cmpopts.EquateApprox(1e-12, 1e-12)); diff != "" {
		t.Errorf("score (-want +got):\n%s", diff)
	}
}

func TestScaleActionCountsTicksNotRequests(t *testing.T) {
	run := NewRun(steady(t, DefaultParams(), 1), 3)
	run.Advance() // tick 0: the initial 3 is placed, one action
	request(t, run, 5)
	request(t, run, 3) // back where the tick began: no action
	run.Advance()
	request(t, run, 4)
	request(t, run, 6) // two requests, one changed tick
	run.Advance()
	run.Advance() // held: no action
	if got := run.Score().ScaleActions; got != 2 {
		t.Errorf("scale actions = %d, want 2 (the initial setting and tick 2)", got)
	}
}

func TestInitialSettingIsTheFirstScaleAction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial int32
		want    int
	}{
		{"replicas placed at tick 0", 4, 1},
		{"starting from zero places nothing", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := NewRun(steady(t, DefaultParams(), 2), tc.initial)
			for !run.Done() {
				run.Advance()
			}
			if got := run.Score().ScaleActions; got != tc.want {
				t.Errorf("scale actions = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestObservation(t *testing.T) {
	p := DefaultParams()
	m := mustModel(t, trace(time.Minute, 60, 120), p) // load 20/3 then 40/3 (median 1.5 req/s)
	run := NewRun(m, 10)
	first := run.Observe()
	if _, ok := first.Get("demand"); ok {
		t.Errorf("tick 0: demand observed, want absent: nothing has been seen yet")
	}
	if v, ok := first.Get("ready"); !ok || v != 10 {
		t.Errorf("tick 0: ready = %v, %v; want 10, true", v, ok)
	}
	for range 4 {
		run.Advance()
	}
	request(t, run, 12)
	o := run.Observe()
	lambda := 20.0 / 3 * p.C()
	want := Observation{
		Time: m.TickTime(4), WindowTicks: 4, Demand: lambda,
		Utilisation: lambda / 100, P95Seconds: math.Log(20) / (10 - lambda/10),
		Load: 20.0 / 3, SLOUtilisation: 20.0 / 3 / 10, P95OverSLO: math.Log(20) / (10 - lambda/10) / p.L,
		Ready: 10, Requested: 12,
	}
	if diff := cmp.Diff(want, o, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("observation at tick 4 (-want +got):\n%s", diff)
	}
	for name, v := range map[string]float64{
		"demand": want.Demand, "utilisation": want.Utilisation, "utilization": want.Utilisation,
		"p95_seconds": want.P95Seconds, "latency": want.P95Seconds, "ready": 10, "replicas": 12, "requested": 12,
		"load": want.Load, "slo_utilisation": want.SLOUtilisation, "slo_utilization": want.SLOUtilisation,
		"p95_over_slo": want.P95OverSLO, "latency_over_slo": want.P95OverSLO,
	} {
		if got, ok := o.Get(name); !ok || !near(got, v) {
			t.Errorf("Get(%q) = %v, %v; want %v, true", name, got, ok, v)
		}
	}
	if _, ok := o.Get("cpu"); ok {
		t.Errorf("Get(\"cpu\") found a value, want false for an unknown name")
	}
	// Saturated: the value is +Inf and present.
	sat := NewRun(m, 1)
	sat.Advance()
	if v, ok := sat.Observe().Get("latency"); !ok || !math.IsInf(v, 1) {
		t.Errorf("saturated latency = %v, %v; want +Inf, true", v, ok)
	}
	if v, ok := sat.Observe().Get("latency_over_slo"); !ok || !math.IsInf(v, 1) {
		t.Errorf("saturated latency_over_slo = %v, %v; want +Inf, true", v, ok)
	}
}

// The observations in the service's own terms read the same at any mu and
// SLO for the same load per replica of SLO capacity: a config written on them
// needs no change when the service is recalibrated.
func TestServiceTermsObservationsCarryOver(t *testing.T) {
	obs := func(p Params) Observation {
		m := mustModel(t, trace(time.Minute, 60, 60, 60), p)
		run := NewRun(m, 8)
		for range 4 {
			run.Advance()
		}
		return run.Observe()
	}
	def := obs(DefaultParams())
	tight := DefaultParams()
	tight.L, tight.Mu = 0.25, 8+math.Log(20)/0.25 // c = 8 req/s per replica
	other := obs(tight)
	if !near(def.Load, other.Load) || !near(def.SLOUtilisation, other.SLOUtilisation) {
		t.Errorf("load %v / %v, slo_utilisation %v / %v: want the same under both calibrations",
			def.Load, other.Load, def.SLOUtilisation, other.SLOUtilisation)
	}
	if def.Utilisation == other.Utilisation {
		t.Errorf("raw utilisation %v under both: the test does not tell the calibrations apart", def.Utilisation)
	}
	// At load = ready the p95 is exactly the SLO, whatever the calibration.
	for _, p := range []Params{DefaultParams(), tight} {
		m := mustModel(t, trace(time.Minute, 60, 60, 60), p)
		run := NewRun(m, 10) // the median load is m = 10 replicas
		for range 4 {
			run.Advance()
		}
		if got := run.Observe().P95OverSLO; !near(got, 1) {
			t.Errorf("mu %v, L %v: p95_over_slo at load = ready is %v, want 1", p.Mu, p.L, got)
		}
	}
}

func TestAdvancePastTheEndPanics(t *testing.T) {
	run := NewRun(steady(t, DefaultParams(), 1), 1)
	for !run.Done() {
		run.Advance()
	}
	defer func() {
		if recover() == nil {
			t.Error("Advance past the last tick did not panic")
		}
	}()
	run.Advance()
}

func TestScoreFromScoresOnlyTheLaterTicks(t *testing.T) {
	// TestScoreOnHandComputedTrace's run, scored from tick 5 on: requested
	// 3 2 2 -> 7 x 15 s; ready 3 2 2; load 8/3 violates at ticks 6 and 7;
	// actions: tick 6 only (tick 5 holds the 3 tick 4 ended with).
	// Oracle 3 x 3 -> 9 x 15 s, one action at none of the ticks (3 from tick 4 on).
	m, c := handTrace(t)
	from, err := m.TickFrom(m.Start().Add(65 * time.Second)) // between ticks 4 and 5
	if err != nil || from != 5 {
		t.Fatalf("TickFrom(start+65s) = %d, %v; want 5, nil", from, err)
	}
	run := NewRun(m, 2, ScoreFrom(from))
	play(t, run, handPlan)
	want := Score{
		Ticks:                    3,
		TotalRequests:            3 * 15 * 8.0 / 3 * c,
		ViolatingRequests:        2 * 15 * 8.0 / 3 * c,
		ViolatingRequestFraction: 2.0 / 3,
		ReplicaSeconds:           105,
		CostReplicaHours:         105.0 / 3600,
		OracleReplicaSeconds:     135,
		OracleReplicaHours:       135.0 / 3600,
		CostVsOracle:             105.0 / 135,
		ScaleActions:             1,
	}
	if diff := cmp.Diff(want, run.Score(), cmpopts.EquateApprox(1e-12, 1e-12)); diff != "" {
		t.Errorf("score (-want +got):\n%s", diff)
	}
	oracle := OracleScoreFrom(m, from)
	if oracle.Ticks != 3 || oracle.OracleReplicaSeconds != 135 || oracle.ScaleActions != 0 {
		t.Errorf("oracle from tick 5 = %+v, want 3 ticks, 135 replica-seconds, no action", oracle)
	}
	if got := OracleScoreFrom(m, 0); got != OracleScore(m) {
		t.Errorf("OracleScoreFrom(m, 0) = %+v, differs from OracleScore %+v", got, OracleScore(m))
	}
	for _, at := range []time.Time{m.Start().Add(-time.Second), m.TickTime(m.Ticks() - 1).Add(time.Second)} {
		if _, err := m.TickFrom(at); err == nil {
			t.Errorf("TickFrom(%s) succeeded outside the ticks", at)
		}
	}
}

// play advances run to its end, requesting at each tick of plan the
// replicas it names.
func play(t *testing.T, run *Run, plan map[int]int32) {
	t.Helper()
	for !run.Done() {
		if r, ok := plan[run.Tick()]; ok {
			request(t, run, r)
		}
		run.Advance()
	}
}
