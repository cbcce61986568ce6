package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

func mustTT(t testing.TB, name, signal string, typ TargetType, target float64) *TargetTracking {
	t.Helper()
	p, err := NewTargetTracking(name, signal, typ, target, DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustDecider(t testing.TB, spec Spec) *Decider {
	t.Helper()
	d, errs := NewDecider(spec, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	return d
}

// Whole-controller cases from kubernetes/kubernetes horizontal_test.go,
// driven through the Decider. CPU utilisation is the level sum over the
// request sum, as the HPA computes it.
func TestDeciderHPAControllerCases(t *testing.T) {
	failed := scaling.Reading{Err: scaling.Fail(scaling.FailureQuery, "something went wrong")}
	tests := []struct {
		name             string
		min, max         int32
		current          int32
		cpu, cpuTarget   float64
		qps              *scaling.Reading
		want             int32
		wantGuards       []string
		wantReasonSubstr string
	}{
		{name: "TestScaleUpOneMetricEmpty: a failed metric does not stop a scale-up", min: 2, max: 6, current: 3, cpu: 1.2 / 3, cpuTarget: 0.30, qps: &failed, want: 4},
		{name: "TestNoScaleDownOneMetricEmpty: a failed metric forbids a scale-down", min: 2, max: 6, current: 5, cpu: 1.4 / 5, cpuTarget: 0.50, qps: &failed, want: 5, wantGuards: []string{GuardFailure}, wantReasonSubstr: "signal qps (query_error) failed: no scale-down; hold at current 5"},
		{name: "TestNoScaleDownOneMetricInvalid: a missing metric forbids a scale-down", min: 2, max: 6, current: 5, cpu: 1.4 / 5, cpuTarget: 0.50, qps: nil, want: 5, wantGuards: []string{GuardFailure}, wantReasonSubstr: "signal qps (empty) failed"},
		{name: "TestScaleUpRCImmediately: current below min goes to min", min: 2, max: 6, current: 1, cpu: 0.1, cpuTarget: 0.9, qps: &scaling.Reading{Sample: scaling.Sample{Value: 1}}, want: 2, wantGuards: []string{GuardBounds}, wantReasonSubstr: "current 1 outside bounds [2, 6]"},
		{name: "TestScaleDownRCImmediately: current above max goes to max", min: 2, max: 5, current: 6, cpu: 18.5 / 3, cpuTarget: 0.50, qps: &scaling.Reading{Sample: scaling.Sample{Value: 1}}, want: 5, wantGuards: []string{GuardBounds}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDecider(t, Spec{
				Policies: []Policy{mustTT(t, "cpu", "cpu", TargetUtilization, tc.cpuTarget), mustTT(t, "qps", "qps", TargetValue, 100)},
				Bounds:   Bounds{Min: tc.min, Max: tc.max},
				Behavior: DefaultBehavior(),
			})
			in := input(t0, tc.current, tc.current, map[string]float64{"cpu": tc.cpu})
			if tc.qps != nil {
				in.Signals["qps"] = *tc.qps
			}
			dec := d.Decide(in)
			if dec.Desired != tc.want {
				t.Errorf("desired %d, want %d; decision %+v", dec.Desired, tc.want, dec)
			}
			var guards []string
			for _, a := range dec.Adjustments {
				guards = append(guards, a.Guard)
			}
			if diff := cmp.Diff(tc.wantGuards, guards); diff != "" {
				t.Errorf("guards (-want +got):\n%s", diff)
			}
			if tc.wantReasonSubstr != "" && (len(dec.Adjustments) == 0 || !strings.Contains(dec.Adjustments[0].Reason, tc.wantReasonSubstr)) {
				t.Errorf("adjustments %+v: want a reason containing %q", dec.Adjustments, tc.wantReasonSubstr)
			}
		})
	}
}

// kubernetes.io "Horizontal Pod Autoscaling", Scaling policies: with Pods 4/60s
// and Percent 10/60s, 80 replicas heading for 10 lose 8, then 8 again at 72
// (7.2 rounded up), and 4 at a time below 40.
func TestDeciderDocsScalingPoliciesExample(t *testing.T) {
	b := DefaultBehavior()
	b.ScaleDown.Limits = []RateLimit{{Type: RatePods, Value: 4, Period: time.Minute}, {Type: RatePercent, Value: 10, Period: time.Minute}}
	d := mustDecider(t, Spec{Policies: []Policy{mustTT(t, "q", "q", TargetAverageValue, 10)}, Bounds: Bounds{Min: 1, Max: 100}, Behavior: b})
	cur := int32(80)
	got := []int32{cur}
	for i := 0; cur != 10 && i < 30; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		dec := d.Decide(input(now, cur, cur, map[string]float64{"q": 100})) // wants 10
		if dec.Desired != cur {
			d.Scaled(now, cur, dec.Desired)
		}
		cur = dec.Desired
		got = append(got, cur)
	}
	want := []int32{80, 72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16, 12, 10}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replicas per minute (-want +got):\n%s", diff)
	}
}

// Within one period the first step's change still counts: a second tick 15 s
// later may not remove more.
func TestDeciderRateLimitCountsScaledEvents(t *testing.T) {
	b := DefaultBehavior()
	b.ScaleDown.StabilizationWindow = 0
	b.ScaleDown.Limits = []RateLimit{{Type: RatePods, Value: 4, Period: time.Minute}}
	d := mustDecider(t, Spec{Policies: []Policy{mustTT(t, "q", "q", TargetAverageValue, 10)}, Bounds: Bounds{Min: 1, Max: 100}, Behavior: b})
	dec := d.Decide(input(t0, 20, 20, map[string]float64{"q": 50}))
	if dec.Desired != 16 {
		t.Fatalf("first tick: desired %d, want 16", dec.Desired)
	}
	d.Scaled(t0, 20, 16)
	dec = d.Decide(input(t0.Add(15*time.Second), 16, 16, map[string]float64{"q": 50}))
	if dec.Desired != 16 || len(dec.Adjustments) != 1 || dec.Adjustments[0].Guard != GuardRateLimit {
		t.Errorf("second tick: desired %d, adjustments %+v; want 16 held by the rate limit", dec.Desired, dec.Adjustments)
	}
	dec = d.Decide(input(t0.Add(61*time.Second), 16, 16, map[string]float64{"q": 50}))
	if dec.Desired != 12 {
		t.Errorf("after the period: desired %d, want 12", dec.Desired)
	}
}

func TestDeciderDecisionFields(t *testing.T) {
	d := mustDecider(t, Spec{
		Policies: []Policy{mustTT(t, "cpu", "util", TargetUtilization, 0.6), mustTT(t, "queue", "depth", TargetAverageValue, 100)},
		Bounds:   Bounds{Min: 1, Max: 20},
		Behavior: DefaultBehavior(),
	})
	in := input(t0, 5, 5, map[string]float64{"util": 0.84, "depth": 300, "unused": 1})
	got := d.Decide(in)
	want := scaling.Decision{
		Time: t0,
		Signals: []scaling.SignalValue{
			{Name: "depth", Value: 300, Time: t0},
			{Name: "unused", Value: 1, Time: t0},
			{Name: "util", Value: 0.84, Time: t0},
		},
		Recommendations: []scaling.Recommendation{
			{Policy: "cpu", Replicas: 7, Reason: "utilisation 0.84 / target 0.60 = ratio 1.40 x 5 ready -> 7"},
			{Policy: "queue", Replicas: 3, Reason: "total 300.00 / (target 100.00 x 5 current) = ratio 0.60; total / target -> 3"},
		},
		Winner: "cpu", Recommended: 7, Current: 5, Ready: 5, Desired: 7, Direction: scaling.DirectionUp,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decision (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"depth", "util"}, d.Signals()); diff != "" {
		t.Errorf("Signals (-want +got):\n%s", diff)
	}
}

func TestDeciderCombineMin(t *testing.T) {
	d := mustDecider(t, Spec{
		Policies: []Policy{mustTT(t, "a", "a", TargetAverageValue, 1), mustTT(t, "b", "b", TargetAverageValue, 1)},
		Combine:  CombineMin, Bounds: Bounds{Min: 1, Max: 100}, Behavior: DefaultBehavior(),
	})
	dec := d.Decide(input(t0, 10, 10, map[string]float64{"a": 12, "b": 14}))
	if dec.Winner != "a" || dec.Recommended != 12 {
		t.Errorf("winner %q recommended %d, want a 12", dec.Winner, dec.Recommended)
	}
}

func TestDeciderFailureRule(t *testing.T) {
	fail := scaling.Reading{Err: scaling.Fail(scaling.FailureStale, "newest sample 5m old")}
	tests := []struct {
		name       string
		onFailure  OnFailure
		signals    map[string]scaling.Reading
		want       int32
		wantReason string
	}{
		{name: "hold when every policy abstained", signals: map[string]scaling.Reading{"a": fail}, want: 5},
		{name: "fallback rises", onFailure: OnFailure{Mode: FailureFallback, Fallback: 8}, signals: map[string]scaling.Reading{"a": fail}, want: 8, wantReason: "signal a (stale) failed; fallback to 8"},
		{name: "fallback never lowers", onFailure: OnFailure{Mode: FailureFallback, Fallback: 2}, signals: map[string]scaling.Reading{"a": fail}, want: 5},
		{name: "NaN without an error is a failure", signals: map[string]scaling.Reading{"a": {Sample: scaling.Sample{Value: math.NaN()}}}, want: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDecider(t, Spec{Policies: []Policy{mustTT(t, "a", "a", TargetAverageValue, 1)}, Bounds: Bounds{Min: 1, Max: 10}, Behavior: DefaultBehavior(), OnFailure: tc.onFailure})
			dec := d.Decide(Input{Now: t0, Capacity: scaling.Capacity{Current: 5, Ready: 5}, Signals: tc.signals})
			if dec.Desired != tc.want {
				t.Errorf("desired %d, want %d (%+v)", dec.Desired, tc.want, dec.Adjustments)
			}
			if tc.wantReason != "" && (len(dec.Adjustments) != 1 || dec.Adjustments[0].Reason != tc.wantReason) {
				t.Errorf("adjustments %+v, want one with reason %q", dec.Adjustments, tc.wantReason)
			}
			if len(dec.Signals) != 1 || dec.Signals[0].Failed == "" {
				t.Errorf("signals %+v: want the failure reported", dec.Signals)
			}
			if len(d.recs) != 0 {
				t.Errorf("a held tick fed stabilisation: %+v", d.recs)
			}
		})
	}
}

// A failed tick must not feed the stabilisation window: the high
// recommendation before the failure still holds the scale-down afterwards,
// and the failed tick's own number does not appear.
func TestDeciderStabilisationAcrossFailure(t *testing.T) {
	d := mustDecider(t, Spec{Policies: []Policy{mustTT(t, "a", "a", TargetAverageValue, 1)}, Bounds: Bounds{Min: 1, Max: 50}, Behavior: DefaultBehavior()})
	d.Decide(input(t0, 10, 10, map[string]float64{"a": 10}))
	d.Decide(Input{Now: t0.Add(15 * time.Second), Capacity: scaling.Capacity{Current: 10, Ready: 10}, Signals: map[string]scaling.Reading{"a": {Err: scaling.Fail(scaling.FailureEmpty, "no series")}}})
	dec := d.Decide(input(t0.Add(30*time.Second), 10, 10, map[string]float64{"a": 4}))
	if dec.Desired != 10 || len(dec.Adjustments) != 1 || dec.Adjustments[0].Reason != "scale-down stabilised: max over 5m = 10" {
		t.Errorf("desired %d adjustments %+v: want 10 held by the window", dec.Desired, dec.Adjustments)
	}
	if len(d.recs) != 2 {
		t.Errorf("recorded %d recommendations, want 2 (the failed tick is not one)", len(d.recs))
	}
}

func TestDeciderSeedWithCurrent(t *testing.T) {
	for _, seed := range []bool{false, true} {
		d := mustDecider(t, Spec{Policies: []Policy{mustTT(t, "a", "a", TargetAverageValue, 1)}, Bounds: Bounds{Min: 1, Max: 50}, Behavior: DefaultBehavior(), SeedWithCurrent: seed})
		dec := d.Decide(input(t0, 10, 10, map[string]float64{"a": 4}))
		want := int32(4)
		if seed {
			want = 10 // HPA recordInitialRecommendation
		}
		if dec.Desired != want {
			t.Errorf("seed %v: desired %d, want %d", seed, dec.Desired, want)
		}
	}
}

func TestNewDeciderRejects(t *testing.T) {
	p := mustTT(t, "a", "a", TargetValue, 1)
	bad := DefaultBehavior()
	bad.ScaleUp.Select = "Most"
	bad.ScaleUp.StabilizationWindow = 2 * time.Hour
	bad.ScaleDown.Limits = []RateLimit{{Type: "Nodes", Value: 0, Period: 0}, {Type: RatePods, Value: 1, Period: 31 * time.Minute}}
	bad.ScaleDown.Tolerance = -1
	sc, err := NewSchedule("office", "0 9 * * *", "UTC", time.Hour, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, errs := NewDecider(Spec{Policies: []Policy{p, nil}, Combine: "avg", Bounds: Bounds{Min: 5, Max: 2}, Behavior: bad,
		OnFailure: OnFailure{Mode: "panic"}, Schedules: []*Schedule{sc, nil}}, field.NewPath("scalers").Index(0))
	want := []string{
		"scalers[0].policies[1]: null: must be a policy",
		`scalers[0].combine: "avg": must be one of max, min, priority`,
		"scalers[0].bounds.min: 5: must be <= bounds.max (2)",
		"scalers[0].behavior.scale_up.stabilization_window: 2h: must be in 0s..1h",
		`scalers[0].behavior.scale_up.select_policy: "Most": must be one of Max, Min, Disabled`,
		`scalers[0].behavior.scale_down.policies[0].type: "Nodes": must be one of Pods, Percent`,
		"scalers[0].behavior.scale_down.policies[0].value: 0: must be > 0",
		"scalers[0].behavior.scale_down.policies[0].period: 0s: must be in (0s, 30m]",
		"scalers[0].behavior.scale_down.policies[1].period: 31m: must be in (0s, 30m]",
		"scalers[0].behavior.scale_down.tolerance: -1: must be a finite number >= 0",
		`scalers[0].on_failure.mode: "panic": must be one of hold, fallback`,
		"scalers[0].schedules[0].min: 3: must be <= bounds.max (2)",
		"scalers[0].schedules[1]: null: must be a schedule",
	}
	if diff := cmp.Diff(want, fielderr.Lines(errs)); diff != "" {
		t.Errorf("NewDecider problems (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		of   OnFailure
		want []string
	}{
		{OnFailure{Mode: FailureFallback, Fallback: 11}, []string{"on_failure.fallback: 11: must be within bounds 1..10"}},
		{OnFailure{Mode: FailureHold, Fallback: 3}, []string{"on_failure.fallback: 3: must be unset unless mode is fallback"}},
		{OnFailure{Mode: FailureFallback, Fallback: 10}, nil},
	} {
		_, errs := NewDecider(Spec{Policies: []Policy{p}, Bounds: Bounds{Min: 1, Max: 10}, OnFailure: tc.of}, nil)
		if diff := cmp.Diff(tc.want, fielderr.Lines(errs), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tc.of, diff)
		}
	}
}

type historyPolicy struct {
	name  string
	needs []HistoryNeed
}

func (h historyPolicy) Name() string { return h.name }
func (h historyPolicy) Recommend(Input) scaling.Recommendation {
	return scaling.Recommendation{Abstain: true}
}
func (h historyPolicy) HistoryNeeds() []HistoryNeed { return h.needs }

func TestDeciderHistoryNeedsUnion(t *testing.T) {
	d := mustDecider(t, Spec{Bounds: Bounds{Min: 1, Max: 2}, Policies: []Policy{
		historyPolicy{"p1", []HistoryNeed{{Signal: "rps", Window: time.Hour, Step: time.Minute}}},
		historyPolicy{"p2", []HistoryNeed{{Signal: "rps", Window: 7 * 24 * time.Hour, Step: 5 * time.Minute}, {Signal: "lat", Window: time.Hour, Step: 15 * time.Second}}},
		mustTT(t, "tt", "cpu", TargetUtilization, 0.5),
	}})
	want := []HistoryNeed{{Signal: "rps", Window: 7 * 24 * time.Hour, Step: time.Minute}, {Signal: "lat", Window: time.Hour, Step: 15 * time.Second}}
	if diff := cmp.Diff(want, d.HistoryNeeds()); diff != "" {
		t.Errorf("HistoryNeeds (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cpu", "lat", "rps"}, d.Signals()); diff != "" {
		t.Errorf("Signals (-want +got):\n%s", diff)
	}
}
