package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Recorder receives what the loop observes; telemetry.Metrics implements it.
// Every method must be cheap and must not block.
type Recorder interface {
	// InitScaler is called when a scaler (re)starts, with its signals.
	InitScaler(scaler string, signals []string, dryRun bool)
	// SetScalers is called with the number of running scalers after each Apply.
	SetScalers(n int)
	ObserveDecision(d scaling.Decision)
	SignalError(scaler, signal string, kind scaling.FailureKind)
	ObserveTick(scaler string, took, lag time.Duration)
	TickMissed(scaler string, n int)
}

// DecisionSink keeps decisions for the HTTP API; telemetry.DecisionLog implements it.
type DecisionSink interface {
	Add(d scaling.Decision)
}

// Signal is one named expression bound to the source that evaluates it.
type Signal struct {
	Name string
	Expr string
	// MaxAge bounds how old the data behind a value may be (0: the source's
	// default; see sources.QueryMaxAge).
	MaxAge time.Duration
	// ValidRange is the values the signal may take; nil is
	// scaling.DefaultRange (finite and non-negative).
	ValidRange *scaling.Range
	Source     sources.Querier
}

func (sig Signal) validRange() scaling.Range {
	if sig.ValidRange != nil {
		return *sig.ValidRange
	}
	return scaling.DefaultRange
}

// ScalerSpec is a fully built scaler: what Tick needs and nothing else.
type ScalerSpec struct {
	Name     string
	Signals  []Signal
	Decider  *policy.Decider
	Actuator actuators.Actuator
	// Interval between ticks; a tick may run for all of it but a tenth (see tickBudget).
	Interval     time.Duration
	QueryTimeout time.Duration
	DryRun       bool
	// Histories, when set, holds the signals' histories, shared with the
	// other scalers that read the same ones; nil keeps them to the scaler.
	Histories *Histories
}

// Scaler runs the ticks of one scaler. Tick is not safe for concurrent use;
// the loop never runs two ticks of a scaler at once.
type Scaler struct {
	ScalerSpec
	log       *zap.Logger
	recorder  Recorder
	decisions DecisionSink
	history   map[string]*historyCache // history.go
	released  sync.Once
	// acting, when set, says at every tick whether the scaler acts; when it
	// does not, it decides as in dry run: a replica that does not hold this
	// scaler's lease keeps its decisions warm.
	acting func() bool
	// changes decides which decisions the log shows (changelog.go).
	changes changeLog
	// paused is why the target asked to be left alone at the last tick,
	// "" when it did not: its target records each change (PauseRecorder).
	paused string
}

// NewScaler wires a spec to its observers; logger, rec and sink may be nil.
// A Scaler reads no clock: Tick is handed now.
func NewScaler(spec ScalerSpec, logger *zap.Logger, rec Recorder, sink DecisionSink) *Scaler {
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &Scaler{
		ScalerSpec: spec,
		log:        logger.With(zap.String("scaler", spec.Name)),
		recorder:   rec,
		decisions:  sink,
		history:    map[string]*historyCache{},
	}
	for _, h := range spec.Decider.HistoryNeeds() {
		c := (*historyCache)(nil)
		for _, sig := range spec.Signals {
			if sig.Name == h.Signal {
				c = spec.Histories.acquire(h, sig.validRange(), sig.Source, sig.Expr)
			}
		}
		if c == nil {
			c = newHistoryCache(h, scaling.DefaultRange, nil)
		}
		s.history[h.Signal] = c
	}
	return s
}

// release gives back the histories the scaler read; it is called once its
// loop ended.
func (s *Scaler) release() {
	s.released.Do(func() {
		for _, c := range s.history {
			s.Histories.release(c)
		}
	})
}

// readingsPool holds the maps of readings a tick hands the decider. A map
// of even one reading takes a group of eight slots (about 900 bytes), which
// every scaler would keep between its ticks; only ticks in flight need one.
// The decider keeps no reference to the map.
var readingsPool = sync.Pool{New: func() any { return map[string]scaling.Reading{} }}

// Tick makes one decision at now and acts on it. ctx bounds the whole tick.
func (s *Scaler) Tick(ctx context.Context, now time.Time) scaling.Decision {
	current, err := s.Actuator.Read(ctx)
	if err != nil {
		d := scaling.Decision{
			Scaler: s.Name, Time: now, DryRun: s.DryRun, Outcome: scaling.OutcomeFailed,
			Direction: scaling.DirectionNone, Error: "read target: " + err.Error(),
		}
		d.ClipTexts()
		s.record(d)
		return d
	}
	readings := readingsPool.Get().(map[string]scaling.Reading)
	defer func() {
		clear(readings)
		readingsPool.Put(readings)
	}()
	for _, sig := range s.Signals {
		r := s.read(ctx, sig, now)
		if r.Err != nil && s.recorder != nil {
			s.recorder.SignalError(s.Name, sig.Name, scaling.KindOf(r.Err))
		}
		readings[sig.Name] = r
	}
	// A replica that does not act re-bases on the capacity the acting one
	// sets; a dry-run scaler shadows its own decisions (policy.Input.Shadow).
	d := s.Decider.Decide(policy.Input{Now: now, Capacity: current, Signals: readings, Shadow: s.DryRun})
	recordPolicyStates(s.recorder, s.Name, s.Decider) // reports.go
	recordForecasts(s.recorder, s.Name, s.Decider)
	paused := holdPaused(&d, current, s.Decider.Bounds())
	d.Scaler = s.Name
	d.DryRun = s.DryRun || (s.acting != nil && !s.acting())
	if paused != s.paused {
		if pr, ok := s.Actuator.(actuators.PauseRecorder); ok && !d.DryRun {
			pr.PauseChanged(ctx, paused)
		}
		s.paused = paused
	}
	switch {
	case d.Desired == current.Current:
		d.Outcome = scaling.OutcomeUnchanged
	case d.DryRun:
		d.Outcome = scaling.OutcomeDryRun
	default:
		// Timing and error counting are the target's decorator's
		// (actuators.Instrument).
		err := s.Actuator.Set(ctx, d.Desired, Explain(d))
		var lim *actuators.LimitedError
		switch {
		case errors.As(err, &lim):
			applyTargetLimit(&d, current, lim)
			if d.Desired != current.Current {
				s.Decider.Scaled(now, current.Current, d.Desired)
			}
		case err != nil:
			d.Outcome = scaling.OutcomeFailed
			d.Error = "set target: " + err.Error()
		default:
			d.Outcome = scaling.OutcomeApplied
			s.Decider.Scaled(now, current.Current, d.Desired)
		}
	}
	if sr, ok := s.Actuator.(actuators.StatusReporter); ok && d.Error == "" {
		if st := sr.Status(); st != "" {
			d.Error = "target: " + st
		}
	}
	// Texts partly come from outside (labels, server messages): bound what
	// the decision log, the log line and the API keep of them.
	d.ClipTexts()
	s.record(d)
	return d
}

// holdPaused holds a decision where a paused target asks to be: where it
// is, or at the capacity its annotation names, and returns why ("" when the
// target is not paused). The decision is still made and explained, so that
// what scaled would do is seen while it waits.
func holdPaused(d *scaling.Decision, current scaling.Capacity, b policy.Bounds) string {
	p := current.Pause
	why := p.Reason
	if why == "" && p.ZeroPauses && current.Current == 0 && b.Min > 0 {
		why = fmt.Sprintf("the target has 0 replicas while bounds.min is %d: autoscaling is paused, as the HPA reads it; "+
			"scale it above 0 to resume", b.Min)
	}
	if why == "" {
		return ""
	}
	hold := current.Current
	if p.HoldSet {
		hold = p.Hold
	}
	d.Adjustments = append(d.Adjustments, scaling.Adjustment{Guard: policy.GuardPaused, From: d.Desired, To: hold,
		Reason: fmt.Sprintf("paused: %s: holding %d", why, hold)})
	d.Desired = hold
	d.Direction = scaling.DirectionOf(current.Current, hold)
	return why
}

// applyTargetLimit records a Set the target held back: the capacity it
// reached is the decision's, with an adjustment saying why.
func applyTargetLimit(d *scaling.Decision, current scaling.Capacity, lim *actuators.LimitedError) {
	d.Adjustments = append(d.Adjustments, scaling.Adjustment{Guard: policy.GuardTargetLimit, From: d.Desired, To: lim.Got, Reason: lim.Reason})
	d.Desired = lim.Got
	d.Direction = scaling.DirectionOf(current.Current, lim.Got)
	d.Outcome = scaling.OutcomeApplied
	if lim.Got == current.Current {
		d.Outcome = scaling.OutcomeUnchanged
	}
	d.Error = "set target: " + lim.Error()
}

// read evaluates one signal and turns every way it can be unusable into a
// failed reading: an error of the source, a sample older than the signal's
// max age, a value that is not finite or outside the signal's valid range.
func (s *Scaler) read(ctx context.Context, sig Signal, now time.Time) scaling.Reading {
	qctx, cancel := context.WithTimeout(ctx, s.QueryTimeout)
	defer cancel()
	r := scaling.Reading{Name: sig.Name}
	r.Sample, r.Err = sources.QueryMaxAge(qctx, sig.Source, sig.Expr, now, sig.MaxAge)
	if r.Err != nil {
		return r
	}
	if r.Err = sig.validRange().Check(sig.Name, r.Sample.Value); r.Err != nil {
		return r
	}
	if h, ok := s.history[sig.Name]; ok {
		r.History, r.Err = h.refresh(qctx, sig.Source, sig.Expr, now)
		if r.Err != nil {
			r.Err = fmt.Errorf("history over %s: %w", durfmt.D(h.need.Window), r.Err)
		}
	}
	return r
}

func (s *Scaler) record(d scaling.Decision) {
	if s.recorder != nil {
		s.recorder.ObserveDecision(d)
	}
	if s.decisions != nil {
		s.decisions.Add(d)
	}
	s.changes.observe(s.log, &d) // changelog.go
}

// Explain says in one line what a decision did and why, for a target's event
// log: from, to, the winning policy's reason and every guard that changed the number.
func Explain(d scaling.Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d -> %d", d.Current, d.Desired)
	for _, r := range d.Recommendations {
		if r.Policy == d.Winner && !r.Abstain {
			fmt.Fprintf(&b, "; %s: %s", r.Policy, r.Reason)
		}
	}
	for _, a := range d.Adjustments {
		fmt.Fprintf(&b, "; %s", a.Reason)
	}
	return b.String()
}
