package policy

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Rows marked with a Kubernetes test name are vectors from
// kubernetes/kubernetes pkg/controller/podautoscaler/replica_calculator_test.go.
// HPA expresses targets as milli-values and utilisation as integer percent;
// here both sides of a ratio are scaled alike, which leaves the ratio alone.
func TestTargetTrackingHPAReplicaCalculator(t *testing.T) {
	hpa := DefaultTolerance
	tests := []struct {
		name           string
		typ            TargetType
		value, target  float64
		current, ready int32
		tol            Tolerance
		want           int32
	}{
		// Object / External metrics with a Value target: ceil(ratio x ready).
		{name: "TestReplicaCalcScaleUpCMObject", typ: TargetValue, value: 20000, target: 15000, current: 3, ready: 3, tol: hpa, want: 4},
		{name: "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods", typ: TargetValue, value: 50000, target: 10000, current: 3, ready: 1, tol: hpa, want: 5},
		{name: "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods", typ: TargetValue, value: 8600, target: 4400, current: 3, ready: 1, tol: hpa, want: 2},
		{name: "TestReplicaCalcScaleDownCMObject", typ: TargetValue, value: 12000, target: 20000, current: 5, ready: 5, tol: hpa, want: 3},
		{name: "TestReplicaCalcScaleDownCMExternal", typ: TargetValue, value: 8600, target: 14334, current: 5, ready: 5, tol: hpa, want: 3},
		{name: "TestReplicaCalcToleranceCMObject", typ: TargetValue, value: 20666, target: 20000, current: 3, ready: 3, tol: hpa, want: 3},
		{name: "TestReplicaCalcToleranceCMExternal", typ: TargetValue, value: 8600, target: 8888, current: 3, ready: 3, tol: hpa, want: 3},
		{name: "TestReplicaCalcConfigurableToleranceCMObject", typ: TargetValue, value: 20666, target: 20000, current: 3, ready: 3, tol: Tolerance{Up: .01, Down: .1}, want: 4},
		{name: "TestReplicaCalcConfigurableToleranceCMExternal", typ: TargetValue, value: 8900, target: 8800, current: 3, ready: 3, tol: Tolerance{Up: .01, Down: .1}, want: 4},
		{name: "getUsageRatioReplicaCount: from zero replicas, ceil(ratio), no tolerance", typ: TargetValue, value: 1050, target: 1000, current: 0, ready: 0, tol: hpa, want: 2},
		{name: "getUsageRatioReplicaCount: from zero replicas, no demand stays at zero", typ: TargetValue, value: 0, target: 1000, current: 0, ready: 0, tol: hpa, want: 0},

		// Object / External metrics with an AverageValue target.
		{name: "TestReplicaCalcScaleUpCMPerPodObject", typ: TargetAverageValue, value: 20000, target: 5000, current: 3, ready: 3, tol: hpa, want: 4},
		{name: "TestReplicaCalcScaleDownPerPodCMObject", typ: TargetAverageValue, value: 6000, target: 2000, current: 5, ready: 5, tol: hpa, want: 3},
		{name: "TestReplicaCalcTolerancePerPodCMObject", typ: TargetAverageValue, value: 20166, target: 5000, current: 4, ready: 4, tol: hpa, want: 4},
		{name: "TestReplicaCalcConfigurableTolerancePerPodCMObject", typ: TargetAverageValue, value: 20208, target: 5000, current: 4, ready: 4, tol: Tolerance{Up: .01, Down: .1}, want: 5},
		{name: "TestReplicaCalcScaleUpPerPodCMExternal", typ: TargetAverageValue, value: 8600, target: 2150, current: 3, ready: 3, tol: hpa, want: 4},
		{name: "TestReplicaCalcScaleDownPerPodCMExternal", typ: TargetAverageValue, value: 8600, target: 2867, current: 5, ready: 5, tol: hpa, want: 3},
		{name: "TestReplicaCalcTolerancePerPodCMExternal", typ: TargetAverageValue, value: 8600, target: 2900, current: 3, ready: 3, tol: hpa, want: 3},
		{name: "TestReplicaCalcConfigurableTolerancePerPodCMExternal", typ: TargetAverageValue, value: 8600, target: 2800, current: 3, ready: 3, tol: Tolerance{Up: .01, Down: .1}, want: 4},
		{name: "GetExternalPerPodMetricReplicas: unready replicas do not matter", typ: TargetAverageValue, value: 8600, target: 2150, current: 3, ready: 1, tol: hpa, want: 4},

		// Resource utilisation (value = average utilisation over ready pods).
		{name: "TestReplicaCalcTolerance", typ: TargetUtilization, value: 1.02, target: 1.00, current: 3, ready: 3, tol: hpa, want: 3},
		{name: "TestReplicaCalcSuperfluousMetrics", typ: TargetUtilization, value: 5.87, target: 1.00, current: 4, ready: 4, tol: hpa, want: 24},
		{name: "TestReplicaCalcConfigurableTolerance/Outside of a 0% tolerance", typ: TargetUtilization, value: 1.01, target: 1.00, current: 3, ready: 3, tol: Tolerance{}, want: 4},
		{name: "TestReplicaCalcConfigurableTolerance/Within a 200% scale-up tolerance", typ: TargetUtilization, value: 1.90, target: 1.00, current: 3, ready: 3, tol: Tolerance{Up: 2, Down: .1}, want: 3},
		{name: "TestReplicaCalcConfigurableTolerance/Outside 8% scale-up tolerance", typ: TargetUtilization, value: 1.09, target: 1.00, current: 3, ready: 3, tol: Tolerance{Up: .08, Down: 2}, want: 4},
		{name: "TestReplicaCalcConfigurableTolerance/Within a 36% scale-down tolerance", typ: TargetUtilization, value: 0.65, target: 1.00, current: 3, ready: 3, tol: Tolerance{Up: .1, Down: .36}, want: 3},
		{name: "TestReplicaCalcConfigurableTolerance/Outside a 34% scale-down tolerance", typ: TargetUtilization, value: 0.65, target: 1.00, current: 3, ready: 3, tol: Tolerance{Up: .1, Down: .34}, want: 2},
		{name: "TestScaleUpOneMetricEmpty (CPU part): 40% of 30% x 3", typ: TargetUtilization, value: 0.40, target: 0.30, current: 3, ready: 3, tol: hpa, want: 4},
		{name: "GetResourceReplicas: never below current when ratio > 1", typ: TargetUtilization, value: 0.9, target: 0.6, current: 10, ready: 4, tol: hpa, want: 10},
		{name: "GetResourceReplicas: value target may fall when ratio > 1 and few are ready", typ: TargetValue, value: 0.9, target: 0.6, current: 10, ready: 4, tol: hpa, want: 6},
		{name: "SIMULATION.md: ratio 1.4 x 5 ready", typ: TargetUtilization, value: 0.84, target: 0.60, current: 5, ready: 5, tol: hpa, want: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewTargetTracking("tt", "sig", tc.typ, tc.target, tc.tol)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Recommend(input(time.Time{}, tc.current, tc.ready, map[string]float64{"sig": tc.value}))
			if got.Abstain || got.Replicas != tc.want {
				t.Errorf("got %d (abstain %v, %q), want %d", got.Replicas, got.Abstain, got.Reason, tc.want)
			}
			if got.Policy != "tt" || got.Reason == "" {
				t.Errorf("policy %q reason %q: want policy tt and a reason", got.Policy, got.Reason)
			}
		})
	}
}

func TestTargetTrackingReason(t *testing.T) {
	p, err := NewTargetTracking("cpu", "util", TargetUtilization, 0.6, DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Recommend(input(time.Time{}, 5, 5, map[string]float64{"util": 0.84})).Reason
	if want := "utilisation 0.84 / target 0.60 = ratio 1.40 x 5 ready -> 7"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

func TestTargetTrackingAbstains(t *testing.T) {
	p, err := NewTargetTracking("lat", "p95", TargetValue, 0.5, DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		signals  map[string]scaling.Reading
		ready    int32
		contains []string
	}{
		{name: "missing", signals: map[string]scaling.Reading{}, ready: 3, contains: []string{"p95", "empty"}},
		{name: "timeout", ready: 3, signals: map[string]scaling.Reading{"p95": {Err: scaling.Fail(scaling.FailureTimeout, "deadline exceeded")}}, contains: []string{"p95", "timeout", "deadline exceeded"}},
		{name: "plain error is a query error", ready: 3, signals: map[string]scaling.Reading{"p95": {Err: errors.New("boom")}}, contains: []string{"p95", "query_error", "boom"}},
		{name: "NaN", ready: 3, signals: map[string]scaling.Reading{"p95": {Sample: scaling.Sample{Value: math.NaN()}}}, contains: []string{"p95", "not_finite"}},
		{name: "negative", ready: 3, signals: map[string]scaling.Reading{"p95": {Sample: scaling.Sample{Value: -1}}}, contains: []string{"p95", "negative"}},
		{name: "no ready replicas", ready: 0, signals: map[string]scaling.Reading{"p95": {Sample: scaling.Sample{Value: 2}}}, contains: []string{"no ready replicas"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Recommend(Input{Capacity: scaling.Capacity{Current: 3, Ready: tc.ready}, Signals: tc.signals})
			if !got.Abstain {
				t.Fatalf("got %+v, want abstain", got)
			}
			for _, c := range tc.contains {
				if !strings.Contains(got.Reason, c) {
					t.Errorf("reason %q does not name %q", got.Reason, c)
				}
			}
		})
	}
}

func TestNewTargetTrackingRejects(t *testing.T) {
	tests := []struct {
		name, policy, signal string
		typ                  TargetType
		target               float64
		tol                  Tolerance
		field                string
	}{
		{name: "no name", signal: "s", typ: TargetValue, target: 1, field: "name"},
		{name: "no signal", policy: "p", typ: TargetValue, target: 1, field: "signal"},
		{name: "bad type", policy: "p", signal: "s", typ: "avg", target: 1, field: `target_type: "avg": must be one of value, average_value, utilization`},
		{name: "zero target", policy: "p", signal: "s", typ: TargetValue, target: 0, field: "target: 0"},
		{name: "NaN target", policy: "p", signal: "s", typ: TargetValue, target: math.NaN(), field: "target: NaN"},
		{name: "negative tolerance", policy: "p", signal: "s", typ: TargetValue, target: 1, tol: Tolerance{Up: -0.1}, field: "tolerance.up: -0.1"},
		{name: "infinite tolerance", policy: "p", signal: "s", typ: TargetValue, target: 1, tol: Tolerance{Down: math.Inf(1)}, field: "tolerance.down: +Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTargetTracking(tc.policy, tc.signal, tc.typ, tc.target, tc.tol)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %v, want one containing %q", err, tc.field)
			}
		})
	}
}

// input builds an Input whose signals all read OK.
func input(now time.Time, current, ready int32, values map[string]float64) Input {
	in := Input{Now: now, Capacity: scaling.Capacity{Current: current, Ready: ready}, Signals: map[string]scaling.Reading{}}
	for k, v := range values {
		in.Signals[k] = scaling.Reading{Name: k, Sample: scaling.Sample{Time: now, Value: v}}
	}
	return in
}
