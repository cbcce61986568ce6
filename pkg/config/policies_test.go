package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/policy"
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
	pid := s.Policies[0].Spec.(*policy.PIDSpec)
	if pid.Direction != "decrease" || pid.GainScale != "absolute" {
		t.Errorf("pid defaults: %+v", pid)
	}
	pc := pid.Config()
	if pc.FeedForwardSmoothing != 2*time.Minute || pc.FeedForwardLead != 90*time.Second || pc.ToleranceUp != 0.05 || pc.ToleranceDown != 0.2 {
		t.Errorf("pid smoothing, lead, tolerance: %+v", pc)
	}
	step := s.Policies[1].Spec.(*policy.StepSpec)
	out, in := step.ScaleOut, step.ScaleIn
	fiveMin, tenMin := 300*time.Second, 10*time.Minute
	want := []any{policy.GreaterThanOrEqualToThreshold, 3, 3, &fiveMin, policy.LessThanOrEqualToThreshold, 1, 1, &tenMin}
	got := []any{out.Comparison, out.EvaluationPeriods, out.DatapointsToAlarm, out.Cooldown, in.Comparison, in.EvaluationPeriods, in.DatapointsToAlarm, in.Cooldown}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("step defaults (-want +got):\n%s", diff)
	}
	r, err := c.Resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range r.Decider.Policies {
		names = append(names, p.Name())
	}
	if diff := cmp.Diff([]string{"latency", "steps"}, names); diff != "" {
		t.Errorf("policies built (-want +got):\n%s", diff)
	}
	if len(r.Decider.Schedules) != 1 || r.Decider.Schedules[0].Name != "office" || r.Decider.Combine != policy.CombinePriority {
		t.Errorf("schedules %v, combine %q", r.Decider.Schedules, r.Decider.Combine)
	}
}

func TestPoliciesValidateMessages(t *testing.T) {
	for _, tc := range []struct {
		name  string
		patch func(*Config)
		want  []string
	}{
		{"pid gain", func(c *Config) { c.Scalers[0].Policies[0].Spec.(*policy.PIDSpec).Kp = -1 },
			[]string{"scalers[0].policies[0].pid.kp: -1: must be a finite number >= 0"}},
		{"pid unknown signal", func(c *Config) { c.Scalers[0].Policies[0].Spec.(*policy.PIDSpec).FeedForward.Signal = "qps" },
			[]string{`scalers[0].policies[0].pid.feed_forward.signal: "qps": must name one of the scaler's signals: rps, p95`}},
		{"pid block missing", func(c *Config) { c.Scalers[0].Policies[0].Spec = nil },
			[]string{"scalers[0].policies[0].pid: null: must be set when type is pid"}},
		{"step gap", func(c *Config) {
			u := 0.5
			c.Scalers[0].Policies[1].Spec.(*policy.StepSpec).ScaleOut.Steps[0].Upper = &u
		}, []string{"scalers[0].policies[1].step.scale_out.steps: gap between 0.5 and 1: step adjustments can't have a gap"}},
		{"step block on a pid", func(c *Config) { c.Scalers[0].Policies[0].others = []string{"step"} },
			[]string{`scalers[0].policies[0].step: present: must be absent when type is "pid"`}},
		{"block of another type", func(c *Config) { c.Scalers[0].Policies[0].Type = policy.TypeStep },
			[]string{`scalers[0].policies[0].step: null: must be set when type is step`,
				`scalers[0].policies[0].pid: present: must be absent when type is "step"`}},
		{"schedule cron", func(c *Config) { c.Scalers[0].Schedules[0].Start = "every day" },
			[]string{`scalers[0].schedules[0].start: "every day": must be a five-field cron expression (minute hour day-of-month month day-of-week): expected exactly 5 fields, found 2: [every day]`}},
		{"schedule min over max", func(c *Config) { c.Scalers[0].Schedules[0].Min = 11 },
			[]string{"scalers[0].schedules[0].min: 11: must be <= bounds.max (10)"}},
		{"schedule name duplicate", func(c *Config) { c.Scalers[0].Schedules = append(c.Scalers[0].Schedules, c.Scalers[0].Schedules[0]) },
			[]string{`scalers[0].schedules[1].name: "office": duplicate of scalers[0].schedules[0].name`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(policiesYAML))
			if err != nil {
				t.Fatal(err)
			}
			tc.patch(c)
			if diff := cmp.Diff(tc.want, messages(Validate(c))); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// A block written beside another type's is refused, whichever comes first.
func TestPolicyBlocksOfOtherTypes(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(policiesYAML, "        type: pid\n", "        type: pid\n        step: {signal: p95}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`scalers[0].policies[0].step: present: must be absent when type is "pid"`}
	if diff := cmp.Diff(want, messages(Validate(c))); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
