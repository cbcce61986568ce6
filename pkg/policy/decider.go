package policy

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Combine says how several policies' recommendations become one.
type Combine string

const (
	CombineMax Combine = "max" // scale out if any policy wants to, in only if all do
	CombineMin Combine = "min"
	// CombinePriority takes the first policy, in the order given, that does
	// not abstain: a preferred policy with fallbacks behind it.
	CombinePriority Combine = "priority"
)

// SelectPolicy mirrors HPA's selectPolicy.
type SelectPolicy string

const (
	SelectMax      SelectPolicy = "Max"
	SelectMin      SelectPolicy = "Min"
	SelectDisabled SelectPolicy = "Disabled"
)

// RateType mirrors HPAScalingPolicyType.
type RateType string

const (
	RatePods    RateType = "Pods"
	RatePercent RateType = "Percent"
)

// RateLimit mirrors HPAScalingPolicy: at most Value pods or percent per Period.
type RateLimit struct {
	Type   RateType
	Value  int32
	Period time.Duration
}

// Rules mirrors HPAScalingRules for one direction.
type Rules struct {
	StabilizationWindow time.Duration
	Select              SelectPolicy
	Limits              []RateLimit
}

// Behavior is the per-direction guard configuration (HPA spec.behavior).
type Behavior struct {
	ScaleUp   Rules
	ScaleDown Rules
}

// Bounds always hold, whatever else happens.
type Bounds struct {
	Min, Max int32
}

// FailureMode says what a failed signal does.
type FailureMode string

const (
	FailureHold     FailureMode = "hold"     // keep the current capacity
	FailureFallback FailureMode = "fallback" // rise to Fallback if below it, never fall
)

// OnFailure is the scaler's rule for failed signals.
type OnFailure struct {
	Mode     FailureMode
	Fallback int32
}

// Spec is everything a Decider needs.
type Spec struct {
	Policies  []Policy
	Combine   Combine
	Bounds    Bounds
	Behavior  Behavior
	OnFailure OnFailure
	// SeedWithCurrent records the current capacity as a recommendation at the
	// first tick, as HPA recordInitialRecommendation does, so that a freshly
	// started scaler waits a whole scale-down window before scaling in. The
	// backtest reference model (SIMULATION.md) does not seed.
	SeedWithCurrent bool
	// Schedules raise the minimum (and may lower the maximum) capacity while
	// their cron window is open; see Schedule and the guard order on Decider.
	Schedules []*Schedule
	// Startup holds a scale-down for a span proportional to the startup
	// delay (startup.go).
	Startup StartupHold
}

// Guard names, as they appear in scaling.Adjustment.Guard, in the order the
// Decider applies them.
const (
	GuardFailure       = "failure"
	GuardStabilization = "stabilization"
	GuardRateLimit     = "rate_limit"
	GuardBounds        = "bounds"
	// GuardSchedule marks a bound that an open schedule window set.
	GuardSchedule = "schedule"
)

// Decider turns one tick's readings into a decision: each policy recommends,
// the recommendations combine, the failure rule and the guards apply in a
// fixed order, and every change is explained. It keeps the history the guards
// need (recommendations for stabilisation, scale events for rate limits), so
// one Decider belongs to one scaler. It is not safe for concurrent use.
//
// The order, each step recording a scaling.Adjustment only when it changes
// the number:
//
//  0. The effective bounds are Bounds narrowed by the open schedule windows
//     (the highest scheduled minimum, the lowest scheduled maximum; a
//     schedule never widens Bounds). If the current capacity is outside
//     them, the decision is the nearest bound and nothing else runs (HPA's
//     "current number of replicas above Spec.MaxReplicas" special case). So
//     a schedule raises capacity at once, even when every signal failed.
//  1. Combine: max (default), min, or priority (the first in order) of the
//     policies that did not abstain; Decision.Winner names the one taken and
//     Decision.Recommendations keeps what each proposed.
//  2. Failure: if a signal any policy reads failed, or every policy abstained,
//     the decision never falls below current; "hold" keeps current,
//     "fallback" rises to at least OnFailure.Fallback. When this rule sets the
//     number the tick does not feed stabilisation (HPA records nothing on a
//     metrics error); a partial failure whose other policies want at least
//     current proceeds normally, as HPA's computeReplicasForMetrics does.
//  3. Stabilisation (HPA stabilizeRecommendationWithBehaviors), then the
//     startup hold: a fall stops at the highest recommendation of the last
//     Startup.Window() (StartupHold).
//  4. Rate limits (HPA convertDesiredReplicasWithBehaviorRate), counting
//     changes reported through Scaled.
//  5. Bounds (effective, as in 0), last, so they always hold.
//
// At the end every policy that implements FeedbackUser is told the final
// number, and Scaled is forwarded to every ScaleObserver.
type Decider struct {
	spec    Spec
	signals []string
	needs   []HistoryNeed

	seeded  bool
	recs    []timedRecommendation
	ups     []scaleEvent
	downs   []scaleEvent
	startup startupMax
}

// NewDecider validates spec and returns a Decider with empty history. An empty
// Combine means max, an empty Select means Max, an empty OnFailure.Mode means
// hold. A direction with no rate limits is not rate limited (HPA's API
// requires at least one; SelectDisabled freezes a direction).
func NewDecider(spec Spec) (*Decider, error) {
	var errs []error
	bad := func(field string, value any, allowed string) {
		errs = append(errs, fmt.Errorf("%s: %v: %s", field, value, allowed))
	}
	if len(spec.Policies) == 0 {
		bad("policies", "[]", "at least one policy is required")
	}
	seen := map[string]bool{}
	for i, p := range spec.Policies {
		if p == nil {
			bad(fmt.Sprintf("policies[%d]", i), "nil", "must be a policy")
			continue
		}
		if seen[p.Name()] {
			bad(fmt.Sprintf("policies[%d].name", i), fmt.Sprintf("%q", p.Name()), "must be unique within a scaler")
		}
		seen[p.Name()] = true
	}
	switch spec.Combine {
	case "":
		spec.Combine = CombineMax
	case CombineMax, CombineMin, CombinePriority:
	default:
		bad("combine", fmt.Sprintf("%q", spec.Combine), `must be "max", "min" or "priority"`)
	}
	if spec.Bounds.Min < 0 {
		bad("bounds.min", spec.Bounds.Min, "must be >= 0")
	}
	if spec.Bounds.Max < 1 || spec.Bounds.Max < spec.Bounds.Min {
		bad("bounds.max", spec.Bounds.Max, fmt.Sprintf("must be >= 1 and >= bounds.min (%d)", spec.Bounds.Min))
	}
	for _, dir := range []struct {
		name  string
		rules *Rules
	}{{"behavior.scale_up", &spec.Behavior.ScaleUp}, {"behavior.scale_down", &spec.Behavior.ScaleDown}} {
		r := dir.rules
		switch r.Select {
		case "":
			r.Select = SelectMax
		case SelectMax, SelectMin, SelectDisabled:
		default:
			bad(dir.name+".select_policy", fmt.Sprintf("%q", r.Select), "must be Max, Min or Disabled")
		}
		if r.StabilizationWindow < 0 {
			bad(dir.name+".stabilization_window", r.StabilizationWindow, "must be >= 0")
		}
		r.Limits = append([]RateLimit(nil), r.Limits...)
		for i, l := range r.Limits {
			f := fmt.Sprintf("%s.policies[%d]", dir.name, i)
			if l.Type != RatePods && l.Type != RatePercent {
				bad(f+".type", fmt.Sprintf("%q", l.Type), "must be Pods or Percent")
			}
			if l.Value <= 0 {
				bad(f+".value", l.Value, "must be > 0")
			}
			if l.Period <= 0 {
				bad(f+".period", l.Period, "must be > 0")
			}
		}
	}
	switch spec.OnFailure.Mode {
	case "":
		spec.OnFailure.Mode = FailureHold
	case FailureHold:
	case FailureFallback:
		if spec.OnFailure.Fallback < 0 || spec.OnFailure.Fallback > spec.Bounds.Max {
			bad("on_failure.fallback", spec.OnFailure.Fallback, fmt.Sprintf("must be between 0 and bounds.max (%d)", spec.Bounds.Max))
		}
	default:
		bad("on_failure.mode", fmt.Sprintf("%q", spec.OnFailure.Mode), `must be "hold" or "fallback"`)
	}
	for i, sc := range spec.Schedules {
		if sc == nil {
			bad(fmt.Sprintf("schedules[%d]", i), "nil", "must be a schedule")
		}
	}
	spec.Startup.validate(bad)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	spec.Policies = append([]Policy(nil), spec.Policies...)
	spec.Schedules = append([]*Schedule(nil), spec.Schedules...)
	d := &Decider{spec: spec}
	d.collectNeeds()
	return d, nil
}

func (d *Decider) collectNeeds() {
	have := map[string]bool{}
	for _, p := range d.spec.Policies {
		if u, ok := p.(SignalUser); ok {
			for _, s := range u.Signals() {
				if !have[s] {
					have[s] = true
					d.signals = append(d.signals, s)
				}
			}
		}
		h, ok := p.(HistoryUser)
		if !ok {
			continue
		}
	next:
		for _, n := range h.HistoryNeeds() {
			if !have[n.Signal] {
				have[n.Signal] = true
				d.signals = append(d.signals, n.Signal)
			}
			for i := range d.needs {
				if d.needs[i].Signal == n.Signal {
					d.needs[i].Window = max(d.needs[i].Window, n.Window)
					if n.Step > 0 && (d.needs[i].Step == 0 || n.Step < d.needs[i].Step) {
						d.needs[i].Step = n.Step
					}
					continue next
				}
			}
			d.needs = append(d.needs, n)
		}
	}
	sortStrings(d.signals)
}

// Signals lists, sorted, every signal the spec's policies read (through
// SignalUser or HistoryUser). A failure of any of them is a failed signal.
func (d *Decider) Signals() []string { return append([]string(nil), d.signals...) }

// HistoryNeeds is the union of the policies' history needs, one per signal:
// the longest window and the finest step asked for.
func (d *Decider) HistoryNeeds() []HistoryNeed { return append([]HistoryNeed(nil), d.needs...) }

// Decide computes the decision for in.Now. It fills every field of
// scaling.Decision except Scaler, Outcome, DryRun and Error, which belong to
// the loop. It records the recommendation for stabilisation.
func (d *Decider) Decide(in Input) scaling.Decision {
	now, cur := in.Now, in.Capacity.Current
	dec := scaling.Decision{Time: now, Current: cur, Ready: in.Capacity.Ready}
	dec.Signals = d.signalValues(in)

	// 1. Combine.
	dec.Recommendations = make([]scaling.Recommendation, len(d.spec.Policies))
	have := false
	for i, p := range d.spec.Policies {
		r := p.Recommend(in)
		r.Policy = p.Name()
		dec.Recommendations[i] = r
		if r.Abstain {
			continue
		}
		var better bool
		switch d.spec.Combine {
		case CombineMin:
			better = r.Replicas < dec.Recommended
		case CombinePriority:
			better = false // the first that speaks wins
		default:
			better = r.Replicas > dec.Recommended
		}
		if !have || better {
			have, dec.Recommended, dec.Winner = true, r.Replicas, r.Policy
		}
	}
	if !have {
		dec.Recommended = cur
	}
	desired := dec.Recommended
	adjust := func(guard string, to int32, reason string) {
		dec.Adjustments = append(dec.Adjustments, scaling.Adjustment{Guard: guard, From: desired, To: to, Reason: reason})
		desired = to
	}
	if d.spec.SeedWithCurrent && !d.seeded {
		d.recs = append(d.recs, timedRecommendation{cur, now})
	}
	d.seeded = true
	b := &d.spec.Behavior
	eb := d.effectiveBounds(now)
	lo, hi := eb.Min, eb.Max

	// 0. Current outside the bounds: go straight to the nearest bound.
	if cur > hi || cur < lo {
		to := min(max(cur, lo), hi)
		if to != desired {
			guard, reason := GuardBounds, fmt.Sprintf("current %d outside bounds [%d, %d]: set to %d", cur, lo, hi, to)
			if s := eb.setter(to); s != "" {
				guard, reason = GuardSchedule, fmt.Sprintf("current %d outside bounds [%d, %d] of schedule %s: set to %d", cur, lo, hi, s, to)
			}
			adjust(guard, to, reason)
		}
		return d.finish(dec, desired)
	}

	// 2. Failure rule.
	failed, nFailed := d.failedSignals(in)
	held := false
	if nFailed > 0 || !have {
		floor := cur
		if d.spec.OnFailure.Mode == FailureFallback {
			floor = max(cur, d.spec.OnFailure.Fallback)
		}
		if !have || desired < floor {
			held = true
			if floor != desired {
				adjust(GuardFailure, floor, failureReason(failed, nFailed, have, d.spec.OnFailure, cur, floor))
			}
		}
	}

	// 3. Stabilisation.
	if !held {
		var st, bound int32
		st, bound, d.recs = stabilize(d.recs, now, b, cur, desired)
		if st != desired {
			var reason string
			if desired >= cur {
				reason = fmt.Sprintf("scale-up stabilised: min over %s = %d", b.ScaleUp.StabilizationWindow, bound)
			} else {
				reason = fmt.Sprintf("scale-down stabilised: max over %s = %d", b.ScaleDown.StabilizationWindow, bound)
			}
			if st != bound {
				reason += fmt.Sprintf(", kept at current %d", cur)
			}
			adjust(GuardStabilization, st, reason)
		}
	}

	// 3b. Startup hold (startup.go).
	if !held {
		if to, reason := d.holdForStartup(now, dec.Recommended, cur, desired); to != desired {
			adjust(GuardStartup, to, reason)
		}
	}

	// 4. Rate limits.
	if rl, limit := rateLimit(cur, desired, d.ups, d.downs, now, b); rl != desired {
		if desired > cur {
			adjust(GuardRateLimit, rl, fmt.Sprintf("scale-up rate limit: at most %d (%s)", limit, describeRules(&b.ScaleUp)))
		} else {
			adjust(GuardRateLimit, rl, fmt.Sprintf("scale-down rate limit: at least %d (%s)", limit, describeRules(&b.ScaleDown)))
		}
	}

	// 5. Bounds.
	switch {
	case desired > hi:
		if s := eb.setter(hi); s != "" {
			adjust(GuardSchedule, hi, fmt.Sprintf("capped at max %d of schedule %s", hi, s))
		} else {
			adjust(GuardBounds, hi, fmt.Sprintf("capped at max %d", hi))
		}
	case desired < lo:
		if s := eb.setter(lo); s != "" {
			adjust(GuardSchedule, lo, fmt.Sprintf("raised to min %d of schedule %s", lo, s))
		} else {
			adjust(GuardBounds, lo, fmt.Sprintf("raised to min %d", lo))
		}
	}
	return d.finish(dec, desired)
}

func (d *Decider) finish(dec scaling.Decision, desired int32) scaling.Decision {
	dec.Desired = desired
	dec.Direction = scaling.DirectionOf(dec.Current, desired)
	clamped := len(dec.Adjustments) > 0
	for _, p := range d.spec.Policies {
		if f, ok := p.(FeedbackUser); ok {
			f.Feedback(dec.Time, desired, clamped)
		}
	}
	return dec
}

// effective are the bounds of one tick and which schedule set each side.
type effective struct {
	Bounds
	minBy, maxBy string
}

// setter names the schedule that set bound v, or "".
func (e effective) setter(v int32) string {
	switch v {
	case e.Min:
		return e.minBy
	case e.Max:
		return e.maxBy
	}
	return ""
}

// effectiveBounds narrows Bounds by the schedules open at now. A scheduled
// minimum above Bounds.Max is capped there, and a scheduled maximum never
// goes below the effective minimum: Bounds always hold.
func (d *Decider) effectiveBounds(now time.Time) effective {
	e := effective{Bounds: d.spec.Bounds}
	for _, s := range d.spec.Schedules {
		if !s.Open(now) {
			continue
		}
		if m := min(s.Min, d.spec.Bounds.Max); m > e.Min {
			e.Min, e.minBy = m, s.Name
		}
		if s.Max > 0 && s.Max < e.Max {
			e.Max, e.maxBy = s.Max, s.Name
		}
	}
	if e.Max < e.Min {
		e.Max, e.maxBy = e.Min, e.minBy
	}
	return e
}

// PolicyState is one policy's exported state (see StateReporter).
type PolicyState struct {
	Policy string
	Vars   map[string]float64
}

// States returns the state of every policy that reports one, in spec order.
func (d *Decider) States() []PolicyState {
	var out []PolicyState
	for _, p := range d.spec.Policies {
		if r, ok := p.(StateReporter); ok {
			out = append(out, PolicyState{Policy: p.Name(), Vars: r.State()})
		}
	}
	return out
}

// Scaled records that the target really changed from one capacity to another
// at now; rate limits count these changes over their periods (HPA
// storeScaleEvent).
func (d *Decider) Scaled(now time.Time, from, to int32) {
	switch {
	case to > from:
		d.ups = storeScaleEvent(d.ups, now, &d.spec.Behavior.ScaleUp, to-from)
	case to < from:
		d.downs = storeScaleEvent(d.downs, now, &d.spec.Behavior.ScaleDown, from-to)
	}
	for _, p := range d.spec.Policies {
		if o, ok := p.(ScaleObserver); ok {
			o.Scaled(now, from, to)
		}
	}
}

// signalValues reports every reading of the tick, and every signal a policy
// reads that has no reading, sorted by name.
func (d *Decider) signalValues(in Input) []scaling.SignalValue {
	n := len(in.Signals)
	for _, s := range d.signals {
		if _, ok := in.Signals[s]; !ok {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]scaling.SignalValue, 0, n)
	for name, r := range in.Signals {
		v := scaling.SignalValue{Name: name}
		if r.Err != nil {
			v.Failed, v.Error = scaling.KindOf(r.Err), r.Err.Error()
		} else {
			v.Value, v.Time = r.Sample.Value, r.Sample.Time
			if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
				v.Failed = scaling.FailureNotFinite
			}
		}
		out = append(out, v)
	}
	for _, s := range d.signals {
		if _, ok := in.Signals[s]; !ok {
			out = append(out, scaling.SignalValue{Name: s, Failed: scaling.FailureEmpty, Error: "no reading"})
		}
	}
	// Insertion sort: a handful of signals, and no allocation.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Name < out[j-1].Name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// failedSignals returns the first failed signal a policy reads, described
// as "name (kind)", and how many failed.
func (d *Decider) failedSignals(in Input) (string, int) {
	first, n := "", 0
	for _, s := range d.signals {
		r, ok := in.Signals[s]
		var kind scaling.FailureKind
		switch {
		case !ok:
			kind = scaling.FailureEmpty
		case r.Err != nil:
			kind = scaling.KindOf(r.Err)
		case math.IsNaN(r.Sample.Value) || math.IsInf(r.Sample.Value, 0):
			kind = scaling.FailureNotFinite
		default:
			continue
		}
		if n == 0 {
			first = s + " (" + string(kind) + ")"
		}
		n++
	}
	return first, n
}

func failureReason(failed string, n int, have bool, of OnFailure, cur, floor int32) string {
	var b strings.Builder
	switch {
	case n == 1:
		b.WriteString("signal " + failed + " failed")
	case n > 1:
		fmt.Fprintf(&b, "signal %s and %d more failed", failed, n-1)
	default:
		b.WriteString("every policy abstained")
	}
	if have && n > 0 {
		b.WriteString(": no scale-down")
	}
	if of.Mode == FailureFallback && floor > cur {
		fmt.Fprintf(&b, "; fallback to %d", floor)
	} else {
		fmt.Fprintf(&b, "; hold at current %d", cur)
	}
	return b.String()
}

func describeRules(r *Rules) string {
	if r.Select == SelectDisabled {
		return "scaling disabled in this direction"
	}
	var b strings.Builder
	b.WriteString("select ")
	b.WriteString(string(r.Select))
	for i, l := range r.Limits {
		if i == 0 {
			b.WriteString(" of ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d per %s", l.Type, l.Value, l.Period)
	}
	return b.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
