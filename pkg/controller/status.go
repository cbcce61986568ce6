package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/workqueue"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/internal/phase"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// The status writer keeps, per Scaler, what its status should say: the
// spec taken in (or refused), the last decision and the last read of its
// target. It writes a status only when something a person reads in
// `kubectl get scalers` changes (capacity, outcome, a condition, a failing
// signal), at most once per Scaler per interval, and otherwise refreshes
// it (signal values, decision time) once per refresh period (see
// refreshPeriod), each Scaler at its own point of the period. Its queue
// holds keys, each once, so it is bounded by the number of Scalers; its
// client has a rate limit of its own. Only the replica acting for a Scaler
// writes.
type statusWriter struct {
	c     *Controller
	queue workqueue.TypedRateLimitingInterface[string]

	mu     sync.Mutex
	rules  config.ScalerObjects
	states map[string]*scalerState
	acting int // Scalers this process acted for when last asked (taken in, or written)
}

// refreshShare is the part of status_qps that refreshes may take: the rest
// is left to changes, so that a change is not queued behind refreshes.
const refreshShare = 0.5

// refreshPeriod is how often an unchanged status is written again:
// status_refresh, or longer when the Scalers this process writes for would
// otherwise take more than refreshShare of status_qps (10,000 Scalers at
// 20 per second: 1,000 s). Whole seconds; w.mu is held.
func (w *statusWriter) refreshPeriod() time.Duration {
	need := time.Duration(float64(w.acting) / (w.rules.StatusQPS * refreshShare) * float64(time.Second))
	return max(w.rules.StatusRefresh, need.Round(time.Second))
}

// refreshDue says whether the Scaler key, whose status was last written
// (or seen written) at last, is due for a refresh at now: whether a
// refresh point of key has passed since last. Each Scaler's points are
// period apart, at an offset within the period that a hash of its key
// fixes, so that the refreshes of a fleet created or started at once are
// spread evenly over the period instead of all coming due together.
func refreshDue(key string, last, now time.Time, period time.Duration) bool {
	if last.IsZero() {
		return true
	}
	offset := phase.Of(key, period, time.Millisecond)
	point := func(t time.Time) int64 { return int64(t.Sub(time.Unix(0, 0).Add(offset)) / period) }
	return point(now) > point(last)
}

// scalerState is what one Scaler's status is made of.
type scalerState struct {
	uid        types.UID
	generation int64    // of the spec last taken in, valid or not
	problems   []string // the last spec's, when it was refused
	startErr   string   // why the last valid spec did not start
	running    bool     // a valid spec runs: the last, or an earlier one
	target     string
	dryRun     bool
	interval   time.Duration

	decision   *scaling.Decision // the last of what runs
	readReason string            // of the last read of the target ("" ok)
	shown      shown             // what the last decision enqueued showed
	refreshed  time.Time         // when the status was last written, or seen written

	written   string // material of the last status written
	writtenAt time.Time
	acting    bool // this process acted for the Scaler when last asked

	events   *actuators.EventRecorder
	pending  []event // Events whose tokens were taken, to record
	invalidG int64   // generation whose refusal was recorded as an Event
}

type event struct {
	typ, reason, msg string
}

// shown is what a decision changes in a status that a write must follow.
type shown struct {
	current, ready, desired int32
	outcome                 scaling.Outcome
	limitedBy, failing      string
	readReason              string
}

func newStatusWriter(c *Controller, rules config.ScalerObjects) *statusWriter {
	return &statusWriter{
		c: c, rules: rules, states: map[string]*scalerState{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, time.Minute),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "scaled_scaler_status", Clock: c.o.Clock}),
	}
}

func (w *statusWriter) setRules(r config.ScalerObjects) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rules = r
}

func (w *statusWriter) shutdown() { w.queue.ShutDown() }

// state is key's state, made on first use; w.mu is held.
func (w *statusWriter) state(obj *unstructured.Unstructured) *scalerState {
	key := v1alpha1.Key(obj.GetNamespace(), obj.GetName())
	st := w.states[key]
	if st == nil || st.uid != obj.GetUID() { // a new object of an old name starts afresh
		if st != nil {
			w.setActing(st, false)
		}
		st = &scalerState{uid: obj.GetUID()}
		st.events = actuators.NewEventRecorder(w.c.o.Core,
			corev1.ObjectReference{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID()},
			actuators.EventOptions{Identity: w.c.o.Identity, Clock: w.c.o.Clock, Logger: w.c.log, Suppressed: w.c.metrics.eventSuppressed})
		if prev := statusOf(obj); prev.LastDecision != nil {
			st.refreshed = prev.LastDecision.Time.Time
		}
		w.states[key] = st
	}
	return st
}

// invalid records a refused spec.
func (w *statusWriter) invalid(obj *unstructured.Unstructured, problems field.ErrorList) {
	w.mu.Lock()
	st := w.state(obj)
	st.generation = obj.GetGeneration()
	st.problems = fielderr.Lines(problems)
	st.startErr = ""
	if st.invalidG != st.generation && st.events.Allow() {
		st.invalidG = st.generation
		st.pending = append(st.pending, event{corev1.EventTypeWarning, v1alpha1.ReasonInvalidSpec, strings.Join(st.problems, "; ")})
	}
	w.mu.Unlock()
	w.queue.Add(v1alpha1.Key(obj.GetNamespace(), obj.GetName()))
}

// notStarted records a valid spec that could not be built.
func (w *statusWriter) notStarted(obj *unstructured.Unstructured, err error) {
	w.mu.Lock()
	st := w.state(obj)
	st.generation, st.problems, st.startErr = obj.GetGeneration(), nil, err.Error()
	w.mu.Unlock()
	w.queue.Add(v1alpha1.Key(obj.GetNamespace(), obj.GetName()))
}

// running records a spec that runs as sc. Whether this process acts for
// it is asked here, before its first write, so that a fleet taken in at
// once has the refresh period of its size from the start.
func (w *statusWriter) running(obj *unstructured.Unstructured, sc *resolved.Scaler) {
	acting := w.c.acting(sc.Name)
	w.mu.Lock()
	st := w.state(obj)
	w.setActing(st, acting)
	if st.generation != obj.GetGeneration() || len(st.problems) > 0 {
		st.decision = nil // decisions of the earlier spec say nothing of this one
	}
	st.generation, st.problems, st.startErr, st.running = obj.GetGeneration(), nil, "", true
	st.target, st.dryRun, st.interval = sc.Target.String(), sc.DryRun, sc.Interval
	w.mu.Unlock()
	w.queue.Add(sc.Name)
}

func (w *statusWriter) forget(key string) {
	w.mu.Lock()
	if st := w.states[key]; st != nil {
		w.setActing(st, false)
	}
	delete(w.states, key)
	w.mu.Unlock()
}

// setActing records whether this process acts for st; w.mu is held.
func (w *statusWriter) setActing(st *scalerState, acting bool) {
	if st.acting == acting {
		return
	}
	st.acting = acting
	if acting {
		w.acting++
	} else {
		w.acting--
	}
}

// add takes a decision of any scaler, and keeps it
// when a Scaler's; it enqueues a write when the status it makes differs in
// what it shows, or is due for a refresh. It never blocks.
func (w *statusWriter) add(d scaling.Decision) {
	w.mu.Lock()
	st := w.states[d.Scaler]
	if st == nil {
		w.mu.Unlock()
		return
	}
	st.decision = &d
	s := shownOf(d, st.readReason)
	enqueue := s != st.shown || refreshDue(d.Scaler, st.refreshed, d.Time, w.refreshPeriod())
	st.shown = s
	if d.Outcome == scaling.OutcomeApplied && d.Desired != d.Current && st.events.Allow() {
		st.pending = append(st.pending, event{corev1.EventTypeNormal, actuators.EventReasonScaled,
			fmt.Sprintf("Scaled %s from %d to %d: %s", st.target, d.Current, d.Desired, engine.Explain(d))})
		enqueue = true
	}
	w.mu.Unlock()
	if enqueue {
		w.queue.Add(d.Scaler)
	}
}

// warn records a Warning Event on key's Scaler at its next status write,
// if the Scaler's Event limit allows it.
func (w *statusWriter) warn(key, reason, msg string) {
	w.mu.Lock()
	st := w.states[key]
	queued := st != nil && st.events.Allow()
	if queued {
		st.pending = append(st.pending, event{corev1.EventTypeWarning, reason, msg})
	}
	w.mu.Unlock()
	if queued {
		w.queue.Add(key)
	}
}

// observeTarget keeps how the last read of a Scaler's target went
// (actuators.TargetObserver, one per scaler).
func (w *statusWriter) observeTarget(key, op, reason string) {
	if op != actuators.OpRead {
		return
	}
	w.mu.Lock()
	if st := w.states[key]; st != nil {
		st.readReason = reason
	}
	w.mu.Unlock()
}

func shownOf(d scaling.Decision, readReason string) shown {
	s := shown{current: d.Current, ready: d.Ready, desired: d.Desired, outcome: d.Outcome, readReason: readReason}
	limited, _ := limitedBy(d)
	s.limitedBy = limited.Name
	var failing []string
	for _, sig := range d.Signals {
		if sig.Failed != "" {
			failing = append(failing, sig.Name+"="+string(sig.Failed))
		}
	}
	s.failing = strings.Join(failing, ",")
	return s
}

// pausedBy is why the target's pause held d, or "".
func pausedBy(d scaling.Decision) string {
	for _, a := range d.Adjustments {
		if a.Guard == policy.GuardPaused {
			return a.Reason
		}
	}
	return ""
}

// limitedBy is the last limiting guard (policy.Guard.Limiting) that held d
// back, and why: the Limited condition.
func limitedBy(d scaling.Decision) (guard policy.Guard, reason string) {
	for _, a := range d.Adjustments {
		if g, _ := policy.GuardNamed(a.Guard); g.Limiting {
			guard, reason = g, a.Reason
		}
	}
	return guard, reason
}

func (w *statusWriter) run(ctx context.Context) {
	for range 2 {
		go func() {
			for w.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
}

func (w *statusWriter) next(ctx context.Context) bool {
	return work(ctx, w.queue, w.write, func(key string, err error) bool {
		w.c.metrics.write("error")
		if apierrors.IsNotFound(err) || w.queue.NumRequeues(key) >= 5 {
			return false
		}
		w.c.log.Warn("could not write a Scaler's status; retrying", zap.String("scaler", key), zap.Error(err))
		return true
	})
}

// write brings key's status up to date, if this process acts for it and
// something changed, or a refresh is due, and its interval allows.
func (w *statusWriter) write(ctx context.Context, key string) error {
	if !w.c.acting(key) {
		// Another replica holds this Scaler's lease and writes; what this
		// one decided in standby is not to be written, nor asked again
		// before a refresh.
		w.mu.Lock()
		if st := w.states[key]; st != nil {
			st.pending, st.refreshed = nil, w.c.o.Clock.Now()
			w.setActing(st, false)
		}
		w.mu.Unlock()
		return nil
	}
	obj := w.c.object(key)
	if obj == nil {
		return nil
	}
	now := w.c.o.Clock.Now()
	prev := statusOf(obj)
	w.mu.Lock()
	st := w.states[key]
	if st == nil || st.uid != obj.GetUID() {
		w.mu.Unlock()
		return nil
	}
	w.setActing(st, true)
	events := st.pending
	st.pending = nil
	next := w.statusFor(st, prev, now)
	m := material(next)
	last := st.refreshed
	if prev.LastDecision != nil && prev.LastDecision.Time.After(last) {
		last = prev.LastDecision.Time.Time
	}
	due := next.LastDecision != nil && refreshDue(key, last, now, w.refreshPeriod())
	var wait time.Duration
	if !st.writtenAt.IsZero() {
		wait = st.writtenAt.Add(st.interval).Sub(now)
	}
	w.mu.Unlock()
	defer w.record(ctx, obj, events)

	if (m == material(prev) || m == st.written) && !due {
		return nil
	}
	if wait > 0 {
		w.queue.AddAfter(key, wait)
		return nil
	}
	body, err := json.Marshal([]map[string]any{{"op": "add", "path": "/status", "value": next}})
	if err != nil {
		return err
	}
	_, err = w.c.o.Write.Resource(v1alpha1.GroupVersionResource).Namespace(obj.GetNamespace()).
		Patch(ctx, obj.GetName(), types.JSONPatchType, body, metav1.PatchOptions{FieldManager: "scaled"}, "status")
	if err != nil {
		return err
	}
	w.c.metrics.write("ok")
	w.mu.Lock()
	if st := w.states[key]; st != nil {
		st.written, st.writtenAt = m, now
		if next.LastDecision != nil {
			st.refreshed = now
		}
	}
	w.mu.Unlock()
	return nil
}

func (w *statusWriter) record(ctx context.Context, obj *unstructured.Unstructured, events []event) {
	if len(events) == 0 {
		return
	}
	w.mu.Lock()
	st := w.states[v1alpha1.Key(obj.GetNamespace(), obj.GetName())]
	w.mu.Unlock()
	if st == nil {
		return
	}
	om := &metav1.ObjectMeta{UID: obj.GetUID(), ResourceVersion: obj.GetResourceVersion()}
	for _, e := range events {
		st.events.Record(ctx, om, e.typ, e.reason, "Scale", e.msg)
	}
}

// statusOf reads the status an object holds.
func statusOf(obj *unstructured.Unstructured) v1alpha1.ScalerStatus {
	var s v1alpha1.ScalerStatus
	if m, ok := obj.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(m, &s)
	}
	return s
}

// statusFor is the status st makes, on the conditions prev holds (so that
// a condition that keeps its status keeps its transition time).
func (w *statusWriter) statusFor(st *scalerState, prev v1alpha1.ScalerStatus, now time.Time) v1alpha1.ScalerStatus {
	s := v1alpha1.ScalerStatus{ObservedGeneration: st.generation, Target: st.target, Conditions: slices.Clone(prev.Conditions)}
	d := st.decision
	readFailed := d != nil && st.readReason != ""
	if d != nil {
		if !readFailed {
			s.Current, s.Ready, s.Desired = ptr(d.Current), ptr(d.Ready), ptr(d.Desired)
		} else {
			s.Current, s.Ready, s.Desired = prev.Current, prev.Ready, prev.Desired
		}
		reason := engine.Explain(*d)
		if d.Error != "" {
			reason += "; " + d.Error
		}
		s.LastDecision = &v1alpha1.LastDecision{Time: metav1.NewTime(d.Time), Outcome: string(d.Outcome), Reason: truncate(reason, 512)}
		for _, sig := range d.Signals {
			ss := v1alpha1.SignalStatus{Name: sig.Name, Failed: string(sig.Failed)}
			if sig.Failed == "" {
				ss.Value = strconv.FormatFloat(sig.Value, 'g', 4, 64)
			}
			s.Signals = append(s.Signals, ss)
		}
	}
	set := func(t string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason,
			Message: truncate(msg, 4096), ObservedGeneration: st.generation, LastTransitionTime: metav1.NewTime(now)})
	}
	switch {
	case len(st.problems) > 0:
		msg := strings.Join(st.problems, "; ")
		if st.running {
			msg += " (nothing of this generation runs; the last valid spec keeps running)"
		}
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonInvalidSpec, msg)
	case st.startErr != "":
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonNotStarted, st.startErr)
	case d == nil:
		set(v1alpha1.ConditionReady, metav1.ConditionUnknown, v1alpha1.ReasonWaiting, "the spec is valid; scaled has not decided yet")
	case st.readReason == actuators.KubeNotFound:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonTargetNotFound, d.Error)
	case readFailed:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonTargetFailed, st.readReason+": "+d.Error)
	default:
		set(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonTargetFound, "the spec is valid and its target was read")
	}
	switch {
	case !st.running:
		set(v1alpha1.ConditionActive, metav1.ConditionFalse, v1alpha1.ReasonNotStarted, "no valid spec of this Scaler runs")
	case d != nil && pausedBy(*d) != "":
		set(v1alpha1.ConditionActive, metav1.ConditionFalse, v1alpha1.ReasonPaused, pausedBy(*d))
	case st.dryRun:
		set(v1alpha1.ConditionActive, metav1.ConditionFalse, v1alpha1.ReasonDryRun, "dry run: scaled decides and reports, and changes nothing")
	default:
		set(v1alpha1.ConditionActive, metav1.ConditionTrue, v1alpha1.ReasonActing, "scaled sets the target's capacity")
	}
	if d != nil {
		if guard, why := limitedBy(*d); guard.Limiting {
			set(v1alpha1.ConditionLimited, metav1.ConditionTrue, guard.Condition, why)
		} else {
			set(v1alpha1.ConditionLimited, metav1.ConditionFalse, v1alpha1.ReasonWithinLimits, "no bound, schedule or rate limit held the last decision back")
		}
		var failing []string
		first := ""
		for _, sig := range d.Signals {
			if sig.Failed != "" {
				if first == "" {
					first = string(sig.Failed)
				}
				failing = append(failing, sig.Name+": "+sig.Error)
			}
		}
		if first != "" {
			set(v1alpha1.ConditionSignalFailing, metav1.ConditionTrue, camel(first), strings.Join(failing, "; ")+" (a failed signal never scales in)")
		} else if len(d.Signals) > 0 {
			set(v1alpha1.ConditionSignalFailing, metav1.ConditionFalse, v1alpha1.ReasonSignalsOK, "every signal was read")
		}
	}
	return s
}

// material is what of a status a write must follow: everything but the
// decision's time and reason, the signals' values and the conditions'
// messages and times, which a refresh brings up to date.
func material(s v1alpha1.ScalerStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%s|%s|%s|%s|", s.ObservedGeneration, s.Target, num(s.Current), num(s.Desired), num(s.Ready))
	if s.LastDecision != nil {
		b.WriteString(s.LastDecision.Outcome)
	}
	for _, sig := range s.Signals {
		fmt.Fprintf(&b, "|%s=%s", sig.Name, sig.Failed)
	}
	for _, c := range s.Conditions {
		fmt.Fprintf(&b, "|%s=%s:%s@%d", c.Type, c.Status, c.Reason, c.ObservedGeneration)
	}
	return b.String()
}

func num(p *int32) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(int(*p))
}

// camel turns a snake_case name into a condition reason: rate_limit is
// RateLimit.
func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func ptr[T any](v T) *T { return &v }
