package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/telemetry"
)

// held is a changeable set of the scalers a replica runs, as the shards it
// holds would be.
type held struct {
	mu    sync.Mutex
	names map[string]bool
}

func newHeld(names ...string) *held {
	h := &held{names: map[string]bool{}}
	h.set(names...)
	return h
}

func (h *held) set(names ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.names)
	for _, n := range names {
		h.names[n] = true
	}
}

func (h *held) runs(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.names[name]
}

// world is the targets and sources of a few scalers, which outlive the
// scalers built on them, as real workloads outlive a replica's scalers:
// testFactories whose targets are built once per scaler and kept.
type world struct {
	testFactories
	targets map[string]*actuators.Log
}

func newWorld() *world {
	return &world{
		testFactories: testFactories{sources: map[string]*fakes.Source{}, actuators: map[string]int{}},
		targets:       map[string]*actuators.Log{},
	}
}

func (w *world) factories() Factories {
	f := w.testFactories.factories()
	f.Actuator = func(sc *resolved.Scaler) (actuators.Actuator, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.actuators[sc.Name]++
		if w.targets[sc.Name] == nil {
			w.targets[sc.Name] = actuators.NewLog(sc.Target.Spec.(*actuators.LogTarget).Initial, nil)
		}
		return w.targets[sc.Name], nil
	}
	return f
}

// seriesOf counts the series reg exports for a scaler.
func seriesOf(t *testing.T, reg *prometheus.Registry, scaler string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "scaler" && l.GetValue() == scaler {
					n++
				}
			}
		}
	}
	return n
}

// counted is a recorder that also keeps the number of scalers last
// reported.
type counted struct {
	*fakes.Recorder
	mu      sync.Mutex
	scalers int
}

func (c *counted) SetScalers(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scalers = n
}

func (c *counted) running() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scalers
}

// decided lists the scalers rec saw decide from its n-th decision on.
func decided(rec *fakes.Recorder, from int) map[string]int {
	out := map[string]int{}
	for _, d := range rec.Decisions()[from:] {
		out[d.Scaler]++
	}
	return out
}

// A replica runs only the scalers it holds; the others are validated and
// kept as config. Gaining a scaler starts it, losing one stops it and
// forgets what it exported and kept, and nothing else is disturbed.
func TestManagerRunsOnlyWhatItHolds(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	w := newWorld()
	rec := &counted{Recorder: &fakes.Recorder{}}
	forgot := &fakes.Recorder{}
	h := newHeld("a")
	m := NewManager(clk, nil, w.factories(), rec, nil, forgot)
	defer m.Stop()
	m.SetRunning(h.runs)
	mustApply(t, m, scalerYAML("a", 0.25), scalerYAML("b", 0.25), scalerYAML("c", 0.25))
	// Every scaler was built (that is how a bad one is refused), one runs.
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 1, "c": 1}, w.actuators); diff != "" {
		t.Errorf("targets built (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, m.Scalers()); diff != "" {
		t.Errorf("scalers known (-want +got):\n%s", diff)
	}
	if got := rec.running(); got != 1 {
		t.Errorf("scalers reported running: %d, want 1", got)
	}
	if err := m.Ready(); err == nil {
		t.Error("ready before the scaler it runs ticked")
	}
	stepUntilDecisions(t, clk, rec.Recorder, 3, 50*time.Second)
	if diff := cmp.Diff(map[string]int{"a": 3}, decided(rec.Recorder, 0)); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if err := m.Ready(); err != nil {
		t.Errorf("the scalers it does not run keep it unready: %v", err)
	}
	if n := len(*m.runners.Load()); n != 1 {
		t.Errorf("liveness watches %d loops, want 1", n)
	}

	// b's shard is taken, a's lost: b starts, a stops and is forgotten; c
	// is not touched.
	h.set("b")
	m.SyncRunning()
	if diff := cmp.Diff([]string{"a"}, forgot.Forgotten()); diff != "" {
		t.Errorf("forgotten (-want +got):\n%s", diff)
	}
	if got := rec.running(); got != 1 {
		t.Errorf("scalers reported running: %d, want 1", got)
	}
	if err := m.Ready(); err != nil {
		t.Errorf("a scaler taken over, before its first tick, makes the replica unready: %v", err)
	}
	n := rec.Count()
	stepUntilDecisions(t, clk, rec.Recorder, n+3, 50*time.Second)
	if diff := cmp.Diff(map[string]int{"b": 3}, decided(rec.Recorder, n)); diff != "" {
		t.Errorf("decisions after the handover (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 2, "c": 1}, w.actuators); diff != "" {
		t.Errorf("targets built (-want +got):\n%s", diff)
	}
	// A reload that changes nothing builds nothing, and keeps what runs.
	mustApply(t, m, scalerYAML("a", 0.25), scalerYAML("b", 0.25), scalerYAML("c", 0.25))
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 2, "c": 1}, w.actuators); diff != "" {
		t.Errorf("targets built by an unchanged reload (-want +got):\n%s", diff)
	}
	// A reload that removes a parked scaler forgets nothing more.
	mustApply(t, m, scalerYAML("a", 0.25), scalerYAML("b", 0.25))
	if diff := cmp.Diff([]string{"a"}, forgot.Forgotten()); diff != "" {
		t.Errorf("forgotten (-want +got):\n%s", diff)
	}
}

// A scaler that cannot be built is refused whether or not this replica
// runs it: every replica refuses the same config.
func TestManagerRefusesABadScalerItDoesNotRun(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	w := newWorld()
	m := NewManager(clk, nil, w.factories(), nil, nil)
	defer m.Stop()
	m.SetRunning(func(string) bool { return false })
	w.failFor = "b"
	err := m.Apply(resolveAll(t, mustParse(t, scalerYAML("a", 0.25), scalerYAML("b", 0.25))))
	if err == nil || !strings.Contains(err.Error(), "scalers[1] (b): signal load: no source for b") {
		t.Fatalf("Apply of a scaler that cannot be built, not run here = %v", err)
	}
	if got := m.Scalers(); len(got) != 0 {
		t.Errorf("a refused config left scalers %v", got)
	}
	w.failFor = ""
	mustApply(t, m, scalerYAML("a", 0.25))
	w.failFor = "shop/web"
	if err := m.Set(single(t, "shop/web", 0.5)); err == nil || !strings.Contains(err.Error(), "no source for shop/web") {
		t.Errorf("Set of a scaler that cannot be built, not run here = %v", err)
	}
	w.failFor = ""
	// A good one is kept as config, and runs once held.
	if err := m.Set(single(t, "shop/web", 0.5)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "shop/web"}, m.Scalers()); diff != "" {
		t.Errorf("scalers known (-want +got):\n%s", diff)
	}
	if n := len(*m.runners.Load()); n != 0 {
		t.Errorf("%d loops run, want none", n)
	}
	m.SetRunning(func(s string) bool { return s == "shop/web" })
	m.SyncRunning()
	if n := len(*m.runners.Load()); n != 1 {
		t.Errorf("%d loops run after the object's shard was taken, want 1", n)
	}
}

// A lost scaler's series and kept decisions go from this replica; a
// regained one starts fresh: a new decider, seeded with the target's
// capacity, so it does not scale down before a full stabilization window,
// whatever it decided before.
func TestManagerStartsARegainedScalerFresh(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	w := newWorld()
	reg := prometheus.NewRegistry()
	metrics := telemetry.NewMetrics(reg)
	log := telemetry.NewDecisionLog(100)
	rec := &fakes.Recorder{}
	h := newHeld("a", "b")
	m := NewManager(clk, nil, w.factories(), recorders{metrics, rec}, log, metrics, forgetFunc(log.Forget))
	defer m.Stop()
	m.SetRunning(h.runs)
	// A load of 1 against a target of 0.25 wants four times the replicas.
	mustApply(t, m, scalerYAML("a", 0.25), scalerYAML("b", 0.25))
	stepUntilDecisions(t, clk, rec, 4, time.Minute)
	if seriesOf(t, reg, "a") == 0 || len(log.Last("a", 10)) == 0 {
		t.Fatal("a exports no series or kept no decision while it runs")
	}
	before := m.entryOf("a").decider
	capacity := current(t, w.targets["a"])
	if capacity <= 2 {
		t.Fatalf("a scaled to %d, want more than its initial 2", capacity)
	}

	h.set("b")
	m.SyncRunning()
	if got := seriesOf(t, reg, "a"); got != 0 {
		t.Errorf("a exports %d series after it stopped running here, want 0", got)
	}
	if got := log.Last("a", 10); len(got) != 0 {
		t.Errorf("a's decisions are still kept after it stopped running here: %d", len(got))
	}
	if seriesOf(t, reg, "b") == 0 {
		t.Error("b's series went with a's")
	}

	// Regained with a load that asks for one replica: the first decisions
	// hold the capacity the target has (stabilization seeded with it).
	w.sources["a"].Set(0.1, nil)
	h.set("a", "b")
	m.SyncRunning()
	if m.entryOf("a").decider == before {
		t.Error("a regained scaler kept its old decider")
	}
	n := rec.Count()
	stepUntilDecisions(t, clk, rec, n+4, time.Minute)
	seen := 0
	for _, d := range rec.Decisions()[n:] {
		if d.Scaler != "a" {
			continue
		}
		seen++
		if d.Current != capacity || d.Desired != capacity || d.Direction != scaling.DirectionNone {
			t.Errorf("regained a decided %d -> %d (%s); want %d held by the stabilization window", d.Current, d.Desired, d.Direction, capacity)
		}
	}
	if seen == 0 {
		t.Error("the regained scaler did not decide")
	}
}

func current(t *testing.T, a *actuators.Log) int32 {
	t.Helper()
	c, err := a.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c.Current
}

// entryOf is the manager's entry of a scaler.
func (m *Manager) entryOf(name string) *entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running[name]
}

// recorders hands every observation to each recorder in turn.
type recorders []Recorder

func (rs recorders) InitScaler(s string, sig []string, dry bool) {
	for _, r := range rs {
		r.InitScaler(s, sig, dry)
	}
}
func (rs recorders) SetScalers(n int) {
	for _, r := range rs {
		r.SetScalers(n)
	}
}
func (rs recorders) ObserveDecision(d scaling.Decision) {
	for _, r := range rs {
		r.ObserveDecision(d)
	}
}
func (rs recorders) SignalError(s, sig string, k scaling.FailureKind) {
	for _, r := range rs {
		r.SignalError(s, sig, k)
	}
}
func (rs recorders) ObserveTick(s string, took, lag time.Duration) {
	for _, r := range rs {
		r.ObserveTick(s, took, lag)
	}
}
func (rs recorders) TickMissed(s string, n int) {
	for _, r := range rs {
		r.TickMissed(s, n)
	}
}

// forgetFunc adapts a function to Forgetter.
type forgetFunc func(string)

func (f forgetFunc) ForgetScaler(s string) { f(s) }
