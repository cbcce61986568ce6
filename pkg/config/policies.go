package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/pkg/policy"
)

// PID configures a PID policy (docs/policies.md). Gains: kp in replicas per
// signal unit, ki in replicas per signal unit per second, kd in replicas per
// signal unit per second of change, all multiplied by the current capacity
// when gain_scale is relative.
type PID struct {
	Signal    string  `yaml:"signal"`
	Setpoint  float64 `yaml:"setpoint"`
	Direction string  `yaml:"direction"`  // decrease (default), increase
	GainScale string  `yaml:"gain_scale"` // absolute (default), relative
	Kp        float64 `yaml:"kp"`
	Ki        float64 `yaml:"ki"`
	Kd        float64 `yaml:"kd"`
	// DerivativeFilter is the derivative's low-pass time constant (0: none).
	DerivativeFilter time.Duration `yaml:"derivative_filter"`
	Deadband         float64       `yaml:"deadband"`
	MaxError         float64       `yaml:"max_error"`
	FeedForward      *FeedForward  `yaml:"feed_forward,omitempty"`
	// Tolerance holds the recommendation at the current capacity while the
	// output is within these fractions of it.
	Tolerance *PIDTolerance `yaml:"tolerance,omitempty"`
}

// PIDTolerance is a PID's output tolerance, fractions of the current
// capacity: up 0.05 moves only for an output above 1.05 x current.
type PIDTolerance struct {
	Up   float64 `yaml:"up"`
	Down float64 `yaml:"down"`
}

// FeedForward adds load/per_replica replicas, so that the PID only trims.
type FeedForward struct {
	Signal     string  `yaml:"signal"`
	PerReplica float64 `yaml:"per_replica"`
	// Smoothing is the time constant of a moving average of the signal
	// (0: none).
	Smoothing time.Duration `yaml:"smoothing"`
	// Lead projects the smoothed signal this far ahead along its smoothed
	// trend (needs smoothing; 0: no trend).
	Lead time.Duration `yaml:"lead"`
}

// Step configures an AWS Application Auto Scaling step policy: one or two
// alarms on one signal, each with its step adjustments.
type Step struct {
	Signal   string    `yaml:"signal"`
	ScaleOut *StepRule `yaml:"scale_out,omitempty"`
	ScaleIn  *StepRule `yaml:"scale_in,omitempty"`
}

// StepRule is one step scaling policy and its alarm.
type StepRule struct {
	Threshold float64 `yaml:"threshold"`
	// Comparison defaults to GreaterThanOrEqualToThreshold for scale_out and
	// LessThanOrEqualToThreshold for scale_in.
	Comparison        string `yaml:"comparison"`
	EvaluationPeriods int    `yaml:"evaluation_periods"`  // N, default 1
	DatapointsToAlarm int    `yaml:"datapoints_to_alarm"` // M, default N
	// AdjustmentType: ChangeInCapacity, PercentChangeInCapacity, ExactCapacity.
	AdjustmentType         string           `yaml:"adjustment_type"`
	Steps                  []StepAdjustment `yaml:"steps"`
	MinAdjustmentMagnitude int32            `yaml:"min_adjustment_magnitude"`
	// Cooldown defaults to AWS's 300 s.
	Cooldown *time.Duration `yaml:"cooldown"`
}

// StepAdjustment bounds are relative to the threshold; null is unbounded.
type StepAdjustment struct {
	Lower      *float64 `yaml:"lower"`
	Upper      *float64 `yaml:"upper"`
	Adjustment int32    `yaml:"adjustment"`
}

// Schedule raises the minimum (and optionally lowers the maximum) capacity
// from each time Start names, for Duration, in Timezone.
type Schedule struct {
	Name     string        `yaml:"name"`
	Start    string        `yaml:"start"`    // five-field cron
	Timezone string        `yaml:"timezone"` // IANA name, default UTC
	Duration time.Duration `yaml:"duration"`
	Min      int32         `yaml:"min"`
	Max      int32         `yaml:"max"` // 0: no maximum
}

// DefaultStepCooldown is AWS's default cooldown for step scaling.
const DefaultStepCooldown = 300 * time.Second

func applyPolicyDefaults(s *Scaler) {
	for i := range s.Policies {
		pol := &s.Policies[i]
		if pid := pol.PID; pid != nil {
			if pid.Direction == "" {
				pid.Direction = string(policy.PIDDecrease)
			}
			if pid.GainScale == "" {
				pid.GainScale = string(policy.PIDAbsolute)
			}
		}
		if st := pol.Step; st != nil {
			fillStepRule(st.ScaleOut, string(policy.GreaterThanOrEqualToThreshold))
			fillStepRule(st.ScaleIn, string(policy.LessThanOrEqualToThreshold))
		}
	}
	for i := range s.Schedules {
		if s.Schedules[i].Timezone == "" {
			s.Schedules[i].Timezone = "UTC"
		}
	}
}

func fillStepRule(r *StepRule, comparison string) {
	if r == nil {
		return
	}
	if r.Comparison == "" {
		r.Comparison = comparison
	}
	if r.EvaluationPeriods == 0 {
		r.EvaluationPeriods = 1
	}
	if r.DatapointsToAlarm == 0 {
		r.DatapointsToAlarm = r.EvaluationPeriods
	}
	if r.Cooldown == nil {
		c := DefaultStepCooldown
		r.Cooldown = &c
	}
}

// PolicyConfig is the policy.PIDConfig of a (defaulted) pid block.
func (c *PID) PolicyConfig() policy.PIDConfig {
	pc := policy.PIDConfig{
		Signal: c.Signal, Setpoint: c.Setpoint, Direction: policy.PIDDirection(c.Direction),
		GainScale: policy.PIDGainScale(c.GainScale), Kp: c.Kp, Ki: c.Ki, Kd: c.Kd,
		DerivativeFilter: c.DerivativeFilter, Deadband: c.Deadband, MaxError: c.MaxError,
	}
	if ff := c.FeedForward; ff != nil {
		pc.FeedForwardSignal, pc.FeedForwardPerReplica = ff.Signal, ff.PerReplica
		pc.FeedForwardSmoothing, pc.FeedForwardLead = ff.Smoothing, ff.Lead
	}
	if t := c.Tolerance; t != nil {
		pc.ToleranceUp, pc.ToleranceDown = t.Up, t.Down
	}
	return pc
}

// PolicyRule is the policy.StepRule of a (defaulted) step rule, nil for nil.
func (r *StepRule) PolicyRule() *policy.StepRule {
	if r == nil {
		return nil
	}
	out := &policy.StepRule{
		Threshold: r.Threshold, Comparison: policy.Comparison(r.Comparison),
		EvaluationPeriods: r.EvaluationPeriods, DatapointsToAlarm: r.DatapointsToAlarm,
		AdjustmentType: policy.AdjustmentType(r.AdjustmentType), MinAdjustmentMagnitude: r.MinAdjustmentMagnitude,
	}
	if r.Cooldown != nil {
		out.Cooldown = *r.Cooldown
	}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, policy.StepAdjustment{Lower: s.Lower, Upper: s.Upper, Adjustment: s.Adjustment})
	}
	return out
}

// NewPolicy builds the policy a (defaulted) block describes: pid or step.
// Other types are built by the engine.
func (pol *Policy) NewPolicy() (policy.Policy, error) {
	switch {
	case pol.Type == "pid" && pol.PID != nil:
		return policy.NewPID(pol.Name, pol.PID.PolicyConfig())
	case pol.Type == "step" && pol.Step != nil:
		return policy.NewStep(pol.Name, pol.Step.Signal, pol.Step.ScaleOut.PolicyRule(), pol.Step.ScaleIn.PolicyRule())
	}
	return nil, fmt.Errorf("type: %q: not a pid or step policy", pol.Type)
}

// NewSchedule builds the policy.Schedule of a (defaulted) schedule.
func (s *Schedule) NewSchedule() (*policy.Schedule, error) {
	return policy.NewSchedule(s.Name, s.Start, s.Timezone, s.Duration, s.Min, s.Max)
}

// addPolicyErr turns a constructor's "field: value: what is allowed" errors
// (joined by newlines) into FieldErrors under path.
func addPolicyErr(p *problems, path string, err error) {
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if line == "" {
			continue
		}
		field, rest, ok := strings.Cut(line, ": ")
		if !ok || strings.ContainsAny(field, " ") {
			*p = append(*p, &FieldError{Path: path, Msg: line})
			continue
		}
		value, msg, ok := strings.Cut(rest, ": ")
		if !ok {
			value, msg = "", rest
		}
		*p = append(*p, &FieldError{Path: path + "." + field, Value: value, Msg: msg})
	}
}

func requireSignal(p *problems, path, name string, signals map[string]int, signalNames []string) {
	if _, ok := signals[name]; ok {
		return
	}
	if len(signalNames) == 0 {
		p.add(path, name, "must name one of the scaler's signals, and it has none")
		return
	}
	p.add(path, name, "must name one of the scaler's signals: %s", strings.Join(signalNames, ", "))
}

// validatePolicyBlocks checks the pid and step blocks of one policy: each
// set exactly when its type says so, its signals declared, and its values
// as the policy's constructor accepts them.
func validatePolicyBlocks(p *problems, path string, pol *Policy, signals map[string]int, signalNames []string) {
	for _, b := range []struct {
		typ string
		set bool
	}{{"pid", pol.PID != nil}, {"step", pol.Step != nil}} {
		switch {
		case pol.Type == b.typ && !b.set:
			p.add(path+"."+b.typ, nil, "must be set when type is %s", b.typ)
		case pol.Type != b.typ && b.set:
			p.add(path+"."+b.typ, present, "must be absent when type is %q", pol.Type)
		}
	}
	if pol.PID != nil && pol.Type == "pid" {
		pp := path + ".pid"
		requireSignal(p, pp+".signal", pol.PID.Signal, signals, signalNames)
		if ff := pol.PID.FeedForward; ff != nil {
			requireSignal(p, pp+".feed_forward.signal", ff.Signal, signals, signalNames)
		}
		if pol.PID.Signal != "" {
			_, err := pol.NewPolicy()
			addPolicyErr(p, pp, err)
		}
	}
	if st := pol.Step; st != nil && pol.Type == "step" {
		sp := path + ".step"
		requireSignal(p, sp+".signal", st.Signal, signals, signalNames)
		if st.Signal != "" {
			_, err := pol.NewPolicy()
			addPolicyErr(p, sp, err)
		}
	}
}

func validateSchedules(p *problems, path string, s *Scaler) {
	names := map[string]int{}
	for i := range s.Schedules {
		sc := &s.Schedules[i]
		sp := fmt.Sprintf("%s.schedules[%d]", path, i)
		uniqueName(p, names, path+".schedules", i, sc.Name)
		if sc.Min > s.Bounds.Max && s.Bounds.Max >= 1 {
			p.add(sp+".min", sc.Min, "must be <= bounds.max (%d)", s.Bounds.Max)
		}
		if sc.Name != "" {
			_, err := sc.NewSchedule()
			addPolicyErr(p, sp, err)
		}
	}
}
