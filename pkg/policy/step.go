package policy

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// AdjustmentType says how a step's adjustment is read, as in AWS
// Application Auto Scaling's StepScalingPolicyConfiguration.
type AdjustmentType string

const (
	ChangeInCapacity        AdjustmentType = "ChangeInCapacity"
	PercentChangeInCapacity AdjustmentType = "PercentChangeInCapacity"
	ExactCapacity           AdjustmentType = "ExactCapacity"
)

// AdjustmentTypes lists every AdjustmentType.
var AdjustmentTypes = []AdjustmentType{ChangeInCapacity, PercentChangeInCapacity, ExactCapacity}

// Comparison is the alarm's comparison of a datapoint with its threshold
// (CloudWatch ComparisonOperator).
type Comparison string

const (
	GreaterThanOrEqualToThreshold Comparison = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold          Comparison = "GreaterThanThreshold"
	LessThanThreshold             Comparison = "LessThanThreshold"
	LessThanOrEqualToThreshold    Comparison = "LessThanOrEqualToThreshold"
)

// Comparisons lists every Comparison.
var Comparisons = []Comparison{GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold}

// StepAdjustment is AWS's StepAdjustment: bounds relative to the alarm
// threshold (nil for unbounded) and the adjustment. When the metric is at or
// above the threshold the lower bound is inclusive and the upper exclusive;
// below it, the lower bound is exclusive and the upper inclusive.
type StepAdjustment struct {
	// Lower bound of the step, relative to the threshold (unset: none).
	Lower *float64 `json:"lower,omitempty"`
	// Upper bound of the step, relative to the threshold (unset: none).
	Upper *float64 `json:"upper,omitempty"`
	// Adjustment applied while the metric is within the step, in the
	// rule's adjustment_type.
	Adjustment int32 `json:"adjustment,omitempty"`
}

// StepRule is one AWS step scaling policy together with its CloudWatch
// alarm: the alarm is in ALARM when at least DatapointsToAlarm of the last
// EvaluationPeriods datapoints (one per tick with a good reading) breach
// Threshold by Comparison; while it is, each tick applies the step that
// contains metric - Threshold.
type StepRule struct {
	Threshold              float64
	Comparison             Comparison
	EvaluationPeriods      int // N
	DatapointsToAlarm      int // M, 1 <= M <= N
	AdjustmentType         AdjustmentType
	Steps                  []StepAdjustment
	MinAdjustmentMagnitude int32 // PercentChangeInCapacity only
	// Cooldown, AWS's per-policy cooldown (default there 300 s). During a
	// scale-out cooldown a larger step adds only the difference from the
	// capacity before the scale-out that started it; a scale-in waits for
	// its cooldown to end; a scale-out ends a scale-in cooldown.
	Cooldown time.Duration

	window []bool // the last N datapoints: breaching or not, oldest first
}

// TypeStep is an AWS Application Auto Scaling step policy (docs/policies.md).
const TypeStep PolicyType = "step"

func init() {
	Register(TypeStep, func() PolicySpec { return &StepSpec{} })
}

// DefaultStepCooldown is AWS's default cooldown for step scaling.
const DefaultStepCooldown = 300 * time.Second

// MaxSteps is the most steps one step rule holds.
const MaxSteps = 20

// StepSpec is the step block of a policy: one or two alarms on one signal,
// each with its step adjustments.
type StepSpec struct {
	// Signal names the scaler's signal the alarms watch.
	Signal string `json:"signal,omitempty"`
	// ScaleOut is the alarm and steps that add capacity.
	ScaleOut *StepRuleSpec `json:"scale_out,omitempty"`
	// ScaleIn is the alarm and steps that remove capacity.
	ScaleIn *StepRuleSpec `json:"scale_in,omitempty"`
}

// StepRuleSpec is one step scaling policy and its alarm, as a step block
// writes it (StepRule says what each key does).
type StepRuleSpec struct {
	// Threshold the alarm compares the signal with.
	Threshold float64 `json:"threshold,omitempty"`
	// Comparison defaults to GreaterThanOrEqualToThreshold for scale_out and
	// LessThanOrEqualToThreshold for scale_in.
	Comparison Comparison `json:"comparison,omitempty"`
	// EvaluationPeriods is how many of the last readings the alarm looks
	// at (default 1).
	EvaluationPeriods int `json:"evaluation_periods,omitempty"`
	// DatapointsToAlarm is how many of them must breach (default all).
	DatapointsToAlarm int `json:"datapoints_to_alarm,omitempty"`
	// AdjustmentType: ChangeInCapacity, PercentChangeInCapacity, ExactCapacity.
	AdjustmentType AdjustmentType `json:"adjustment_type,omitempty"`
	// Steps, each a range of the signal's distance from the threshold and
	// what to do in it.
	Steps []StepAdjustment `json:"steps,omitempty"`
	// MinAdjustmentMagnitude is the least change a percent step makes.
	MinAdjustmentMagnitude int32 `json:"min_adjustment_magnitude,omitempty"`
	// Cooldown defaults to AWS's 300 s; an explicit 0s is kept.
	Cooldown *time.Duration `json:"cooldown,omitempty"`
}

// Default implements PolicySpec: AWS's defaults for each rule.
func (s *StepSpec) Default() {
	s.ScaleOut.fill(GreaterThanOrEqualToThreshold)
	s.ScaleIn.fill(LessThanOrEqualToThreshold)
}

func (r *StepRuleSpec) fill(comparison Comparison) {
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

// rule is the StepRule of a (defaulted) rule, nil for nil.
func (r *StepRuleSpec) rule() *StepRule {
	if r == nil {
		return nil
	}
	out := &StepRule{
		Threshold: r.Threshold, Comparison: r.Comparison, EvaluationPeriods: r.EvaluationPeriods,
		DatapointsToAlarm: r.DatapointsToAlarm, AdjustmentType: r.AdjustmentType,
		Steps: r.Steps, MinAdjustmentMagnitude: r.MinAdjustmentMagnitude,
	}
	if r.Cooldown != nil {
		out.Cooldown = *r.Cooldown
	}
	return out
}

// New implements PolicySpec.
func (s *StepSpec) New(name string, ctx ScalerContext, path *field.Path) (Policy, field.ErrorList) {
	var errs field.ErrorList
	if e := ctx.RequireSignal(path.Child("signal"), s.Signal); e != nil {
		errs = append(errs, e)
	}
	p, serrs := newStep(name, s.Signal, s.ScaleOut.rule(), s.ScaleIn.rule(), path)
	if errs = append(errs, serrs...); len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// Step is a step scaling policy with AWS Application Auto Scaling
// semantics, with up to one scale-out and one scale-in rule on one signal
// (AWS pairs two policies with two alarms; here they share a signal). With
// neither alarm in ALARM it recommends the current capacity.
type Step struct {
	name    string
	signal  string
	out, in *StepRule

	outUntil, inUntil time.Time // cooldowns end
	outBase           int32     // capacity before the scale-out that started the cooldown
}

var (
	_ Policy        = (*Step)(nil)
	_ SignalReader  = (*Step)(nil)
	_ ScaleObserver = (*Step)(nil)
)

// NewStep validates both rules with AWS's rules for step adjustments and
// returns the policy. out must scale out (positive adjustments or an exact
// capacity), in must scale in; either may be nil, not both. A scaler's step
// policies are built from their StepSpec instead.
func NewStep(name, signal string, out, in *StepRule) (*Step, error) {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, fielderr.Required(field.NewPath("name"), name, "must not be empty"))
	}
	if e := (ScalerContext{}).RequireSignal(field.NewPath("signal"), signal); e != nil {
		errs = append(errs, e)
	}
	s, serrs := newStep(name, signal, out, in, nil)
	return s, asError(append(errs, serrs...))
}

// newStep checks both rules under path and builds the policy; the signal is
// the caller's to check.
func newStep(name, signal string, out, in *StepRule, path *field.Path) (*Step, field.ErrorList) {
	var errs field.ErrorList
	if out == nil && in == nil {
		errs = append(errs, fielderr.Problem(path, "scale_out and scale_in are both unset: at least one is required"))
	}
	if out != nil {
		errs = append(errs, validateStepRule(out, path.Child("scale_out"))...)
	}
	if in != nil {
		errs = append(errs, validateStepRule(in, path.Child("scale_in"))...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s := &Step{name: name, signal: signal}
	if out != nil {
		c := *out
		c.Steps = sortedSteps(out.Steps)
		s.out = &c
	}
	if in != nil {
		c := *in
		c.Steps = sortedSteps(in.Steps)
		s.in = &c
	}
	return s, nil
}

func sortedSteps(steps []StepAdjustment) []StepAdjustment {
	out := append([]StepAdjustment(nil), steps...)
	slices.SortStableFunc(out, func(a, b StepAdjustment) int { return cmp.Compare(lowerOf(a), lowerOf(b)) })
	return out
}

func lowerOf(s StepAdjustment) float64 {
	if s.Lower == nil {
		return math.Inf(-1)
	}
	return *s.Lower
}

func upperOf(s StepAdjustment) float64 {
	if s.Upper == nil {
		return math.Inf(1)
	}
	return *s.Upper
}

func fmtBound(b *float64) string {
	if b == nil {
		return "null"
	}
	return strconv.FormatFloat(*b, 'g', -1, 64)
}

// validateStepRule applies AWS's PutScalingPolicy checks under path;
// messages follow AWS's ValidationException wording.
func validateStepRule(r *StepRule, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	bad := func(p *field.Path, v any, format string, args ...any) {
		errs = append(errs, fielderr.Invalid(p, v, format, args...))
	}
	steps := path.Child("steps")
	if !finite(r.Threshold) {
		bad(path.Child("threshold"), r.Threshold, "must be a finite number")
	}
	if !slices.Contains(Comparisons, r.Comparison) {
		errs = append(errs, fielderr.NotSupported(path.Child("comparison"), string(r.Comparison), Comparisons))
	}
	if r.EvaluationPeriods < 1 {
		bad(path.Child("evaluation_periods"), r.EvaluationPeriods, "must be >= 1")
	}
	if r.DatapointsToAlarm < 1 || r.DatapointsToAlarm > r.EvaluationPeriods {
		bad(path.Child("datapoints_to_alarm"), r.DatapointsToAlarm, "must be between 1 and evaluation_periods (%d)", r.EvaluationPeriods)
	}
	if !slices.Contains(AdjustmentTypes, r.AdjustmentType) {
		errs = append(errs, fielderr.NotSupported(path.Child("adjustment_type"), string(r.AdjustmentType), AdjustmentTypes))
	}
	if r.MinAdjustmentMagnitude < 0 {
		bad(path.Child("min_adjustment_magnitude"), r.MinAdjustmentMagnitude, "must be >= 0")
	}
	if r.MinAdjustmentMagnitude > 0 && r.AdjustmentType != PercentChangeInCapacity {
		bad(path.Child("min_adjustment_magnitude"), r.MinAdjustmentMagnitude, "MinAdjustmentMagnitude may only be specified if AdjustmentType is PercentChangeInCapacity")
	}
	if r.Cooldown < 0 {
		bad(path.Child("cooldown"), r.Cooldown, "must be >= 0")
	}
	if len(r.Steps) == 0 {
		bad(steps, fielderr.Shown("[]"), "StepAdjustments must contain at least one step adjustment")
		return errs
	}
	if len(r.Steps) > MaxSteps {
		return append(errs, fielderr.TooMany(steps, len(r.Steps), MaxSteps, "steps"))
	}
	nullLower, nullUpper := 0, 0
	negLower, posUpper := false, false
	for i, s := range r.Steps {
		sp := steps.Index(i)
		if s.Lower == nil && s.Upper == nil {
			bad(sp, fielderr.Shown("lower and upper both null"), "the upper and lower bound can't be null in the same step adjustment")
		}
		for _, b := range []*float64{s.Lower, s.Upper} {
			if b != nil && !finite(*b) {
				bad(sp, fielderr.Shown(fmt.Sprintf("bound %v", *b)), "must be a finite number or null")
			}
		}
		if s.Lower == nil {
			nullLower++
		} else if *s.Lower < 0 {
			negLower = true
		}
		if s.Upper == nil {
			nullUpper++
		} else if *s.Upper > 0 {
			posUpper = true
		}
		if s.Lower != nil && s.Upper != nil && !(*s.Lower < *s.Upper) {
			bad(sp, fielderr.Shown(fmt.Sprintf("lower %s, upper %s", fmtBound(s.Lower), fmtBound(s.Upper))), "MetricIntervalLowerBound must be less than MetricIntervalUpperBound")
		}
		if r.AdjustmentType == ExactCapacity && s.Adjustment < 0 {
			bad(sp.Child("adjustment"), s.Adjustment, "ScalingAdjustment must be non-negative for ExactCapacity")
		}
	}
	if nullLower > 1 {
		bad(steps, fielderr.Shown(fmt.Sprintf("%d steps with a null lower bound", nullLower)), "at most one step adjustment can have a null lower bound")
	}
	if nullUpper > 1 {
		bad(steps, fielderr.Shown(fmt.Sprintf("%d steps with a null upper bound", nullUpper)), "at most one step adjustment can have a null upper bound")
	}
	if negLower && nullLower == 0 {
		bad(steps, fielderr.Shown("a negative lower bound and no null lower bound"), "if one step adjustment has a negative lower bound, there must be a step adjustment with a null lower bound")
	}
	if posUpper && nullUpper == 0 {
		bad(steps, fielderr.Shown("a positive upper bound and no null upper bound"), "if one step adjustment has a positive upper bound, there must be a step adjustment with a null upper bound")
	}
	if len(errs) > 0 {
		return errs
	}
	sorted := sortedSteps(r.Steps)
	for i := 1; i < len(sorted); i++ {
		prevU, lo := upperOf(sorted[i-1]), lowerOf(sorted[i])
		switch {
		case lo < prevU:
			bad(steps, fielderr.Shown(fmt.Sprintf("[%s, %s] and [%s, %s]", fmtBound(sorted[i-1].Lower), fmtBound(sorted[i-1].Upper), fmtBound(sorted[i].Lower), fmtBound(sorted[i].Upper))), "step adjustments can't overlap")
		case lo > prevU:
			bad(steps, fielderr.Shown(fmt.Sprintf("gap between %s and %s", fmtBound(sorted[i-1].Upper), fmtBound(sorted[i].Lower))), "step adjustments can't have a gap")
		}
	}
	return errs
}

// Name implements Policy.
func (s *Step) Name() string { return s.name }

// Signals implements SignalReader.
func (s *Step) Signals() []string { return []string{s.signal} }

func (r *StepRule) breaches(v float64) bool {
	switch r.Comparison {
	case GreaterThanOrEqualToThreshold:
		return v >= r.Threshold
	case GreaterThanThreshold:
		return v > r.Threshold
	case LessThanThreshold:
		return v < r.Threshold
	}
	return v <= r.Threshold
}

// observe records a datapoint and reports whether the alarm is in ALARM.
func (r *StepRule) observe(v float64) (bool, int) {
	r.window = append(r.window, r.breaches(v))
	if len(r.window) > r.EvaluationPeriods {
		r.window = r.window[len(r.window)-r.EvaluationPeriods:]
	}
	n := 0
	for _, b := range r.window {
		if b {
			n++
		}
	}
	return n >= r.DatapointsToAlarm, n
}

// step returns the step containing diff = metric - threshold, with AWS's
// inclusivity: at or above the threshold [lower, upper), below it
// (lower, upper].
func (r *StepRule) step(diff float64) (StepAdjustment, bool) {
	for _, s := range r.Steps {
		lo, up := lowerOf(s), upperOf(s)
		if diff >= 0 && lo <= diff && diff < up {
			return s, true
		}
		if diff < 0 && lo < diff && diff <= up {
			return s, true
		}
	}
	return StepAdjustment{}, false
}

// Target is the capacity a step asks for from current, with AWS's rounding
// of percentages: a result above 1 rounds down, between 0 and 1 becomes 1,
// between -1 and 0 becomes -1, below -1 rounds up (toward zero); then
// MinAdjustmentMagnitude raises its magnitude.
func (r *StepRule) Target(current int32, adj int32) int32 {
	switch r.AdjustmentType {
	case ExactCapacity:
		return adj
	case PercentChangeInCapacity:
		x := float64(current) * float64(adj) / 100
		var d int32
		switch {
		case x >= 1:
			d = sat32f(math.Floor(x))
		case x > 0:
			d = 1
		case x <= -1:
			d = sat32f(math.Ceil(x))
		case x < 0:
			d = -1
		}
		if m := r.MinAdjustmentMagnitude; m > 0 && d != 0 && abs32(d) < m {
			if d > 0 {
				d = m
			} else {
				d = -m
			}
		}
		return max(0, sat32(int64(current)+int64(d)))
	}
	return max(0, sat32(int64(current)+int64(adj)))
}

func abs32(x int32) int32 {
	if x < 0 {
		return sat32(-int64(x))
	}
	return x
}

// Recommend implements Policy. A failed signal adds no datapoint (AWS's
// treatMissingData "missing") and the policy abstains.
func (s *Step) Recommend(in Input) scaling.Recommendation {
	rec := scaling.Recommendation{Policy: s.name}
	v, why := read(in, s.signal)
	if why != "" {
		rec.Abstain, rec.Reason = true, "abstain: "+why
		return rec
	}
	cur, now := in.Capacity.Current, in.Now
	rec.Replicas = cur
	var outAlarm, inAlarm bool
	var outN, inN int
	if s.out != nil {
		outAlarm, outN = s.out.observe(v)
	}
	if s.in != nil {
		inAlarm, inN = s.in.observe(v)
	}
	val := strconv.FormatFloat(v, 'g', 4, 64)
	// The scale-out alarm wins; the step that contains metric - threshold
	// is taken, lower bound inclusive for scale-out, upper for scale-in.
	var r *StepRule
	var alarm, left, right string
	switch {
	case outAlarm:
		r, alarm, left, right = s.out, fmt.Sprintf("scale-out alarm (%d of %d): ", outN, s.out.EvaluationPeriods), "[", ")"
	case inAlarm:
		r, alarm, left, right = s.in, fmt.Sprintf("scale-in alarm (%d of %d): ", inN, s.in.EvaluationPeriods), "(", "]"
	default:
		rec.Reason = "no alarm: " + s.signal + " " + val + ": hold"
		return rec
	}
	st, ok := r.step(v - r.Threshold)
	if !ok {
		rec.Reason = fmt.Sprintf("%s%s - threshold %v matches no step: hold", alarm, val, r.Threshold)
		return rec
	}
	step := fmt.Sprintf("%s in step %s%s, %s%s %s %d", val, left, fmtBound(st.Lower), fmtBound(st.Upper), right, r.AdjustmentType, st.Adjustment)
	switch {
	case outAlarm && now.Before(s.outUntil):
		// Cooldown: what the initiating scale-out added counts.
		t := r.Target(s.outBase, st.Adjustment)
		rec.Replicas = max(cur, t)
		rec.Reason = fmt.Sprintf("%s%s; in cooldown until %s: from %d before it -> %d, keep at least %d -> %d",
			alarm, step, s.outUntil.Format(time.RFC3339), s.outBase, t, cur, rec.Replicas)
	case outAlarm:
		rec.Replicas = max(cur, r.Target(cur, st.Adjustment))
		rec.Reason = fmt.Sprintf("%s%s: %d -> %d", alarm, step, cur, rec.Replicas)
	case now.Before(s.inUntil):
		rec.Reason = fmt.Sprintf("%sin cooldown until %s: hold", alarm, s.inUntil.Format(time.RFC3339))
	default:
		rec.Replicas = min(cur, r.Target(cur, st.Adjustment))
		rec.Reason = fmt.Sprintf("%s%s: %d -> %d", alarm, step, cur, rec.Replicas)
	}
	return rec
}

// Scaled implements ScaleObserver: a scale-out starts the scale-out
// cooldown (unless one is running, whose base stays) and ends a scale-in
// cooldown; a scale-in starts the scale-in cooldown.
func (s *Step) Scaled(now time.Time, from, to int32) {
	switch {
	case to > from:
		if s.out != nil && !now.Before(s.outUntil) {
			s.outBase, s.outUntil = from, now.Add(s.out.Cooldown)
		}
		s.inUntil = time.Time{}
	case to < from:
		if s.in != nil {
			s.inUntil = now.Add(s.in.Cooldown)
		}
	}
}
