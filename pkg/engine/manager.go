package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Factories turn resolved scalers into the things that touch the world, so
// that the engine knows no concrete source or target.
type Factories struct {
	// Source returns the Querier that evaluates sig, a signal of sc. It is
	// called for every signal of every scaler (re)built; it may share
	// clients.
	Source func(sc *resolved.Scaler, sig resolved.Signal) (sources.Querier, error)
	// Actuator returns the actuator of sc's target (whose Prometheus an
	// observed target reads).
	Actuator func(sc *resolved.Scaler) (actuators.Actuator, error)
}

// Forgetter drops everything recorded about a scaler that is gone.
type Forgetter interface {
	ForgetScaler(scaler string)
}

// BatchForgetter is a Forgetter (or a Recorder) that also forgets many
// scalers at once, in about the time of one: the scalers of a shard this
// replica no longer holds go together.
type BatchForgetter interface {
	ForgetScalers(scalers []string)
}

// Manager runs the scalers of the config file, swapping configurations
// atomically (Apply), and single scalers from elsewhere, each added,
// changed or removed by its name on its own (Set, Remove): the Scaler
// objects of the Kubernetes API, named namespace/name. Both kinds follow the
// same rule: an unchanged scaler keeps running with its state; a change of
// its policies or guards rebuilds its decider, a change of its target its
// actuator; nothing else is disturbed.
//
// With SetRunning, a scaler that this process does not run (a shard
// another replica holds) keeps only its config: it is validated and built
// as any other, so that a bad one is refused whatever this process runs,
// and what was built is dropped. SyncRunning starts and stops scalers as
// the predicate changes.
type Manager struct {
	clock     clock.WithDelayedExecution
	log       *zap.Logger
	factories Factories
	recorder  Recorder
	decisions DecisionSink
	forget    []Forgetter
	histories *Histories

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	running map[string]*entry
	// runners is what running holds, for Live to read without the lock
	// (Apply holds it while it builds).
	runners atomic.Pointer[[]*runner]
	workers *tickWorkers
	loaded  bool
	// acting, when set, says for which scalers this process acts (leader
	// election); for the others it only decides, as in dry run. nil acts
	// for every scaler.
	acting atomic.Pointer[func(scaler string) bool]
	// runs, when set, says which scalers this process runs at all (leader
	// election with cold standby); nil runs every scaler.
	runs atomic.Pointer[func(scaler string) bool]
}

// entry is a scaler and what it was built from. A scaler this process
// does not run (see SetRunning) is parked: it keeps its resolved config and
// nothing else.
type entry struct {
	// single is a scaler added by Set: Apply neither removes it nor counts
	// it in Ready.
	single bool
	// takenOver is a scaler SyncRunning started (a shard this replica
	// took): Ready does not wait for its first tick, so that a handover
	// never makes the replicas that take it unready.
	takenOver bool
	scaler    resolved.Scaler
	runner    *runner // nil until started, and while parked
	decider   *policy.Decider
	actuator  actuators.Actuator
	signals   []Signal
}

// parked says whether the entry holds only its config.
func (e *entry) parked() bool { return e.decider == nil }

// park is e reduced to its config.
func (e *entry) park() *entry {
	return &entry{single: e.single, scaler: e.scaler}
}

func (e *entry) spec(name string) ScalerSpec {
	return ScalerSpec{
		Name: name, Signals: e.signals, Decider: e.decider, Actuator: e.actuator,
		Interval: e.scaler.Interval, QueryTimeout: e.scaler.QueryTimeout, DryRun: e.scaler.DryRun,
	}
}

// NewManager returns a Manager that runs nothing until Apply. rec, sink and
// the forgetters (which drop a removed scaler's metrics and decisions) may be nil.
func NewManager(clk clock.WithDelayedExecution, logger *zap.Logger, f Factories, rec Recorder, sink DecisionSink, forget ...Forgetter) *Manager {
	if logger == nil {
		logger = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		clock: clk, log: logger, factories: f, recorder: rec, decisions: sink, forget: forget, histories: NewHistories(),
		ctx: ctx, cancel: cancel, running: map[string]*entry{}, workers: newTickWorkers(ctx.Done()),
	}
}

// Apply makes cfg the running configuration. Every scaler is built first; if
// any fails, nothing changes and the error lists every problem. Scalers whose
// resolved parts are unchanged keep running untouched; changed ones are
// rebuilt, keeping their decision history when their policy part did not
// change and their target when it did not change; removed ones stop and are
// forgotten. Scalers added by Set stay, resolved again under cfg
// (cfg.Rebase) and rebuilt by the same rule when what they inherit
// (interval, dry run, Prometheus) changed.
func (m *Manager) Apply(cfg resolved.Config) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return errors.New("manager stopped")
	}
	next := make(map[string]*entry, len(cfg.Scalers)+len(m.running))
	var errs []error
	for i, sc := range cfg.Scalers {
		old := m.running[sc.Name]
		if old != nil && old.single {
			errs = append(errs, fmt.Errorf("scalers[%d] (%s): the name of a scaler that does not come from the config file", i, sc.Name))
			continue
		}
		e, err := m.keepOrBuild(sc, old)
		if err != nil {
			errs = append(errs, fmt.Errorf("scalers[%d] (%s): %w", i, sc.Name, err))
			continue
		}
		next[sc.Name] = e
	}
	// Single scalers stay; what they inherit may have changed.
	for name, old := range m.running {
		if !old.single {
			continue
		}
		sc := old.scaler
		if cfg.Rebase != nil {
			var err error
			if sc, err = cfg.Rebase(sc); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
		}
		e, err := m.keepOrBuild(sc, old)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		e.single = true
		next[name] = e
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for name, old := range m.running {
		if next[name] == old {
			continue
		}
		m.stop(name, old, next[name])
	}
	for name, e := range next {
		if e.runner == nil && !e.parked() {
			m.start(name, e)
		}
	}
	m.running = next
	m.loaded = true
	m.publish()
	m.histories.sweep() // after the rebuilt scalers took theirs again
	return nil
}

// Histories is what the running scalers' histories hold and read.
func (m *Manager) Histories() HistoryStats { return m.histories.Stats() }

// keepOrBuild returns old when sc runs as it does (resolved.Scaler.Same),
// and a new entry otherwise: parked when this process does not run sc, but
// only once it was built, so that what cannot be built is refused here as
// on the replica that runs it.
func (m *Manager) keepOrBuild(sc resolved.Scaler, old *entry) (*entry, error) {
	if old != nil && old.scaler.Same(&sc) {
		return old, nil
	}
	e, err := m.build(sc, old)
	if err != nil {
		return nil, err
	}
	if !m.Runs(sc.Name) {
		return e.park(), nil
	}
	return e, nil
}

// stop ends the loop of e, if it runs, for next (nil: the scaler is
// removed). A removed or parked scaler is forgotten: it will not come back,
// or will come back fresh; a rebuilt one starts its series afresh, as it
// may have lost signals or policies.
func (m *Manager) stop(name string, e, next *entry) {
	if e.runner != nil {
		e.runner.stop()
		if next == nil || next.parked() {
			m.forgetRun(name)
		} else if f, ok := m.recorder.(Forgetter); ok {
			f.ForgetScaler(name)
		}
	}
	if next == nil {
		m.log.Info("scaler removed", zap.String("scaler", name))
	}
}

// start runs a scaler built by build.
func (m *Manager) start(name string, e *entry) {
	if m.recorder != nil {
		names := make([]string, len(e.signals))
		for i, sig := range e.signals {
			names[i] = sig.Name
		}
		m.recorder.InitScaler(name, names, e.scaler.DryRun)
	}
	spec := e.spec(name)
	spec.Histories = m.histories
	// A fleet's refits are spread over their period by the scaler's name,
	// as its first ticks are over the interval (offset). A scaler alone
	// (scaled simulate, scaled tune) refits on the period from its first fit.
	spec.Decider.SpreadRefits(name)
	s := NewScaler(spec, m.log, m.recorder, m.decisions)
	s.acting = func() bool { return m.Acting(name) }
	e.runner = startRunner(m.ctx, s, m.clock, m.workers)
	m.log.Info("scaler started", zap.String("scaler", name), zap.Duration("interval", e.scaler.Interval), zap.Bool("dry_run", e.scaler.DryRun))
}

// Set runs sc beside the config file's scalers under its name: a Scaler
// object's namespace/name, which cannot be a file scaler's. sc is resolved
// under the config last applied (config.Config.Resolve), whose global keys
// it inherits; Apply resolves it again under the next. A new name starts; a known one is kept
// as it is when nothing changed, and rebuilt otherwise by the rule of
// Apply, keeping its decider or actuator where their config did not
// change. When sc cannot be built, Set returns why and the previous scaler
// of that name, if any, keeps running. No other scaler is touched. sc must
// be valid (config.Config.ValidateScaler).
func (m *Manager) Set(sc resolved.Scaler) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch old := m.running[sc.Name]; {
	case m.ctx.Err() != nil:
		return errors.New("manager stopped")
	case !m.loaded:
		return errors.New("no configuration loaded")
	case old != nil && !old.single:
		return fmt.Errorf("%s is a scaler of the config file", sc.Name)
	}
	old := m.running[sc.Name]
	e, err := m.keepOrBuild(sc, old)
	if err != nil || e == old {
		return err
	}
	e.single = true
	if old != nil {
		m.stop(sc.Name, old, e)
	}
	if !e.parked() {
		m.start(sc.Name, e)
	}
	m.running[sc.Name] = e
	m.publish()
	m.histories.sweep()
	return nil
}

// publish makes what running holds seen: the runners for Live, their
// number for the recorder. m.mu is held.
func (m *Manager) publish() {
	runners := make([]*runner, 0, len(m.running))
	for _, e := range m.running {
		if e.runner != nil {
			runners = append(runners, e.runner)
		}
	}
	m.runners.Store(&runners)
	if m.recorder != nil {
		m.recorder.SetScalers(len(runners))
	}
}

// Remove stops the scaler Set started under name and forgets it; it
// reports whether there was one. It never removes a scaler of the config
// file, and never touches the target: its capacity stays as it is.
func (m *Manager) Remove(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.running[name]
	if e == nil || !e.single {
		return false
	}
	m.stop(name, e, nil)
	delete(m.running, name)
	m.publish()
	m.histories.sweep()
	return true
}

// build makes a new entry, reusing old's decider and actuator where their
// part of the resolved scaler did not change.
func (m *Manager) build(sc resolved.Scaler, old *entry) (*entry, error) {
	e := &entry{scaler: sc}
	// The decider keeps its history when nothing it was built from changed
	// (resolved.Parts.Policy): its decision keys, its tick, and the
	// startup delay it plans for, which a target of another kind may change.
	if old != nil && !old.parked() && old.scaler.Parts.Policy == sc.Parts.Policy {
		e.decider = old.decider
	} else {
		d, errs := sc.NewDecider()
		if len(errs) > 0 {
			return nil, errs.ToAggregate()
		}
		e.decider = d
	}
	if old != nil && !old.parked() && old.scaler.Parts.Target == sc.Parts.Target {
		e.actuator = old.actuator
	} else {
		a, err := m.factories.Actuator(&e.scaler)
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		e.actuator = a
	}
	var err error
	if e.signals, err = m.signals(&e.scaler); err != nil {
		return nil, err
	}
	return e, nil
}

func (m *Manager) signals(sc *resolved.Scaler) ([]Signal, error) {
	out := make([]Signal, 0, len(sc.Signals))
	for _, sig := range sc.Signals {
		q, err := m.factories.Source(sc, sig)
		if err != nil {
			return nil, fmt.Errorf("signal %s: %w", sig.Name, err)
		}
		r := sig.ValidRange
		out = append(out, Signal{Name: sig.Name, Expr: sig.Expr, MaxAge: sig.MaxAge, ValidRange: &r, Source: q})
	}
	return out, nil
}

// SetActing makes the manager act only for the scalers acting reports true
// for; for the others it keeps deciding, exporting and logging exactly as
// in dry run, but never touches their targets. Leader election uses it so
// that only the holder of a scaler's Lease acts and the others stay warm.
// acting is asked at every tick of every scaler, from many goroutines, so it
// must be cheap and safe for concurrent use; a change takes effect at each
// scaler's next tick. nil (the default) acts for every scaler.
func (m *Manager) SetActing(acting func(scaler string) bool) {
	if acting == nil {
		m.acting.Store(nil)
		return
	}
	m.acting.Store(&acting)
}

// SetStandby is SetActing for every scaler at once: on acts for none, off
// for all. It adapts the single-Lease leader election to SetActing.
func (m *Manager) SetStandby(on bool) {
	if on {
		m.SetActing(func(string) bool { return false })
		return
	}
	m.SetActing(nil)
}

// Acting says whether the manager acts for the scaler at its next tick
// (see SetActing).
func (m *Manager) Acting(scaler string) bool {
	if f := m.acting.Load(); f != nil {
		return (*f)(scaler)
	}
	return true
}

// SetRunning makes the manager run only the scalers runs reports true for;
// the others keep their config and nothing else: no loop, no history, no
// queries, no series, no decisions kept. Leader election with cold standby
// uses it, with the same predicate as SetActing, so that a replica costs
// only the shards it holds. Call it before the first Apply, and
// SyncRunning whenever what runs reports changes. runs must be cheap and
// safe for concurrent use. nil (the default) runs every scaler.
func (m *Manager) SetRunning(runs func(scaler string) bool) {
	if runs == nil {
		m.runs.Store(nil)
		return
	}
	m.runs.Store(&runs)
}

// Runs says whether the manager runs the scaler (see SetRunning).
func (m *Manager) Runs(scaler string) bool {
	if f := m.runs.Load(); f != nil {
		return (*f)(scaler)
	}
	return true
}

// SyncRunning starts the scalers that Runs now reports and that do not run,
// and stops those it no longer reports; no other scaler is touched. A
// scaler it starts starts fresh, as after a restart: a new decider seeded
// with the target's capacity at its first tick (so no scale-down before a
// full stabilization window), history loaded by its first range query,
// first tick within one interval. A scaler it stops is forgotten by the
// recorder and the forgetters (its series and kept decisions go), as its
// next runner will start fresh. It returns once every stopped loop has
// ended: the elector calls it after this process stopped acting for the
// scalers, and before it releases their Lease.
func (m *Manager) SyncRunning() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil || !m.loaded {
		return
	}
	var start, stop []string
	for name, e := range m.running {
		switch runs, live := m.Runs(name), e.runner != nil; {
		case runs && !live:
			start = append(start, name)
		case !runs && live:
			stop = append(stop, name)
		}
	}
	if len(start)+len(stop) == 0 {
		return
	}
	runners := make([]*runner, len(stop))
	for i, name := range stop {
		runners[i] = m.running[name].runner
		m.running[name] = m.running[name].park()
	}
	stopAll(runners)
	m.forgetRuns(stop)
	failed := 0
	for _, name := range start {
		e := m.running[name]
		b, err := m.build(e.scaler, nil)
		if err != nil {
			// It was built when its config was applied: what fails now
			// is a dependency (a client), and the scaler stays parked.
			failed++
			m.log.Error("cannot start a scaler this replica now holds", zap.String("scaler", name), zap.Error(err))
			continue
		}
		b.single, b.takenOver = e.single, true
		m.start(name, b)
		m.running[name] = b
	}
	m.publish()
	m.histories.sweep()
	m.log.Info("scalers this replica runs changed", zap.Int("started", len(start)-failed), zap.Int("stopped", len(stop)),
		zap.Int("failed", failed))
}

// stopAll stops loops together: every tick in flight is cancelled at
// once, so thousands of scalers stop in about the time of the slowest.
func stopAll(rs []*runner) {
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Go(r.stop)
	}
	wg.Wait()
}

// forgetRun drops what the recorder and the forgetters hold about a scaler
// that stopped running here.
func (m *Manager) forgetRun(name string) {
	if f, ok := m.recorder.(Forgetter); ok {
		f.ForgetScaler(name)
	}
	for _, f := range m.forget {
		f.ForgetScaler(name)
	}
}

// forgetRuns is forgetRun for many scalers, in one pass where the
// recorder or forgetter can.
func (m *Manager) forgetRuns(names []string) {
	each := func(f any) {
		switch f := f.(type) {
		case BatchForgetter:
			f.ForgetScalers(names)
		case Forgetter:
			for _, name := range names {
				f.ForgetScaler(name)
			}
		}
	}
	each(m.recorder)
	for _, f := range m.forget {
		each(f)
	}
}

// Stop ends every scaler's loop and waits for ticks in flight.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cancel()
	m.runners.Store(nil)
	for _, e := range m.running {
		if e.runner != nil {
			e.runner.stop()
		}
	}
}

// LivenessIntervals is how many of its intervals a scaler's loop may go
// without finishing a tick before Live reports it stuck. A tick is bounded
// by one interval and the next starts within one, so a loop that runs never
// comes near three.
const LivenessIntervals = 3

// Live is nil while every scaler's loop keeps ticking; otherwise it names
// the scalers whose loop has not finished a tick for LivenessIntervals of
// their intervals (a tick stuck in a call that ignores its deadline). A
// liveness probe that fails on it restarts a process that no longer scales.
// It takes no lock that Apply holds.
func (m *Manager) Live() error {
	rs := m.runners.Load()
	if rs == nil {
		return nil
	}
	now := m.clock.Now()
	var stuck []string
	for _, r := range *rs {
		since := now.Sub(time.Unix(0, r.progress.Load()))
		if since > LivenessIntervals*r.scaler.Interval {
			stuck = append(stuck, fmt.Sprintf("%s (no tick finished for %s, interval %s)", r.scaler.Name, durfmt.D(since.Round(time.Millisecond)), durfmt.D(r.scaler.Interval)))
		}
	}
	if len(stuck) > 0 {
		sort.Strings(stuck)
		return fmt.Errorf("scaler loops stuck: %s", strings.Join(stuck, ", "))
	}
	return nil
}

// Ready is nil once a config is loaded and every scaler of the file that
// runs here has ticked at least once. Single scalers come and go with their
// objects and do not count: a new Scaler object must not make the process
// unready; nor do parked ones (see SetRunning).
func (m *Manager) Ready() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loaded {
		return errors.New("no configuration loaded")
	}
	var waiting []string
	for name, e := range m.running {
		if !e.single && !e.takenOver && e.runner != nil && !e.runner.ticked.Load() {
			waiting = append(waiting, name)
		}
	}
	if len(waiting) > 0 {
		sort.Strings(waiting)
		return fmt.Errorf("scalers that have not ticked yet: %v", waiting)
	}
	return nil
}

// Scalers lists the scalers' names, sorted: those that run and those
// parked (see SetRunning).
func (m *Manager) Scalers() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.running))
	for name := range m.running {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
