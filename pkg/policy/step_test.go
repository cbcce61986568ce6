package policy

import (
	"strings"
	"testing"
	"time"
)

func f(v float64) *float64 { return &v }

// The worked example of the Application Auto Scaling user guide ("Step
// scaling policies"): breach threshold 50, PercentChangeInCapacity, current
// capacity 10, one scale-out and one scale-in policy.
func awsExample(t *testing.T) *Step {
	t.Helper()
	out := &StepRule{
		Threshold: 50, Comparison: GreaterThanOrEqualToThreshold, EvaluationPeriods: 1, DatapointsToAlarm: 1,
		AdjustmentType: PercentChangeInCapacity,
		Steps: []StepAdjustment{
			{Lower: f(0), Upper: f(10), Adjustment: 0},
			{Lower: f(10), Upper: f(20), Adjustment: 10},
			{Lower: f(20), Adjustment: 30},
		},
	}
	in := &StepRule{
		Threshold: 50, Comparison: LessThanOrEqualToThreshold, EvaluationPeriods: 1, DatapointsToAlarm: 1,
		AdjustmentType: PercentChangeInCapacity,
		Steps: []StepAdjustment{
			{Lower: f(-10), Upper: f(0), Adjustment: 0},
			{Lower: f(-20), Upper: f(-10), Adjustment: -10},
			{Upper: f(-20), Adjustment: -30},
		},
	}
	s, err := NewStep("step", "m", out, in)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStepAWSWorkedExample(t *testing.T) {
	s := awsExample(t)
	cur := int32(10)
	now := t0
	for _, tc := range []struct {
		metric float64
		want   int32
		why    string
	}{
		{55, 10, "between 40 and 60 capacity is kept: step [0, 10) adds 0 %"},
		{45, 10, "step (-10, 0] removes 0 %"},
		{60, 11, "step [10, 20): add 10 % of 10 = 1"},
		{70, 14, "step [20, null): add 30 % of 11 = 3.3, rounded down to 3"},
		{40, 13, "step (-20, -10]: remove 10 % of 14 = 1.4, rounded down to 1"},
		{30, 10, "step (null, -20]: remove 30 % of 13 = 3.9, rounded down to 3"},
	} {
		r := s.Recommend(input(now, cur, cur, map[string]float64{"m": tc.metric}))
		if r.Replicas != tc.want {
			t.Fatalf("metric %v: %d (%s), want %d: %s", tc.metric, r.Replicas, r.Reason, tc.want, tc.why)
		}
		if r.Replicas != cur {
			s.Scaled(now, cur, r.Replicas)
		}
		cur = r.Replicas
		now = now.Add(time.Hour) // past every cooldown (0 here)
	}
}

func TestStepBoundsInclusivity(t *testing.T) {
	s := awsExample(t)
	for _, tc := range []struct {
		diff float64
		rule *StepRule
		want int32 // adjustment of the matching step
	}{
		{0, s.out, 0}, {9.999, s.out, 0}, {10, s.out, 10}, {19.999, s.out, 10}, {20, s.out, 30},
		{-0.001, s.in, 0}, {-9.999, s.in, 0}, {-10, s.in, -10}, {-19.999, s.in, -10}, {-20, s.in, -30}, {-25, s.in, -30},
	} {
		st, ok := tc.rule.step(tc.diff)
		if !ok || st.Adjustment != tc.want {
			t.Errorf("diff %v: step %+v (found %v), want adjustment %d", tc.diff, st, ok, tc.want)
		}
	}
}

func TestStepPercentRounding(t *testing.T) {
	r := &StepRule{AdjustmentType: PercentChangeInCapacity}
	for _, tc := range []struct {
		cur, pct, want int32
	}{
		{10, 33, 13},  // 3.3 -> 3
		{10, 5, 11},   // 0.5 -> 1
		{10, -5, 9},   // -0.5 -> -1
		{10, -33, 7},  // -3.3 -> -3
		{10, -100, 0}, // never below 0
		{4, 25, 5},    // 1 -> 1
		{3, 0, 3},     // 0 -> 0
		{100, 150, 250},
	} {
		if got := r.Target(tc.cur, tc.pct); got != tc.want {
			t.Errorf("%d%% of %d: %d, want %d", tc.pct, tc.cur, got, tc.want)
		}
	}
	// MinAdjustmentMagnitude: 25 % of 4 is 1, raised to 2 (the AWS API example).
	r.MinAdjustmentMagnitude = 2
	if got := r.Target(4, 25); got != 6 {
		t.Errorf("25%% of 4 with MinAdjustmentMagnitude 2: %d, want 6", got)
	}
	if got := r.Target(4, -25); got != 2 {
		t.Errorf("-25%% of 4 with MinAdjustmentMagnitude 2: %d, want 2", got)
	}
	e := &StepRule{AdjustmentType: ExactCapacity}
	if got := e.Target(4, 9); got != 9 {
		t.Errorf("ExactCapacity 9: %d", got)
	}
	c := &StepRule{AdjustmentType: ChangeInCapacity}
	if got := c.Target(4, -9); got != 0 {
		t.Errorf("ChangeInCapacity -9 from 4: %d, want 0", got)
	}
}

func TestStepCooldown(t *testing.T) {
	out := &StepRule{Threshold: 0, Comparison: GreaterThanThreshold, EvaluationPeriods: 1, DatapointsToAlarm: 1,
		AdjustmentType: ChangeInCapacity, Cooldown: 5 * time.Minute,
		Steps: []StepAdjustment{{Lower: f(0), Upper: f(10), Adjustment: 2}, {Lower: f(10), Adjustment: 3}}}
	in := &StepRule{Threshold: 0, Comparison: LessThanThreshold, EvaluationPeriods: 1, DatapointsToAlarm: 1,
		AdjustmentType: ChangeInCapacity, Cooldown: 5 * time.Minute,
		Steps: []StepAdjustment{{Upper: f(0), Adjustment: -1}}}
	s, err := NewStep("s", "m", out, in)
	if err != nil {
		t.Fatal(err)
	}
	cur := int32(10)
	tick := func(at time.Duration, m float64, want int32) {
		t.Helper()
		now := t0.Add(at)
		r := s.Recommend(input(now, cur, cur, map[string]float64{"m": m}))
		if r.Replicas != want {
			t.Fatalf("at %s, metric %v: %d (%s), want %d", at, m, r.Replicas, r.Reason, want)
		}
		if r.Replicas != cur {
			s.Scaled(now, cur, r.Replicas)
		}
		cur = r.Replicas
	}
	tick(0, 5, 12)              // +2, cooldown starts from 10
	tick(time.Minute, 5, 12)    // same step in cooldown: 10+2 is in place already
	tick(2*time.Minute, 15, 13) // larger step in cooldown: 10+3, adds only 1
	tick(6*time.Minute, 15, 16) // cooldown over: +3 from 13
	tick(12*time.Minute, -1, 15)
	tick(13*time.Minute, -1, 15) // scale-in waits for its cooldown
	tick(14*time.Minute, 5, 17)  // a scale-out ends the scale-in cooldown...
	tick(15*time.Minute, -1, 16) // ...so scale-in may act at once
}

func TestStepAlarmMOutOfN(t *testing.T) {
	out := &StepRule{Threshold: 10, Comparison: GreaterThanThreshold, EvaluationPeriods: 5, DatapointsToAlarm: 3,
		AdjustmentType: ChangeInCapacity, Steps: []StepAdjustment{{Lower: f(0), Adjustment: 1}}}
	s, err := NewStep("s", "m", out, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []int32
	for i, m := range []float64{11, 5, 11, 5, 11, 5, 5, 5, 11} {
		r := s.Recommend(input(t0.Add(time.Duration(i)*time.Minute), 10, 10, map[string]float64{"m": m}))
		got = append(got, r.Replicas)
	}
	// ALARM when 3 of the last 5 breach: the 5th datapoint, then it falls out.
	want := []int32{10, 10, 10, 10, 11, 10, 10, 10, 10}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("datapoint %d: %v, want %v", i, got, want)
		}
	}
	// Breaching at 5 is the alarm's comparison, but it matches no step: hold.
	r := s.Recommend(input(t0, 10, 10, nil))
	if !r.Abstain {
		t.Fatalf("failed signal: %+v", r)
	}
}

func TestStepValidation(t *testing.T) {
	base := func(steps ...StepAdjustment) *StepRule {
		return &StepRule{Threshold: 50, Comparison: GreaterThanOrEqualToThreshold, EvaluationPeriods: 1, DatapointsToAlarm: 1,
			AdjustmentType: ChangeInCapacity, Steps: steps}
	}
	for _, tc := range []struct {
		name string
		rule *StepRule
		want string
	}{
		{"gap", base(StepAdjustment{Lower: f(0), Upper: f(10), Adjustment: 1}, StepAdjustment{Lower: f(20), Adjustment: 2}),
			"scale_out.steps: gap between 10 and 20: step adjustments can't have a gap"},
		{"overlap", base(StepAdjustment{Lower: f(0), Upper: f(10), Adjustment: 1}, StepAdjustment{Lower: f(5), Adjustment: 2}),
			"scale_out.steps: [0, 10] and [5, null]: step adjustments can't overlap"},
		{"both null", base(StepAdjustment{Adjustment: 1}),
			"scale_out.steps[0]: lower and upper both null: the upper and lower bound can't be null in the same step adjustment"},
		{"positive upper, no null upper", base(StepAdjustment{Lower: f(0), Upper: f(10), Adjustment: 1}),
			"scale_out.steps: a positive upper bound and no null upper bound: if one step adjustment has a positive upper bound, there must be a step adjustment with a null upper bound"},
		{"two null uppers", base(StepAdjustment{Lower: f(0), Adjustment: 1}, StepAdjustment{Lower: f(10), Adjustment: 2}),
			"scale_out.steps: 2 steps with a null upper bound: at most one step adjustment can have a null upper bound"},
		{"min magnitude needs percent", func() *StepRule {
			r := base(StepAdjustment{Lower: f(0), Adjustment: 1})
			r.MinAdjustmentMagnitude = 2
			return r
		}(), "scale_out.min_adjustment_magnitude: 2: MinAdjustmentMagnitude may only be specified if AdjustmentType is PercentChangeInCapacity"},
		{"M > N", func() *StepRule {
			r := base(StepAdjustment{Lower: f(0), Adjustment: 1})
			r.DatapointsToAlarm = 3
			return r
		}(), "scale_out.datapoints_to_alarm: 3: must be between 1 and evaluation_periods (1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewStep("s", "m", tc.rule, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
