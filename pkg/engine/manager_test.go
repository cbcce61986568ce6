package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/leader"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

const baseConfig = `
prometheus:
  url: http://127.0.0.1:1
interval: 15s
scalers:
%s`

func scalerYAML(name string, target float64) string {
	return fmt.Sprintf(`
  - name: %s
    target: {kind: log, log: {initial: 2}}
    signals: [{name: load, query: 'sum(load{app="%s"})'}]
    policies:
      - name: load
        type: target_tracking
        target_tracking: {signal: load, target_type: value, target: %g}
    bounds: {min: 1, max: 10}
`, name, name, target)
}

// resolveAll is cfg's scalers resolved, as the daemon applies them.
func resolveAll(t testing.TB, cfg *config.Config) resolved.Config {
	t.Helper()
	r, err := cfg.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustParse(t *testing.T, scalers ...string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(baseConfig, strings.Join(scalers, ""))))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testFactories hands out one fake source per scaler and counts what it built.
type testFactories struct {
	mu        sync.Mutex
	sources   map[string]*fakes.Source
	actuators map[string]int // how many times each scaler's target was built
	failFor   string         // the scaler whose source cannot be built
}

func newTestFactories() *testFactories {
	return &testFactories{sources: map[string]*fakes.Source{}, actuators: map[string]int{}}
}

func (f *testFactories) factories() Factories {
	return Factories{
		Source: func(sc *resolved.Scaler, _ resolved.Signal) (sources.Querier, error) {
			scaler := sc.Name
			f.mu.Lock()
			defer f.mu.Unlock()
			if scaler == f.failFor {
				return nil, fmt.Errorf("no source for %s", scaler)
			}
			if f.sources[scaler] == nil {
				f.sources[scaler] = &fakes.Source{Value: 1}
			}
			return f.sources[scaler], nil
		},
		Actuator: func(sc *resolved.Scaler) (actuators.Actuator, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.actuators[sc.Name]++
			return actuators.NewLog(sc.Target.Spec.(*actuators.LogTarget).Initial, nil), nil
		},
	}
}

// newTestManager is a Manager on a fake clock at t0 that builds from fresh
// testFactories and reports to a fresh recorder; forget are told of the
// scalers it forgets. Stop it at the end.
func newTestManager(forget ...Forgetter) (*Manager, *clocktesting.FakeClock, *testFactories, *fakes.Recorder) {
	clk := clocktesting.NewFakeClock(t0)
	tf := newTestFactories()
	rec := &fakes.Recorder{}
	return NewManager(clk, nil, tf.factories(), rec, nil, forget...), clk, tf, rec
}

// mustApply applies the scalers, parsed and resolved, to m.
func mustApply(t *testing.T, m *Manager, scalers ...string) {
	t.Helper()
	if err := m.Apply(resolveAll(t, mustParse(t, scalers...))); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestManagerTicksEachScalerOnItsPhase(t *testing.T) {
	m, clk, _, rec := newTestManager()
	defer m.Stop()
	mustApply(t, m, scalerYAML("a", 0.5), scalerYAML("b", 0.5))
	if err := m.Ready(); err == nil {
		t.Error("ready before any tick")
	}
	stepUntilDecisions(t, clk, rec, 2, 15*time.Second)
	waitFor(t, "a tick of each scaler", func() bool { return rec.Count() == 2 })
	if err := m.Ready(); err != nil {
		t.Errorf("not ready after every scaler ticked: %v", err)
	}
	for _, d := range rec.Decisions() {
		want := firstTick(t0, d.Scaler, 15*time.Second)
		if !d.Time.Equal(want) {
			t.Errorf("%s ticked at %s, want its phase %s", d.Scaler, d.Time, want)
		}
	}
	if offset("a", 15*time.Second) == offset("b", 15*time.Second) {
		t.Error("two names got the same phase; the stagger does not spread")
	}
}

func TestOffsetIsOnThePhaseGridWithinTheInterval(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := range 200 {
		name := fmt.Sprintf("scaler-%d", i)
		for _, iv := range []time.Duration{time.Second, 15 * time.Second, time.Minute} {
			o := offset(name, iv)
			if o < 0 || o >= iv || o%phaseStep != 0 {
				t.Fatalf("offset(%q, %s) = %s: want a multiple of %s in [0, %s)", name, iv, o, phaseStep, iv)
			}
			if iv == time.Minute {
				seen[o] = true
			}
		}
	}
	if len(seen) < 190 {
		t.Errorf("200 names share %d of 6,000 phases at 1m: the stagger does not spread", len(seen))
	}
}

func TestManagerCountsMissedTicks(t *testing.T) {
	m, clk, tf, rec := newTestManager()
	tf.sources["slow"] = &fakes.Source{Value: 1, OnQuery: func() { clk.Step(40 * time.Second) }}
	defer m.Stop()
	mustApply(t, m, scalerYAML("slow", 0.5))
	waitFor(t, "the timer", func() bool { return clk.HasWaiters() })
	clk.Step(firstTick(t0, "slow", 15*time.Second).Sub(t0)) // exactly on the first tick
	waitFor(t, "missed ticks", func() bool { return rec.Missed() > 0 })
	if missed := rec.Missed(); missed != 2 {
		t.Errorf("a 40 s tick on a 15 s interval missed %d ticks, want 2", missed)
	}
}

func TestManagerReload(t *testing.T) {
	forgot := &fakes.Recorder{}
	m, _, tf, rec := newTestManager(forgot)
	defer m.Stop()
	mustApply(t, m, scalerYAML("keep", 0.5), scalerYAML("change", 0.5), scalerYAML("drop", 0.5))
	m.mu.Lock()
	keep, change := m.running["keep"], m.running["change"]
	m.mu.Unlock()

	// A config that cannot be built changes nothing.
	tf.failFor = "new"
	err := m.Apply(resolveAll(t, mustParse(t, scalerYAML("keep", 0.5), scalerYAML("new", 0.5))))
	if err == nil || !strings.Contains(err.Error(), "scalers[1] (new): signal load: no source for new") {
		t.Fatalf("Apply of an unbuildable config: err = %v", err)
	}
	if diff := cmp.Diff([]string{"change", "drop", "keep"}, m.Scalers()); diff != "" {
		t.Errorf("a failed Apply changed the running scalers (-want +got):\n%s", diff)
	}

	tf.failFor = ""
	mustApply(t, m, scalerYAML("keep", 0.5), scalerYAML("change", 0.7), scalerYAML("new", 0.5))
	if diff := cmp.Diff([]string{"change", "keep", "new"}, m.Scalers()); diff != "" {
		t.Errorf("scalers after reload (-want +got):\n%s", diff)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running["keep"] != keep {
		t.Error("an unchanged scaler was rebuilt; it must keep running with its state")
	}
	if m.running["change"] == change || m.running["change"].decider == change.decider {
		t.Error("a scaler whose policy changed kept its old decider")
	}
	if m.running["change"].actuator != change.actuator {
		t.Error("a scaler whose target did not change got a new actuator")
	}
	if diff := cmp.Diff([]string{"drop"}, forgot.Forgotten()); diff != "" {
		t.Errorf("forgotten scalers (-want +got):\n%s", diff)
	}
	forgotten := rec.Forgotten()
	sort.Strings(forgotten) // scalers stop in map order
	if diff := cmp.Diff([]string{"change", "drop"}, forgotten); diff != "" {
		t.Errorf("series restarted for (-want +got):\n%s", diff)
	}
}

func TestStopEndsTicksInFlight(t *testing.T) {
	m, _, _, _ := newTestManager()
	mustApply(t, m, scalerYAML("a", 0.5))
	done := make(chan struct{})
	go func() { m.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
	if err := m.Apply(resolveAll(t, mustParse(t, scalerYAML("a", 0.5)))); err == nil {
		t.Error("Apply after Stop succeeded")
	}
}

// A scaler whose tick hangs (a call that ignores its deadline) makes the
// manager not live after three intervals, and live again once it ticks.
func TestManagerLiveness(t *testing.T) {
	m, clk, tf, rec := newTestManager()
	defer m.Stop()
	if err := m.Live(); err != nil {
		t.Fatalf("live before any config: %v", err)
	}
	mustApply(t, m, scalerYAML("a", 0.5))
	release := make(chan struct{})
	var hung sync.Once
	entered := make(chan struct{})
	tf.mu.Lock()
	src := tf.sources["a"]
	tf.mu.Unlock()
	src.SetOnQuery(func() {
		hung.Do(func() { close(entered) })
		<-release
	})
	waitFor(t, "the timer", func() bool { return clk.HasWaiters() })
	clk.Step(15 * time.Second) // the first tick starts, and hangs
	<-entered
	if err := m.Live(); err != nil {
		t.Errorf("live one interval in: %v", err)
	}
	clk.Step(31 * time.Second) // 46s: more than three 15s intervals since the start
	err := m.Live()
	if err == nil || !strings.Contains(err.Error(), "a (no tick finished for 46s, interval 15s)") {
		t.Fatalf("Live with a hung tick = %v, want it to name scaler a", err)
	}
	close(release)
	waitFor(t, "the hung tick to finish", func() bool { return rec.Count() == 1 })
	waitFor(t, "liveness", func() bool { return m.Live() == nil })
}

func TestTickBudgetEndsBeforeTheNextTick(t *testing.T) {
	for _, tc := range []struct{ interval, want time.Duration }{
		{time.Second, 900 * time.Millisecond},
		{15 * time.Second, 14 * time.Second},
		{time.Hour, time.Hour - time.Second},
	} {
		if got := tickBudget(tc.interval); got != tc.want {
			t.Errorf("tickBudget(%s) = %s, want %s", tc.interval, got, tc.want)
		}
	}
}

// single is the scaler of scalerYAML(name) named as a Scaler object,
// resolved under the global keys of mustParse's config.
func single(t *testing.T, key string, target float64) resolved.Scaler {
	t.Helper()
	cfg := mustParse(t, scalerYAML("x", target))
	sc := cfg.Scalers[0]
	sc.Name = key
	r, err := cfg.Resolve(sc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Scalers set one by one run beside the file's, each changed or removed on
// its own, by the reload's rule, without disturbing any other.
func TestManagerSetAndRemove(t *testing.T) {
	forgot := &fakes.Recorder{}
	m, _, tf, _ := newTestManager(forgot)
	defer m.Stop()
	if err := m.Set(single(t, "shop/web", 0.5)); err == nil {
		t.Fatal("Set before any config was applied succeeded")
	}
	mustApply(t, m, scalerYAML("file", 0.5))
	for _, key := range []string{"shop/web", "shop/worker", "blog/web"} {
		if err := m.Set(single(t, key, 0.5)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"blog/web", "file", "shop/web", "shop/worker"}, m.Scalers()); diff != "" {
		t.Errorf("scalers (-want +got):\n%s", diff)
	}
	entries := func() map[string]*entry {
		m.mu.Lock()
		defer m.mu.Unlock()
		out := map[string]*entry{}
		for k, v := range m.running {
			out[k] = v
		}
		return out
	}
	before := entries()

	// Unchanged: nothing happens. Changed policy: a new decider, the same target.
	if err := m.Set(single(t, "shop/web", 0.5)); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(single(t, "shop/worker", 0.7)); err != nil {
		t.Fatal(err)
	}
	after := entries()
	for _, k := range []string{"file", "shop/web", "blog/web"} {
		if after[k] != before[k] {
			t.Errorf("%s was rebuilt by a Set of another scaler, or of itself unchanged", k)
		}
	}
	if w := after["shop/worker"]; w == before["shop/worker"] || w.decider == before["shop/worker"].decider || w.actuator != before["shop/worker"].actuator {
		t.Error("a changed policy must rebuild the decider and keep the target")
	}

	// A scaler that cannot be built leaves the previous one running.
	tf.failFor = "shop/web"
	if err := m.Set(single(t, "shop/web", 0.9)); err == nil || !strings.Contains(err.Error(), "no source for shop/web") {
		t.Errorf("Set of an unbuildable scaler = %v", err)
	}
	if entries()["shop/web"] != before["shop/web"] {
		t.Error("a failed Set replaced the running scaler")
	}
	tf.failFor = ""

	// The file cannot be overridden, nor removed, from here.
	if err := m.Set(single(t, "file", 0.5)); err == nil {
		t.Error("Set replaced a scaler of the config file")
	}
	if m.Remove("file") {
		t.Error("Remove removed a scaler of the config file")
	}

	// A reload keeps single scalers, and rebuilds them when what they inherit changes.
	if err := m.Apply(resolveAll(t, mustParse(t))); err != nil { // no file scaler left
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"blog/web", "shop/web", "shop/worker"}, m.Scalers()); diff != "" {
		t.Errorf("scalers after a reload without file scalers (-want +got):\n%s", diff)
	}
	if entries()["blog/web"] != before["blog/web"] {
		t.Error("a reload that changes nothing they inherit rebuilt a single scaler")
	}
	cfg := mustParse(t)
	cfg.Interval = 30 * time.Second
	if err := m.Apply(resolveAll(t, cfg)); err != nil {
		t.Fatal(err)
	}
	if e := entries()["blog/web"]; e == before["blog/web"] || e.scaler.Interval != 30*time.Second || !e.single {
		t.Error("a new global interval did not rebuild a single scaler on it")
	}

	// Remove stops and forgets one scaler.
	if !m.Remove("shop/web") || m.Remove("shop/web") {
		t.Error("Remove must report true once, then false")
	}
	if diff := cmp.Diff([]string{"blog/web", "shop/worker"}, m.Scalers()); diff != "" {
		t.Errorf("scalers after Remove (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"file", "shop/web"}, forgot.Forgotten()); diff != "" {
		t.Errorf("forgotten (-want +got):\n%s", diff)
	}
	if err := m.Ready(); err != nil {
		t.Errorf("single scalers that have not ticked made the manager unready: %v", err)
	}
}

// A single scaler acts only where the shard it hashes to is held, as a
// file scaler does: the acting rule is asked by key, namespace/name.
func TestSingleScalersFollowTheActingRule(t *testing.T) {
	m, clk, _, rec := newTestManager()
	defer m.Stop()
	held := leader.ShardOf("shop/web", 4)
	m.SetActing(func(scaler string) bool { return leader.ShardOf(scaler, 4) == held })
	if err := m.Apply(resolveAll(t, mustParse(t))); err != nil {
		t.Fatal(err)
	}
	other := ""
	for _, k := range []string{"shop/worker", "blog/web", "bank/web", "shop/api", "shop/cron"} {
		if leader.ShardOf(k, 4) != held {
			other = k
			break
		}
	}
	for _, k := range []string{"shop/web", other} {
		if err := m.Set(single(t, k, 0.5)); err != nil {
			t.Fatal(err)
		}
	}
	stepUntilDecisions(t, clk, rec, 2, time.Minute)
	waitFor(t, "a decision of each", func() bool { return rec.Count() >= 2 })
	for _, d := range rec.Decisions() {
		if want := d.Scaler != "shop/web"; d.DryRun != want {
			t.Errorf("%s decided with dry_run %v, want %v (its shard held: %v)", d.Scaler, d.DryRun, !want, d.Scaler == "shop/web")
		}
	}
}

// A signal's valid_range reaches the loop: a value outside it fails as
// out_of_range, is counted, and holds the capacity.
func TestManagerAppliesEachSignalsValidRange(t *testing.T) {
	m, clk, tf, rec := newTestManager()
	defer m.Stop()
	ratio := strings.Replace(scalerYAML("ratio", 0.1), "signals: [{name: load, query: 'sum(load{app=\"ratio\"})'}]",
		"signals: [{name: load, query: 'sum(load{app=\"ratio\"})', valid_range: {max: 1}}]", 1)
	if ratio == scalerYAML("ratio", 0.1) {
		t.Fatal("the scaler's signal line was not found")
	}
	mustApply(t, m, ratio)
	tf.mu.Lock()
	tf.sources["ratio"].Set(1.5, nil) // 15 replicas' worth, were it believed
	tf.mu.Unlock()
	stepUntilDecisions(t, clk, rec, 1, 15*time.Second)
	waitFor(t, "a tick", func() bool { return rec.Count() >= 1 })
	d := rec.Decisions()[0]
	if got := d.Signals[0].Failed; got != scaling.FailureOutOfRange {
		t.Errorf("signal failed as %q, want out_of_range: %+v", got, d.Signals[0])
	}
	if !strings.Contains(d.Signals[0].Error, "outside the valid range [0, 1]") {
		t.Errorf("the error %q does not name the range", d.Signals[0].Error)
	}
	if d.Desired != 2 {
		t.Errorf("desired %d, want 2 held", d.Desired)
	}
	if errs := rec.Errs(); !slices.Contains(errs, scaling.FailureOutOfRange) {
		t.Errorf("failures counted %v, want out_of_range among them", errs)
	}
}

// stepUntilDecisions moves clk a second at a time, for at most span, until
// rec holds n decisions. Each scaler starts its timer on its own goroutine,
// so one waiting timer does not mean all of them wait: stepping until the
// decisions are there does not assume it. The caller asserts the count.
func stepUntilDecisions(t *testing.T, clk *clocktesting.FakeClock, rec *fakes.Recorder, n int, span time.Duration) {
	t.Helper()
	waitFor(t, "a timer", func() bool { return clk.HasWaiters() })
	for step := time.Duration(0); step < span && rec.Count() < n; step += time.Second {
		clk.Step(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
}
