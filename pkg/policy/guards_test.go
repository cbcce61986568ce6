package policy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Vectors in this file come from kubernetes/kubernetes
// pkg/controller/podautoscaler/horizontal_test.go; each row names its source.

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// rules mirrors horizontal_test.go generateScalingRules (select Max).
func rules(pods int32, podsPeriod int, percent int32, percentPeriod int, window int) Rules {
	r := Rules{StabilizationWindow: time.Duration(window) * time.Second, Select: SelectMax}
	if pods != 0 {
		r.Limits = append(r.Limits, RateLimit{Type: RatePods, Value: pods, Period: time.Duration(podsPeriod) * time.Second})
	}
	if percent != 0 {
		r.Limits = append(r.Limits, RateLimit{Type: RatePercent, Value: percent, Period: time.Duration(percentPeriod) * time.Second})
	}
	return r
}

// uniformEvents mirrors generateEventsUniformDistribution: events spread over
// the last period, each in the middle of its segment.
func uniformEvents(now time.Time, changes []int32, periodSeconds int) []scaleEvent {
	out := make([]scaleEvent, len(changes))
	seg := float64(periodSeconds) / float64(len(changes))
	for i, c := range changes {
		ago := time.Duration(float64(periodSeconds)-seg*float64(i+1)+seg/2) * time.Second
		out[i] = scaleEvent{change: c, at: now.Add(-ago)}
	}
	return out
}

func TestRateLimitHPAScalingWithRules(t *testing.T) {
	def := DefaultBehavior()
	tests := []struct {
		name             string
		ups, downs       []scaleEvent
		up, down         *Rules
		min, max         int32
		current, desired int32
		want             int32
	}{
		{name: "prenormalized desired replicas within range", current: 5, desired: 7, min: 3, max: 8, want: 7},
		{name: "prenormalized desired replicas < minReplicas", current: 3, desired: 1, min: 2, max: 8, want: 2},
		{name: "prenormalized desired replicas within range when minReplicas is 0", current: 1, desired: 0, min: 0, max: 10, want: 0},
		{name: "desired replica count is more than the maximum replica count", current: 100, desired: 1000, min: 100, max: 150, want: 150},
		{name: "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", current: 3, desired: 1000, min: 1, max: 2000, up: ptr(rules(0, 0, 1, 60, 0)), want: 4},
		{name: "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies", current: 1000, desired: 3, min: 3, max: 2000, down: ptr(rules(20, 60, 0, 0, 0)), want: 980},
		{name: "scaleUp with default behavior", current: 10, desired: 50, min: 1, max: 1000, want: 20},
		{name: "scaleUp with pods policy larger than percent policy", current: 10, desired: 500, min: 1, max: 1000, up: ptr(rules(100, 60, 100, 60, 0)), want: 110},
		{name: "scaleUp with percent policy larger than pods policy", current: 10, desired: 500, min: 1, max: 1000, up: ptr(rules(2, 60, 100, 60, 0)), want: 20},
		{name: "scaleUp with spec MaxReplicas limitation with large pod policy", current: 10, desired: 50, min: 1, max: 1000, up: ptr(rules(100, 60, 0, 0, 0)), want: 50},
		{name: "scaleUp with spec MaxReplicas limitation with large percent policy", current: 10, desired: 50, min: 1, max: 1000, up: ptr(rules(10000, 60, 0, 0, 0)), want: 50},
		{name: "scaleUp with pod policy limitation", current: 10, desired: 50, min: 1, max: 1000, up: ptr(rules(30, 60, 0, 0, 0)), want: 40},
		{name: "scaleUp with percent policy limitation", current: 10, desired: 50, min: 1, max: 1000, up: ptr(rules(0, 0, 200, 60, 0)), want: 30},
		{name: "scaleDown with percent policy larger than pod policy", current: 100, desired: 2, min: 1, max: 1000, down: ptr(rules(20, 60, 1, 60, 300)), want: 80},
		{name: "scaleDown with pod policy larger than percent policy", current: 100, desired: 2, min: 1, max: 1000, down: ptr(rules(2, 60, 1, 60, 300)), want: 98},
		{name: "scaleDown with spec MinReplicas=nil limitation with large pod policy", current: 10, desired: 0, min: 1, max: 1000, down: ptr(rules(100, 60, 0, 0, 300)), want: 1},
		{name: "scaleDown with spec MinReplicas limitation with large percent policy", current: 10, desired: 2, min: 5, max: 1000, down: ptr(rules(0, 0, 100, 60, 300)), want: 5},
		{name: "scaleDown with pod policy limitation", current: 10, desired: 2, min: 1, max: 1000, down: ptr(rules(5, 60, 0, 0, 300)), want: 5},
		{name: "scaleDown with percent policy limitation", current: 10, desired: 5, min: 1, max: 1000, down: ptr(rules(0, 0, 50, 60, 300)), want: 5},
		{name: "scaleUp with spec MaxReplicas limitation with large pod policy and events", ups: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 500, min: 1, max: 200, up: ptr(rules(300, 60, 0, 0, 0)), want: 200},
		{name: "scaleUp with spec MaxReplicas limitation with large percent policy and events", ups: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 500, min: 1, max: 200, up: ptr(rules(0, 0, 10000, 60, 0)), want: 200},
		{name: "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events", ups: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 500, min: 1, max: 1000, up: ptr(rules(5, 120, 0, 0, 0)), want: 100},
		{name: "scaleUp with pod policy and previous scale up events", ups: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 500, min: 1, max: 1000, up: ptr(rules(150, 120, 0, 0, 0)), want: 235},
		{name: "scaleUp with percent policy and previous scale up events", ups: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 500, min: 1, max: 1000, up: ptr(rules(0, 0, 200, 120, 0)), want: 255},
		{name: "scaleUp with percent policy and previous scale up and down events", ups: uniformEvents(t0, []int32{4}, 120), downs: uniformEvents(t0, []int32{2}, 120), current: 6, desired: 24, min: 1, max: 1000, up: ptr(rules(0, 0, 300, 300, 0)), want: 16},
		{name: "scaleDown with default policy and previous events", downs: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 10, desired: 5, min: 1, max: 1000, want: 5},
		{name: "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", downs: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 0, min: 1, max: 1000, down: ptr(rules(115, 120, 0, 0, 300)), want: 1},
		{name: "scaleDown with spec MinReplicas limitation with large pod policy and previous events", downs: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 0, min: 5, max: 1000, down: ptr(rules(130, 120, 0, 0, 300)), want: 5},
		{name: "scaleDown with spec MinReplicas limitation with large percent policy and previous events", downs: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 2, min: 5, max: 1000, down: ptr(rules(0, 0, 100, 120, 300)), want: 5},
		{name: "scaleDown with pod policy limitation and previous events", downs: uniformEvents(t0, []int32{1, 5, 9}, 120), current: 100, desired: 2, min: 1, max: 1000, down: ptr(rules(5, 120, 0, 0, 300)), want: 100},
		{name: "scaleDown with percent policy limitation and previous events", downs: uniformEvents(t0, []int32{2, 4, 6}, 120), current: 100, desired: 0, min: 1, max: 1000, down: ptr(rules(0, 0, 50, 120, 300)), want: 56},
		{name: "scaleDown with percent policy and previous scale up and down events", ups: uniformEvents(t0, []int32{2}, 120), downs: uniformEvents(t0, []int32{4}, 120), current: 10, desired: 1, min: 1, max: 1000, down: ptr(rules(0, 0, 50, 180, 0)), want: 6},
		{name: "scaleDown with previous events preventing further scale down", downs: uniformEvents(t0, []int32{10, 10, 10}, 120), current: 100, desired: 0, min: 1, max: 1000, down: ptr(rules(0, 0, 10, 120, 300)), want: 100},
		{name: "scaleDown with with previous events still allowing more scale down", downs: uniformEvents(t0, []int32{10, 10, 10}, 120), current: 10, desired: 5, min: 1, max: 1000, down: ptr(rules(0, 0, 1000, 120, 300)), want: 5},
		{name: "check 'outdated' flag for events for one behavior for up", ups: uniformEvents(t0, []int32{8, 12, 9, 11}, 120), current: 100, desired: 200, min: 1, max: 1000, up: ptr(rules(1000, 60, 0, 0, 0)), want: 200},
		{name: "check that events were not marked 'outdated' for two different policies in the behavior for up", ups: uniformEvents(t0, []int32{8, 12, 9, 11}, 120), current: 100, desired: 200, min: 1, max: 1000, up: ptr(rules(1000, 120, 100, 60, 0)), want: 200},
		{name: "check that events were marked 'outdated' for two different policies in the behavior for up", ups: uniformEvents(t0, []int32{8, 12, 9, 11}, 120), current: 100, desired: 200, min: 1, max: 1000, up: ptr(rules(1000, 30, 100, 60, 0)), want: 200},
		{name: "check 'outdated' flag for events for one behavior for down", downs: uniformEvents(t0, []int32{8, 12, 9, 11}, 120), current: 100, desired: 5, min: 1, max: 1000, down: ptr(rules(1000, 60, 0, 0, 300)), want: 5},
		{name: "check that events were not marked 'outdated' for two different policies in the behavior for down", downs: uniformEvents(t0, []int32{8, 12, 9, 11}, 120), current: 100, desired: 5, min: 1, max: 1000, down: ptr(rules(1000, 120, 100, 60, 300)), want: 5},
		{name: "check that events were marked 'outdated' for two different policies in the behavior for down", downs: uniformEvents(t0, []int32{8, 12, 9, 11}, 120), current: 100, desired: 5, min: 1, max: 1000, down: ptr(rules(1000, 30, 100, 60, 300)), want: 5},
	}
	for _, tc := range tests {
		t.Run("TestScalingWithRules/"+tc.name, func(t *testing.T) {
			b := def
			if tc.up != nil {
				b.ScaleUp = *tc.up
			}
			if tc.down != nil {
				b.ScaleDown = *tc.down
			}
			got, _ := rateLimit(tc.current, tc.desired, tc.ups, tc.downs, t0, &b)
			got = min(max(got, tc.min), tc.max)
			if got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRateLimitHPASelectMin(t *testing.T) {
	min := func(r Rules) *Rules { r.Select = SelectMin; return &r }
	if got := scaleUpLimit(1, nil, nil, t0, min(rules(2, 60, 50, 60, 300))); got != 2 {
		t.Errorf("TestCalculateScaleUpLimitWithScalingRules: got %d, want 2", got)
	}
	if got := scaleDownLimit(5, nil, nil, t0, min(rules(2, 60, 50, 60, 300))); got != 3 {
		t.Errorf("TestCalculateScaleDownLimitWithBehaviors: got %d, want 3", got)
	}
	disabled := rules(4, 15, 0, 0, 0)
	disabled.Select = SelectDisabled
	b := Behavior{ScaleUp: disabled, ScaleDown: disabled}
	if got, _ := rateLimit(5, 50, nil, nil, t0, &b); got != 5 {
		t.Errorf("selectPolicy Disabled up: got %d, want 5", got)
	}
	if got, _ := rateLimit(5, 1, nil, nil, t0, &b); got != 5 {
		t.Errorf("selectPolicy Disabled down: got %d, want 5", got)
	}
}

func TestStoreScaleEventsHPA(t *testing.T) {
	type ev struct {
		Change   int32
		Outdated bool
	}
	tests := []struct {
		name       string
		prev       []scaleEvent
		rules      Rules
		wantChange int32
		wantEvents []ev
	}{
		{name: "empty entries with two-policy-behavior", rules: rules(10, 60, 100, 60, 0), wantChange: 0, wantEvents: []ev{{5, false}}},
		{name: "one outdated entry to be replaced with behavior", prev: []scaleEvent{{change: 7, at: t0.Add(-61 * time.Second)}}, rules: rules(10, 60, 100, 60, 0), wantChange: 0, wantEvents: []ev{{5, false}}},
		{name: "one actual entry to be not touched with behavior", prev: []scaleEvent{{change: 7, at: t0.Add(-58 * time.Second)}}, rules: rules(10, 60, 100, 60, 0), wantChange: 7, wantEvents: []ev{{7, false}, {5, false}}},
		{name: "two entries, one of them to be replaced", prev: []scaleEvent{{change: 7, at: t0.Add(-61 * time.Second)}, {change: 6, at: t0.Add(-59 * time.Second)}}, rules: rules(10, 60, 0, 0, 0), wantChange: 6, wantEvents: []ev{{5, false}, {6, false}}},
		{name: "replace one entry, use policies with different periods", prev: []scaleEvent{
			{change: 8, at: t0.Add(-29 * time.Second)}, {change: 6, at: t0.Add(-59 * time.Second)},
			{change: 7, at: t0.Add(-61 * time.Second)}, {change: 9, at: t0.Add(-61 * time.Second)},
		}, rules: rules(10, 60, 100, 30, 0), wantChange: 14, wantEvents: []ev{{8, false}, {6, false}, {7, true}, {5, false}}},
		{name: "two entries, both actual", prev: []scaleEvent{{change: 7, at: t0.Add(-58 * time.Second)}, {change: 6, at: t0.Add(-59 * time.Second)}}, rules: rules(10, 120, 100, 30, 0), wantChange: 13, wantEvents: []ev{{7, false}, {6, false}, {5, false}}},
	}
	for _, tc := range tests {
		t.Run("TestStoreScaleEvents/"+tc.name, func(t *testing.T) {
			for _, dir := range []string{"up", "down"} {
				b := Behavior{ScaleUp: tc.rules, ScaleDown: tc.rules}
				d := &Decider{spec: Spec{Behavior: b}}
				prev := append([]scaleEvent(nil), tc.prev...)
				var events *[]scaleEvent
				if dir == "up" {
					d.ups, events = prev, &d.ups
				} else {
					d.downs, events = prev, &d.downs
				}
				if got := replicasChangedIn(*events, t0, 60*time.Second); got != int64(tc.wantChange) {
					t.Errorf("%s: change in the last 60s = %d, want %d", dir, got, tc.wantChange)
				}
				if dir == "up" {
					d.Scaled(t0, 10, 15)
				} else {
					d.Scaled(t0, 10, 5)
				}
				var got []ev
				for _, e := range *events {
					got = append(got, ev{e.change, e.outdated})
				}
				if diff := cmp.Diff(tc.wantEvents, got); diff != "" {
					t.Errorf("%s: stored events (-want +got):\n%s", dir, diff)
				}
			}
		})
	}
}

func TestStabilizeHPANormalizeDesiredReplicasWithBehavior(t *testing.T) {
	now := t0
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name             string
		recs             []timedRecommendation
		current, desired int32
		upWindow         time.Duration
		downWindow       time.Duration
		want             int32
		wantRecs         []int32
	}{
		{name: "empty recommendations for scaling down", current: 100, desired: 5, want: 5, wantRecs: []int32{5}},
		{name: "simple scale down stabilization", recs: []timedRecommendation{{4, ago(2 * time.Minute)}, {5, ago(time.Minute)}}, current: 100, desired: 3, downWindow: 3 * time.Minute, want: 5, wantRecs: []int32{4, 5, 3}},
		{name: "simple scale up stabilization", recs: []timedRecommendation{{4, ago(2 * time.Minute)}, {5, ago(time.Minute)}}, current: 1, desired: 7, upWindow: 5 * time.Minute, want: 4, wantRecs: []int32{4, 5, 7}},
		{name: "no scale down stabilization", recs: []timedRecommendation{{1, ago(2 * time.Minute)}, {2, ago(time.Minute)}}, current: 100, desired: 3, upWindow: 5 * time.Minute, want: 3, wantRecs: []int32{1, 2, 3}},
		{name: "no scale up stabilization", recs: []timedRecommendation{{4, ago(2 * time.Minute)}, {5, ago(time.Minute)}}, current: 1, desired: 3, downWindow: 5 * time.Minute, want: 3, wantRecs: []int32{4, 5, 3}},
		{name: "no scale down stabilization, reuse recommendation element", recs: []timedRecommendation{{10, ago(10 * time.Minute)}, {9, ago(9 * time.Minute)}}, current: 100, desired: 3, want: 3, wantRecs: []int32{10, 3}},
		{name: "no scale up stabilization, reuse recommendation element", recs: []timedRecommendation{{10, ago(10 * time.Minute)}, {9, ago(9 * time.Minute)}}, current: 1, desired: 100, want: 100, wantRecs: []int32{10, 100}},
		{name: "scale down stabilization, reuse one of obsolete recommendation element", recs: []timedRecommendation{{10, ago(10 * time.Minute)}, {4, ago(time.Minute)}, {5, ago(2 * time.Minute)}, {9, ago(9 * time.Minute)}}, current: 100, desired: 3, downWindow: 3 * time.Minute, want: 5, wantRecs: []int32{10, 4, 5, 3}},
		{name: "scale up stabilization, reuse one of obsolete recommendation element", recs: []timedRecommendation{{10, ago(100 * time.Minute)}, {6, ago(time.Minute)}, {5, ago(2 * time.Minute)}, {9, ago(3 * time.Minute)}}, current: 1, desired: 100, upWindow: 300 * time.Second, want: 5, wantRecs: []int32{100, 6, 5, 9}},
		{name: "scale up and down stabilization, do not scale up when prenormalized rec goes down", recs: []timedRecommendation{{2, ago(100 * time.Minute)}, {3, ago(3 * time.Minute)}}, current: 2, desired: 1, upWindow: 300 * time.Second, downWindow: 300 * time.Second, want: 2},
		{name: "scale up and down stabilization, do not scale down when prenormalized rec goes up", recs: []timedRecommendation{{2, ago(100 * time.Minute)}, {1, ago(3 * time.Minute)}}, current: 2, desired: 3, upWindow: 300 * time.Second, downWindow: 300 * time.Second, want: 2},
		{name: "SIMULATION.md reading: an entry exactly one window old no longer counts", recs: []timedRecommendation{{9, ago(300 * time.Second)}, {6, ago(285 * time.Second)}}, current: 9, desired: 4, downWindow: 300 * time.Second, want: 6, wantRecs: []int32{9, 6, 4}},
	}
	for _, tc := range tests {
		t.Run("TestNormalizeDesiredReplicasWithBehavior/"+tc.name, func(t *testing.T) {
			b := Behavior{ScaleUp: Rules{StabilizationWindow: tc.upWindow}, ScaleDown: Rules{StabilizationWindow: tc.downWindow}}
			got, _, recs := stabilize(append([]timedRecommendation(nil), tc.recs...), now, &b, tc.current, tc.desired)
			if got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
			if tc.wantRecs == nil {
				return
			}
			var gotRecs []int32
			for _, r := range recs {
				gotRecs = append(gotRecs, r.replicas)
			}
			if diff := cmp.Diff(tc.wantRecs, gotRecs); diff != "" {
				t.Errorf("stored recommendations (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
