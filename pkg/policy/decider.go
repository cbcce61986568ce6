package policy

import (
	"math"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/pkg/scaling"
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
// At the end every policy that implements FeedbackReceiver is told the final
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

// NewDecider validates spec and returns a Decider with empty history. Every
// problem is a field error under path (the scaler's; nil for paths relative
// to the spec), all at once. An empty Combine means max, an empty Select
// means Max, an empty OnFailure.Mode means hold. A direction with no rate
// limits is not rate limited (HPA's API requires at least one, and so does a
// config file; SelectDisabled freezes a direction). The policies' names are
// the caller's to keep unique.
func NewDecider(spec Spec, path *field.Path) (*Decider, field.ErrorList) {
	if spec.Combine == "" {
		spec.Combine = CombineMax
	}
	for _, r := range []*Rules{&spec.Behavior.ScaleUp, &spec.Behavior.ScaleDown} {
		if r.Select == "" {
			r.Select = SelectMax
		}
		r.Limits = slices.Clone(r.Limits)
	}
	if spec.OnFailure.Mode == "" {
		spec.OnFailure.Mode = FailureHold
	}
	if errs := spec.validate(path); len(errs) > 0 {
		return nil, errs
	}
	spec.Policies = slices.Clone(spec.Policies)
	spec.Schedules = slices.Clone(spec.Schedules)
	d := &Decider{spec: spec}
	d.collectNeeds()
	return d, nil
}

func (d *Decider) collectNeeds() {
	have := map[string]bool{}
	for _, p := range d.spec.Policies {
		if u, ok := p.(SignalReader); ok {
			for _, s := range u.Signals() {
				if !have[s] {
					have[s] = true
					d.signals = append(d.signals, s)
				}
			}
		}
		h, ok := p.(HistoryReader)
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
	slices.Sort(d.signals)
}

// Signals lists, sorted, every signal the spec's policies read (through
// SignalReader or HistoryReader). A failure of any of them is a failed signal.
// Bounds are the scaler's bounds, without the schedules' narrowing.
func (d *Decider) Bounds() Bounds { return d.spec.Bounds }

func (d *Decider) Signals() []string { return append([]string(nil), d.signals...) }

// HistoryNeeds is the union of the policies' history needs, one per signal:
// the longest window and the finest step asked for.
func (d *Decider) HistoryNeeds() []HistoryNeed { return append([]HistoryNeed(nil), d.needs...) }

// Decide computes the decision for in.Now. It fills every field of
// scaling.Decision except Scaler, Outcome, DryRun and Error, which belong to
// the loop. It records the recommendation for stabilisation.
//
// Each guard is a step that returns the number it leads to and why; the
// step changes the decision only when that number differs (the order is on
// Decider).
func (d *Decider) Decide(in Input) scaling.Decision {
	now, cur := in.Now, in.Capacity.Current
	dec := scaling.Decision{Time: now, Current: cur, Ready: in.Capacity.Ready}
	dec.Signals = d.signalValues(in)
	spoke := d.combine(in, &dec) // 1
	desired := dec.Recommended
	adjust := func(guard string, to int32, reason string) {
		if to == desired {
			return
		}
		dec.Adjustments = append(dec.Adjustments, scaling.Adjustment{Guard: guard, From: desired, To: to, Reason: reason})
		desired = to
	}
	if d.spec.SeedWithCurrent && !d.seeded {
		d.recs = append(d.recs, timedRecommendation{cur, now})
	}
	d.seeded = true
	bounds := d.tickBounds(now)

	// 0. Current outside the bounds: straight to the nearest bound, nothing else.
	if to, reason := bounds.outside(cur); reason != "" {
		adjust(bounds.guard(to), to, reason)
		return d.finish(dec, desired)
	}
	// 2. The failure rule; when it holds, the tick does not feed stabilisation.
	to, reason := d.failure(in, cur, desired, spoke)
	held := reason != ""
	adjust(GuardFailure, to, reason)
	// 3. Stabilisation.
	if !held {
		to, reason := d.stabilization(now, cur, desired)
		adjust(GuardStabilization, to, reason)
		// 3b. The startup hold (startup.go).
		to, reason = d.startupHold(now, dec.Recommended, cur, desired)
		adjust(GuardStartup, to, reason)
	}
	// 4. Rate limits.
	to, reason = d.rateLimit(now, cur, desired)
	adjust(GuardRateLimit, to, reason)
	// 5. Bounds, last, so that they always hold.
	to, reason = bounds.clamp(desired)
	adjust(bounds.guard(to), to, reason)
	return d.finish(dec, desired)
}

// combine asks every policy and takes the recommendation Combine picks
// among those that did not abstain; it reports whether any spoke. With none,
// the recommendation is the current capacity.
func (d *Decider) combine(in Input, dec *scaling.Decision) bool {
	dec.Recommendations = make([]scaling.Recommendation, len(d.spec.Policies))
	spoke := false
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
		if !spoke || better {
			spoke, dec.Recommended, dec.Winner = true, r.Replicas, r.Policy
		}
	}
	if !spoke {
		dec.Recommended = in.Capacity.Current
	}
	return spoke
}

// failure is the failure rule: when a signal a policy reads failed, or no
// policy spoke, the decision does not fall below current (hold) or below
// the fallback (fallback). reason is empty when the rule does not hold.
func (d *Decider) failure(in Input, cur, desired int32, spoke bool) (int32, string) {
	failed, nFailed := d.failedSignals(in)
	if nFailed == 0 && spoke {
		return desired, ""
	}
	floor := cur
	if d.spec.OnFailure.Mode == FailureFallback {
		floor = max(cur, d.spec.OnFailure.Fallback)
	}
	if spoke && desired >= floor {
		return desired, "" // a partial failure that wants at least current proceeds
	}
	return floor, failureReason(failed, nFailed, spoke, d.spec.OnFailure, cur, floor)
}

// stabilization is HPA's stabilisation over the recorded recommendations;
// it records desired.
func (d *Decider) stabilization(now time.Time, cur, desired int32) (int32, string) {
	b := &d.spec.Behavior
	var to, bound int32
	to, bound, d.recs = stabilize(d.recs, now, b, cur, desired)
	if to == desired {
		return to, ""
	}
	return to, stabilizationReason(b, cur, desired, to, bound)
}

// rateLimit holds a change within the direction's rate limits.
func (d *Decider) rateLimit(now time.Time, cur, desired int32) (int32, string) {
	b := &d.spec.Behavior
	to, limit := rateLimit(cur, desired, d.ups, d.downs, now, b)
	if to == desired {
		return to, ""
	}
	return to, rateLimitReason(b, cur, desired, limit)
}

func (d *Decider) finish(dec scaling.Decision, desired int32) scaling.Decision {
	dec.Desired = desired
	dec.Direction = scaling.DirectionOf(dec.Current, desired)
	clamped := len(dec.Adjustments) > 0
	for _, p := range d.spec.Policies {
		if f, ok := p.(FeedbackReceiver); ok {
			f.Feedback(dec.Time, desired, clamped)
		}
	}
	return dec
}

// tickBounds are the bounds of one tick, Bounds narrowed by the open
// schedule windows, and which schedule set each side ("" for none).
type tickBounds struct {
	Bounds
	minBy, maxBy string
}

// setter names the schedule that set bound v, or "".
func (b tickBounds) setter(v int32) string {
	switch v {
	case b.Min:
		return b.minBy
	case b.Max:
		return b.maxBy
	}
	return ""
}

// guard names the guard that set the bound v: a schedule's or the bounds'.
func (b tickBounds) guard(v int32) string {
	if b.setter(v) != "" {
		return GuardSchedule
	}
	return GuardBounds
}

// outside is the nearest bound when cur is outside the bounds; reason is
// empty when it is inside.
func (b tickBounds) outside(cur int32) (int32, string) {
	if cur >= b.Min && cur <= b.Max {
		return cur, ""
	}
	to := min(max(cur, b.Min), b.Max)
	return to, outsideBoundsReason(b, cur, to)
}

// clamp brings desired within the bounds.
func (b tickBounds) clamp(desired int32) (int32, string) {
	switch {
	case desired > b.Max:
		return b.Max, cappedReason(b, b.Max)
	case desired < b.Min:
		return b.Min, raisedReason(b, b.Min)
	}
	return desired, ""
}

// tickBounds narrows Bounds by the schedules open at now. A scheduled
// minimum above Bounds.Max is capped there, and a scheduled maximum never
// goes below the tick's minimum: Bounds always hold.
func (d *Decider) tickBounds(now time.Time) tickBounds {
	b := tickBounds{Bounds: d.spec.Bounds}
	for _, s := range d.spec.Schedules {
		if !s.Open(now) {
			continue
		}
		if m := min(s.Min, d.spec.Bounds.Max); m > b.Min {
			b.Min, b.minBy = m, s.Name
		}
		if s.Max > 0 && s.Max < b.Max {
			b.Max, b.maxBy = s.Max, s.Name
		}
	}
	if b.Max < b.Min {
		b.Max, b.maxBy = b.Min, b.minBy
	}
	return b
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
	slices.SortFunc(out, func(a, b scaling.SignalValue) int { return strings.Compare(a.Name, b.Name) })
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
