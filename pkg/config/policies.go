package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/internal/fielderr"

	"github.com/scaled-dev/scaled/pkg/policy"
)

// PID configures a PID policy (docs/policies.md). Gains: kp in replicas per
// signal unit, ki in replicas per signal unit per second, kd in replicas per
// signal unit per second of change, all multiplied by the current capacity
// when gain_scale is relative.
type PID struct {
	Signal    string  `json:"signal,omitempty"`
	Setpoint  float64 `json:"setpoint,omitempty"`
	Direction string  `json:"direction,omitempty"`  // decrease (default), increase
	GainScale string  `json:"gain_scale,omitempty"` // absolute (default), relative
	Kp        float64 `json:"kp,omitempty"`
	Ki        float64 `json:"ki,omitempty"`
	Kd        float64 `json:"kd,omitempty"`
	// DerivativeFilter is the derivative's low-pass time constant (0: none).
	DerivativeFilter time.Duration `json:"derivative_filter,omitempty"`
	Deadband         float64       `json:"deadband,omitempty"`
	MaxError         float64       `json:"max_error,omitempty"`
	FeedForward      *FeedForward  `json:"feed_forward,omitempty"`
	// Tolerance holds the recommendation at the current capacity while the
	// output is within these fractions of it.
	Tolerance *PIDTolerance `json:"tolerance,omitempty"`
}

// PIDTolerance is a PID's output tolerance, fractions of the current
// capacity: up 0.05 moves only for an output above 1.05 x current.
type PIDTolerance struct {
	Up   float64 `json:"up,omitempty"`
	Down float64 `json:"down,omitempty"`
}

// FeedForward adds load/per_replica replicas, so that the PID only trims.
type FeedForward struct {
	Signal     string  `json:"signal,omitempty"`
	PerReplica float64 `json:"per_replica,omitempty"`
	// Smoothing is the time constant of a moving average of the signal
	// (0: none).
	Smoothing time.Duration `json:"smoothing,omitempty"`
	// Lead projects the smoothed signal this far ahead along its smoothed
	// trend (needs smoothing; 0: no trend).
	Lead time.Duration `json:"lead,omitempty"`
}

// Step configures an AWS Application Auto Scaling step policy: one or two
// alarms on one signal, each with its step adjustments.
type Step struct {
	Signal   string    `json:"signal,omitempty"`
	ScaleOut *StepRule `json:"scale_out,omitempty"`
	ScaleIn  *StepRule `json:"scale_in,omitempty"`
}

// StepRule is one step scaling policy and its alarm.
type StepRule struct {
	Threshold float64 `json:"threshold,omitempty"`
	// Comparison defaults to GreaterThanOrEqualToThreshold for scale_out and
	// LessThanOrEqualToThreshold for scale_in.
	Comparison        string `json:"comparison,omitempty"`
	EvaluationPeriods int    `json:"evaluation_periods,omitempty"`  // N, default 1
	DatapointsToAlarm int    `json:"datapoints_to_alarm,omitempty"` // M, default N
	// AdjustmentType: ChangeInCapacity, PercentChangeInCapacity, ExactCapacity.
	AdjustmentType         string           `json:"adjustment_type,omitempty"`
	Steps                  []StepAdjustment `json:"steps,omitempty"`
	MinAdjustmentMagnitude int32            `json:"min_adjustment_magnitude,omitempty"`
	// Cooldown defaults to AWS's 300 s.
	Cooldown *time.Duration `json:"cooldown,omitempty"`
}

// StepAdjustment bounds are relative to the threshold; null is unbounded.
type StepAdjustment struct {
	Lower      *float64 `json:"lower,omitempty"`
	Upper      *float64 `json:"upper,omitempty"`
	Adjustment int32    `json:"adjustment,omitempty"`
}

// Schedule raises the minimum (and optionally lowers the maximum) capacity
// from each time Start names, for Duration, in Timezone.
type Schedule struct {
	Name     string        `json:"name,omitempty"`
	Start    string        `json:"start,omitempty"`    // five-field cron
	Timezone string        `json:"timezone,omitempty"` // IANA name, default UTC
	Duration time.Duration `json:"duration,omitempty"`
	Min      int32         `json:"min,omitempty"`
	Max      int32         `json:"max,omitempty"` // 0: no maximum
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
		name, rest, ok := strings.Cut(line, ": ")
		if !ok || strings.ContainsAny(name, " ") {
			p.add(path, noValue{}, "%s", line)
			continue
		}
		value, msg, ok := strings.Cut(rest, ": ")
		if !ok {
			p.add(path+"."+name, noValue{}, "%s", rest)
			continue
		}
		p.add(path+"."+name, fielderr.Shown(value), "%s", msg)
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
