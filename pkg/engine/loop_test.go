package engine

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// Scalers waiting for their next tick hold no goroutine: a fleet's idle
// scalers cost no stacks. A tick runs on a goroutine of its own, which ends
// with the tick.
func TestIdleScalersHoldNoGoroutines(t *testing.T) {
	const n = 200
	m, clk, _, rec := newTestManager()
	defer m.Stop()
	var yaml []string
	for i := range n {
		yaml = append(yaml, scalerYAML(fmt.Sprintf("s%03d", i), 0.5))
	}
	before := runtime.NumGoroutine()
	mustApply(t, m, yaml...)
	if got := runtime.NumGoroutine() - before; got >= n/2 {
		t.Errorf("%d idle scalers added %d goroutines, want none per scaler", n, got)
	}
	if w := clk.Waiters(); w != n {
		t.Errorf("%d scalers armed %d timers, want one each", n, w)
	}
	// Every scaler ticks within one interval, and is idle again after it.
	clk.Step(15 * time.Second)
	waitFor(t, "a tick of every scaler", func() bool { return rec.Count() == n })
	waitFor(t, "every timer armed again", func() bool { return clk.Waiters() == n })
	waitFor(t, "the ticks' goroutines to end", func() bool { return runtime.NumGoroutine()-before < n/2 })
	if err := m.Ready(); err != nil {
		t.Errorf("not ready after every scaler ticked: %v", err)
	}
}

// A scaler keeps its phase tick after tick: the timer is armed again for
// the next slot on the grid, not an interval after the tick ended.
func TestTicksStayOnTheirPhase(t *testing.T) {
	m, clk, _, rec := newTestManager()
	defer m.Stop()
	mustApply(t, m, scalerYAML("a", 0.5))
	first := firstTick(t0, "a", 15*time.Second)
	for i := range 4 {
		waitFor(t, "the timer", func() bool { return clk.HasWaiters() })
		clk.SetTime(first.Add(time.Duration(i)*15*time.Second + 700*time.Millisecond))
		waitFor(t, "the tick", func() bool { return rec.Count() == i+1 })
	}
	for i, d := range rec.Decisions() {
		if want := first.Add(time.Duration(i) * 15 * time.Second); !d.Time.Equal(want) {
			t.Errorf("tick %d at %s, want %s", i, d.Time.Format(time.TimeOnly+".000"), want.Format(time.TimeOnly+".000"))
		}
	}
	if missed := rec.Missed(); missed != 0 {
		t.Errorf("%d ticks counted missed, want none", missed)
	}
}

// Stop cancels the tick in flight and returns only once it has ended; no
// tick starts after it, however far the clock moves.
func TestStopWaitsForTheTickInFlight(t *testing.T) {
	m, clk, tf, rec := newTestManager()
	mustApply(t, m, scalerYAML("a", 0.5))
	entered, release := make(chan struct{}), make(chan struct{})
	tf.mu.Lock()
	src := tf.sources["a"]
	tf.mu.Unlock()
	src.SetOnQuery(func() { close(entered); <-release }) // ignores its deadline
	clk.Step(15 * time.Second)
	<-entered

	stopped := make(chan struct{})
	go func() { m.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a tick was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return once the tick ended")
	}
	if got := rec.Count(); got != 1 {
		t.Errorf("%d decisions when Stop returned, want the one in flight", got)
	}
	if clk.HasWaiters() {
		t.Error("a timer is still armed after Stop")
	}
	clk.Step(time.Hour)
	time.Sleep(20 * time.Millisecond)
	if got := rec.Count(); got != 1 {
		t.Errorf("%d decisions after Stop and an hour, want 1", got)
	}
}

// A runner stopped twice (a reload that replaces a scaler, then the
// manager's Stop) returns at once the second time.
func TestRunnerStopIsIdempotent(t *testing.T) {
	m, _, _, _ := newTestManager()
	mustApply(t, m, scalerYAML("a", 0.5))
	r := m.running["a"].runner
	r.stop()
	r.stop()
	m.Stop()
}
