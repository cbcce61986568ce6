package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const policiesYAML = `
prometheus:
  url: http://prom:9090
scalers:
  - name: web
    target: {kind: log}
    signals:
      - {name: rps, query: 'sum(rate(http_requests_total[1m]))'}
      - {name: p95, query: 'histogram_quantile(0.95, x)'}
    policies:
      - name: latency
        type: pid
        pid:
          signal: p95
          setpoint: 0.8
          kp: 5
          ki: 0.05
          deadband: 0.1
          feed_forward: {signal: rps, per_replica: 7, smoothing: 2m, lead: 90s}
          tolerance: {up: 0.05, down: 0.2}
      - name: steps
        type: step
        step:
          signal: p95
          scale_out:
            threshold: 1
            evaluation_periods: 3
            adjustment_type: PercentChangeInCapacity
            steps:
              - {lower: 0, upper: 1, adjustment: 10}
              - {lower: 1, adjustment: 50}
          scale_in:
            threshold: 0.4
            adjustment_type: ChangeInCapacity
            cooldown: 10m
            steps:
              - {upper: 0, adjustment: -1}
    combine: priority
    schedules:
      - {name: office, start: "0 9 * * 1-5", timezone: Europe/Berlin, duration: 8h, min: 4}
    bounds: {max: 10}
`

func TestPoliciesParseDefaultAndBuild(t *testing.T) {
	c, err := Parse([]byte(policiesYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s := c.Scalers[0]
	if got := s.Policies[0].PID; got.Direction != "decrease" || got.GainScale != "absolute" {
		t.Errorf("pid defaults: %+v", got)
	}
	pc := s.Policies[0].PID.PolicyConfig()
	if pc.FeedForwardSmoothing != 2*time.Minute || pc.FeedForwardLead != 90*time.Second || pc.ToleranceUp != 0.05 || pc.ToleranceDown != 0.2 {
		t.Errorf("pid smoothing, lead, tolerance: %+v", pc)
	}
	out, in := s.Policies[1].Step.ScaleOut, s.Policies[1].Step.ScaleIn
	fiveMin, tenMin := 300*time.Second, 10*time.Minute
	want := []any{"GreaterThanOrEqualToThreshold", 3, 3, &fiveMin, "LessThanOrEqualToThreshold", 1, 1, &tenMin}
	got := []any{out.Comparison, out.EvaluationPeriods, out.DatapointsToAlarm, out.Cooldown, in.Comparison, in.EvaluationPeriods, in.DatapointsToAlarm, in.Cooldown}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("step defaults (-want +got):\n%s", diff)
	}
	for i := range s.Policies {
		p, err := s.Policies[i].NewPolicy()
		if err != nil || p.Name() != s.Policies[i].Name {
			t.Errorf("NewPolicy %d: %v, %v", i, p, err)
		}
	}
	if _, err := s.Schedules[0].NewSchedule(); err != nil {
		t.Error(err)
	}
}

func TestPoliciesValidateMessages(t *testing.T) {
	for _, tc := range []struct {
		name  string
		patch func(*Config)
		want  []string
	}{
		{"pid gain", func(c *Config) { c.Scalers[0].Policies[0].PID.Kp = -1 },
			[]string{"scalers[0].policies[0].pid.kp: -1: must be a finite number >= 0"}},
		{"pid unknown signal", func(c *Config) { c.Scalers[0].Policies[0].PID.FeedForward.Signal = "qps" },
			[]string{`scalers[0].policies[0].pid.feed_forward.signal: "qps": must name one of the scaler's signals: rps, p95`}},
		{"pid block missing", func(c *Config) { c.Scalers[0].Policies[0].PID = nil },
			[]string{"scalers[0].policies[0].pid: null: must be set when type is pid"}},
		{"step gap", func(c *Config) {
			u := 0.5
			c.Scalers[0].Policies[1].Step.ScaleOut.Steps[0].Upper = &u
		}, []string{"scalers[0].policies[1].step.scale_out.steps: gap between 0.5 and 1: step adjustments can't have a gap"}},
		{"step block on a pid", func(c *Config) { c.Scalers[0].Policies[0].Step = &Step{} },
			[]string{`scalers[0].policies[0].step: present: must be absent when type is "pid"`}},
		{"schedule cron", func(c *Config) { c.Scalers[0].Schedules[0].Start = "every day" },
			[]string{`scalers[0].schedules[0].start: "every day": must be a five-field cron expression (minute hour day-of-month month day-of-week): expected exactly 5 fields, found 2: [every day]`}},
		{"schedule min over max", func(c *Config) { c.Scalers[0].Schedules[0].Min = 11 },
			[]string{"scalers[0].schedules[0].min: 11: must be <= bounds.max (10)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(policiesYAML))
			if err != nil {
				t.Fatal(err)
			}
			tc.patch(c)
			err = Validate(c)
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}
