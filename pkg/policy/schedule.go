package policy

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
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

// NewSchedule parses start (five-field cron) in the time zone tz (an IANA
// name such as Europe/Berlin; "" means UTC) and validates the window.
// Daylight saving follows robfig/cron: a start time that does not exist on
// the day clocks go forward is skipped that day, and one that occurs twice
// when they go back opens once.
func NewSchedule(name, start, tz string, duration time.Duration, minCap, maxCap int32) (*Schedule, error) {
	if name == "" {
		return nil, fmt.Errorf("name: %q: must not be empty", name)
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timezone: %q: must be an IANA time zone such as Europe/Berlin: %w", tz, err)
	}
	sched, err := cronParser.Parse(start)
	if err != nil {
		return nil, fmt.Errorf("start: %q: must be a five-field cron expression (minute hour day-of-month month day-of-week): %w", start, err)
	}
	if duration <= 0 {
		return nil, fmt.Errorf("duration: %s: must be > 0", duration)
	}
	if minCap < 0 {
		return nil, fmt.Errorf("min: %d: must be >= 0", minCap)
	}
	if maxCap < 0 || (maxCap > 0 && maxCap < minCap) {
		return nil, fmt.Errorf("max: %d: must be 0 (none) or >= min (%d)", maxCap, minCap)
	}
	if sc, ok := sched.(*cron.SpecSchedule); ok {
		sc.Location = loc
	}
	return &Schedule{Name: name, Min: minCap, Max: maxCap, Duration: duration, expr: start, sched: sched}, nil
}

// Open reports whether a window is open at now: some start s with
// s <= now < s+Duration.
func (s *Schedule) Open(now time.Time) bool {
	start := s.sched.Next(now.Add(-s.Duration))
	return !start.IsZero() && !start.After(now)
}

// String describes the schedule for reasons and logs.
func (s *Schedule) String() string {
	return fmt.Sprintf("%s (%q for %s)", s.Name, s.expr, s.Duration)
}
