package policy

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/internal/fielderr"
)

// Schedule is a recurring window that raises the minimum capacity (and may
// lower the maximum), as KEDA's cron scaler and AWS scheduled actions do: a
// window opens at each time the cron expression names, in Location, and
// stays open for Duration. It is not a policy: it narrows the bounds the
// Decider enforces (step 0 and step 5 of its guard order), so it holds even
// when every signal failed, and it never widens the configured bounds.
type Schedule struct {
	Name     string
	Min      int32 // capacity floor while open
	Max      int32 // capacity ceiling while open; 0 for none
	Duration time.Duration
	expr     string
	sched    cron.Schedule
}

// cronParser reads the five standard fields (minute hour day-of-month month
// day-of-week) and descriptors such as @daily, as KEDA's cron scaler does.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ScheduleSpec is one schedule of a scaler as its config writes it: from
// each time Start names, in Timezone, for Duration, the minimum capacity is
// at least Min and, when Max is set, the maximum at most Max.
type ScheduleSpec struct {
	// Name of the schedule, in decisions.
	Name string `json:"name,omitempty"`
	// Start is a five-field cron expression (minute hour day month
	// weekday) or a descriptor such as @daily.
	Start string `json:"start,omitempty"`
	// Timezone is the IANA name Start is read in (default UTC).
	Timezone string `json:"timezone,omitempty"`
	// Duration the schedule holds from each start.
	Duration time.Duration `json:"duration,omitempty"`
	// Min is the least capacity while the schedule holds.
	Min int32 `json:"min,omitempty"`
	// Max is the most capacity while the schedule holds (0: bounds.max).
	Max int32 `json:"max,omitempty"`
}

// Default fills the time zone: UTC.
func (s *ScheduleSpec) Default() {
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
}

// New parses and checks the schedule, every problem under path, and builds
// it. Its name is the caller's to check (a scaler keeps them unique); its
// minimum against the bounds is the Decider's.
//
// Daylight saving follows robfig/cron: a start time that does not exist on
// the day clocks go forward is skipped that day, and one that occurs twice
// when they go back opens once.
func (s *ScheduleSpec) New(path *field.Path) (*Schedule, field.ErrorList) {
	var errs field.ErrorList
	tz := s.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		errs = append(errs, fielderr.Invalid(path.Child("timezone"), tz, "must be an IANA time zone such as Europe/Berlin: %v", err))
	}
	sched, err := cronParser.Parse(s.Start)
	if err != nil {
		errs = append(errs, fielderr.Invalid(path.Child("start"), s.Start, "must be a five-field cron expression (minute hour day-of-month month day-of-week): %v", err))
	}
	if s.Duration <= 0 {
		errs = append(errs, fielderr.Invalid(path.Child("duration"), s.Duration, "must be > 0"))
	}
	if s.Min < 0 {
		errs = append(errs, fielderr.Invalid(path.Child("min"), s.Min, "must be >= 0"))
	}
	if s.Max < 0 || (s.Max > 0 && s.Max < s.Min) {
		errs = append(errs, fielderr.Invalid(path.Child("max"), s.Max, "must be 0 (none) or >= min (%d)", s.Min))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if sc, ok := sched.(*cron.SpecSchedule); ok {
		sc.Location = loc
	}
	return &Schedule{Name: s.Name, Min: s.Min, Max: s.Max, Duration: s.Duration, expr: s.Start, sched: sched}, nil
}

// NewSchedule parses start (five-field cron) in the time zone tz (an IANA
// name such as Europe/Berlin; "" means UTC) and validates the window; see
// ScheduleSpec.New.
func NewSchedule(name, start, tz string, duration time.Duration, minCap, maxCap int32) (*Schedule, error) {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, fielderr.Required(field.NewPath("name"), name, "must not be empty"))
	}
	spec := ScheduleSpec{Name: name, Start: start, Timezone: tz, Duration: duration, Min: minCap, Max: maxCap}
	s, serrs := spec.New(nil)
	return s, asError(append(errs, serrs...))
}

// Open reports whether a window is open at now: some start s with
// s <= now < s+Duration.
func (s *Schedule) Open(now time.Time) bool {
	start := s.sched.Next(now.Add(-s.Duration))
	return !start.IsZero() && !start.After(now)
}

// String describes the schedule for reasons and logs.
func (s *Schedule) String() string {
	return fmt.Sprintf("%s (%q for %s)", s.Name, s.expr, durfmt.D(s.Duration))
}
