package policy

import (
	"github.com/scaled-dev/scaled/internal/fielderr"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

func mustSchedule(t *testing.T, name, start, tz string, d time.Duration, lo, hi int32) *Schedule {
	t.Helper()
	s, err := NewSchedule(name, start, tz, d, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScheduleOpenAcrossDaylightSaving(t *testing.T) {
	// 09:00 to 17:00 Berlin time on weekdays.
	s := mustSchedule(t, "office", "0 9 * * 1-5", "Europe/Berlin", 8*time.Hour, 5, 0)
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	for _, tc := range []struct {
		at   time.Time
		open bool
	}{
		// Winter (CET, UTC+1): 09:00 local is 08:00 UTC.
		{utc(2025, 3, 28, 7, 59), false}, // Friday before the change
		{utc(2025, 3, 28, 8, 0), true},
		{utc(2025, 3, 28, 15, 59), true},
		{utc(2025, 3, 28, 16, 0), false},
		// Clocks go forward on Sunday 30 March; Monday is CEST (UTC+2).
		{utc(2025, 3, 31, 6, 59), false},
		{utc(2025, 3, 31, 7, 0), true},
		{utc(2025, 3, 31, 14, 59), true},
		{utc(2025, 3, 31, 15, 0), false},
		// Back on Sunday 26 October; Monday 27 is CET again.
		{utc(2025, 10, 24, 7, 0), true},
		{utc(2025, 10, 27, 7, 0), false},
		{utc(2025, 10, 27, 8, 0), true},
		// Weekend: closed.
		{utc(2025, 3, 29, 10, 0), false},
	} {
		if got := s.Open(tc.at); got != tc.open {
			t.Errorf("%s: open %v, want %v", tc.at, got, tc.open)
		}
	}
}

func TestScheduleSkipsMissingHourOnSpringForward(t *testing.T) {
	// 02:30 does not exist in Berlin on 30 March 2025: no window that day.
	s := mustSchedule(t, "nightly", "30 2 * * *", "Europe/Berlin", 30*time.Minute, 3, 0)
	if s.Open(time.Date(2025, 3, 30, 0, 45, 0, 0, time.UTC)) || s.Open(time.Date(2025, 3, 30, 1, 15, 0, 0, time.UTC)) {
		t.Error("open on the day 02:30 does not exist")
	}
	if !s.Open(time.Date(2025, 3, 29, 1, 45, 0, 0, time.UTC)) || !s.Open(time.Date(2025, 3, 31, 0, 45, 0, 0, time.UTC)) {
		t.Error("closed on the days around it")
	}
}

func TestNewScheduleValidation(t *testing.T) {
	for _, tc := range []struct {
		start, tz string
		d         time.Duration
		lo, hi    int32
		want      string
	}{
		{"0 9 * *", "", time.Hour, 1, 0, `start: "0 9 * *": must be a five-field cron expression`},
		{"0 9 * * *", "Mars/Olympus", time.Hour, 1, 0, `timezone: "Mars/Olympus": must be an IANA time zone`},
		{"0 9 * * *", "", 0, 1, 0, "duration: 0s: must be > 0"},
		{"0 9 * * *", "", time.Hour, 5, 3, "max: 3: must be 0 (none) or >= min (5)"},
	} {
		_, err := NewSchedule("s", tc.start, tc.tz, tc.d, tc.lo, tc.hi)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc, err, tc.want)
		}
	}
}

// A schedule raises the minimum even when every signal failed, and caps.
func TestDeciderSchedules(t *testing.T) {
	raise := mustSchedule(t, "peak", "0 8 * * *", "UTC", 2*time.Hour, 20, 0)
	cap := mustSchedule(t, "quiet", "0 22 * * *", "UTC", 2*time.Hour, 0, 4)
	d := mustDecider(t, Spec{
		Policies:  []Policy{mustTT(t, "cpu", "cpu", TargetUtilization, 0.5)},
		Bounds:    Bounds{Min: 1, Max: 50},
		Schedules: []*Schedule{raise, cap},
	})
	at := func(h int) time.Time { return time.Date(2025, 1, 1, h, 30, 0, 0, time.UTC) }

	dec := d.Decide(input(at(8), 5, 5, nil)) // every signal failed
	if dec.Desired != 20 || len(dec.Adjustments) != 1 || dec.Adjustments[0].Guard != GuardSchedule ||
		!strings.Contains(dec.Adjustments[0].Reason, "schedule peak") {
		t.Fatalf("failed signals in the peak window: %+v", dec)
	}
	// Inside the window a policy may still ask for more.
	dec = d.Decide(input(at(9), 20, 20, map[string]float64{"cpu": 1}))
	if dec.Desired != 40 {
		t.Fatalf("peak window, cpu 100%%: %d, want 40", dec.Desired)
	}
	// After it, the minimum is the configured one again.
	dec = d.Decide(input(at(11), 20, 20, map[string]float64{"cpu": 0.5}))
	if dec.Desired != 20 {
		t.Fatalf("after the window at target: %d, want 20", dec.Desired)
	}
	dec = d.Decide(input(at(22), 10, 10, map[string]float64{"cpu": 0.5}))
	if dec.Desired != 4 || dec.Adjustments[0].Guard != GuardSchedule {
		t.Fatalf("quiet window: %+v", dec)
	}
}

func TestDeciderCombinePriority(t *testing.T) {
	first := mustTT(t, "first", "a", TargetValue, 1)
	second := mustTT(t, "second", "b", TargetValue, 1)
	d := mustDecider(t, Spec{Policies: []Policy{first, second}, Combine: CombinePriority, Bounds: Bounds{Min: 1, Max: 100}})
	dec := d.Decide(input(t0, 10, 10, map[string]float64{"a": 0.5, "b": 3}))
	if dec.Winner != "first" || dec.Recommended != 5 || len(dec.Recommendations) != 2 || dec.Recommendations[1].Replicas != 30 {
		t.Fatalf("priority: %+v", dec)
	}
	// The first abstains (its signal failed): the second speaks, and the
	// failure rule still forbids a fall.
	in := input(t0.Add(time.Minute), 10, 10, map[string]float64{"b": 3})
	in.Signals["a"] = scaling.Reading{Err: scaling.Fail(scaling.FailureTimeout, "slow")}
	dec = d.Decide(in)
	if dec.Winner != "second" || dec.Desired != 30 {
		t.Fatalf("priority with the first failed: %+v", dec)
	}
	if _, errs := NewDecider(Spec{Policies: []Policy{first}, Combine: "avg", Bounds: Bounds{Min: 1, Max: 2}}, nil); len(errs) != 1 ||
		fielderr.Format(errs[0]) != `combine: "avg": must be one of max, min, priority` {
		t.Fatalf("bad combine: %v", errs)
	}
}

// Scaled reaches the policies that keep cooldowns.
func TestDeciderForwardsScaled(t *testing.T) {
	out := &StepRule{Threshold: 0, Comparison: GreaterThanThreshold, EvaluationPeriods: 1, DatapointsToAlarm: 1,
		AdjustmentType: ChangeInCapacity, Cooldown: time.Hour, Steps: []StepAdjustment{{Lower: f(0), Adjustment: 2}}}
	s, err := NewStep("step", "m", out, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := mustDecider(t, Spec{Policies: []Policy{s}, Bounds: Bounds{Min: 1, Max: 100}})
	dec := d.Decide(input(t0, 10, 10, map[string]float64{"m": 1}))
	d.Scaled(t0, 10, dec.Desired)
	dec = d.Decide(input(t0.Add(time.Minute), 12, 12, map[string]float64{"m": 1}))
	if dec.Desired != 12 {
		t.Fatalf("in the cooldown the Decider forwarded: %d, want 12", dec.Desired)
	}
}
