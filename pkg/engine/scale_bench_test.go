package engine

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// lagRecorder keeps tick lags; everything else is dropped.
type lagRecorder struct {
	mu   sync.Mutex
	lags []time.Duration
	n    int
}

func (r *lagRecorder) InitScaler(string, []string, bool)               {}
func (r *lagRecorder) SetScalers(int)                                  {}
func (r *lagRecorder) ObserveDecision(scaling.Decision)                {}
func (r *lagRecorder) SignalError(string, string, scaling.FailureKind) {}
func (r *lagRecorder) TickMissed(string, int)                          {}
func (r *lagRecorder) ObserveTick(_ string, _, lag time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lags = append(r.lags, lag)
	r.n++
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkLoop1000Scalers runs 1,000 scalers ticking every 15 s against an
// in-memory source and log targets, on a clock running `speed` times faster
// than the wall, and reports what that load costs at real speed: CPU seconds
// per wall second, heap per scaler and the tick lag (start after schedule).
//
//	go test -run '^$' -bench Loop1000Scalers -benchtime 1x ./pkg/engine
func BenchmarkLoop1000Scalers(b *testing.B) {
	const (
		scalers  = 1000
		speed    = 10.0
		simulate = 2 * time.Minute // simulated time: 8 ticks per scaler
	)
	cfg := benchFleet(b, scalers, "s%04d")
	for i := 0; i < b.N; i++ {
		rc := resolveAll(b, cfg) // resolved as the daemon does before Apply, outside what is measured
		tf := newTestFactories()
		rec := &lagRecorder{}
		base := heapInUse()
		clk := NewFastClock(clock.RealClock{}, t0, speed)
		m := NewManager(clk, nil, tf.factories(), rec, nil)
		if err := m.Apply(rc); err != nil {
			b.Fatal(err)
		}
		perScaler := float64(heapInUse()-base) / scalers
		cpu0, wall0 := cpuTime(), time.Now()
		time.Sleep(time.Duration(float64(simulate) / speed))
		cpu, wall := cpuTime()-cpu0, time.Since(wall0)
		m.Stop()

		rec.mu.Lock()
		sort.Slice(rec.lags, func(i, j int) bool { return rec.lags[i] < rec.lags[j] })
		// Lags were read on the fast clock: divide by speed for wall time.
		p50 := time.Duration(float64(rec.lags[len(rec.lags)/2]) / speed)
		p99 := time.Duration(float64(rec.lags[len(rec.lags)*99/100]) / speed)
		ticks := rec.n
		rec.mu.Unlock()
		// At real speed the same ticks take `speed` times longer: CPU per wall second scales down by speed.
		b.ReportMetric(cpu.Seconds()/wall.Seconds()/speed, "cpu-s/wall-s")
		b.ReportMetric(perScaler, "heap-B/scaler")
		b.ReportMetric(float64(p50.Microseconds()), "lag-p50-µs")
		b.ReportMetric(float64(p99.Microseconds()), "lag-p99-µs")
		b.ReportMetric(float64(ticks)/wall.Seconds(), "ticks/s")
	}
}

// BenchmarkTick is one whole tick of one scaler: read the target, query an
// in-memory source, decide (target tracking, HPA default guards), act on a
// log target, with no logger and no metrics.
//
//	go test -run '^$' -bench 'Tick$' -benchmem ./pkg/engine
func BenchmarkTick(b *testing.B) {
	src := &fakes.Source{Value: 0.5}
	act := actuators.NewLog(4, nil)
	tt, err := policy.NewTargetTracking("load", "load", policy.TargetValue, 0.5, policy.DefaultTolerance)
	if err != nil {
		b.Fatal(err)
	}
	s := NewScaler(ScalerSpec{
		Name: "web", Decider: holdingDecider(b, tt, 100), Actuator: act, Interval: 15 * time.Second, QueryTimeout: time.Second,
		Signals: []Signal{{Name: "load", Expr: "load", Source: src}},
	}, nil, nil, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Swing the signal so that ticks scale up and down through the guards.
		src.Set(0.3+float64(i%10)*0.05, nil)
		s.Tick(ctx, t0.Add(time.Duration(i)*15*time.Second))
	}
}

// BenchmarkIdleScalerBytes is what one scaler costs the process while it
// waits for its next tick, after a first tick has filled its state: the
// heap it keeps (config, decider, readings, timer) and the goroutine stacks
// it holds, per scaler, over 1,000 scalers run by the Manager. The metrics,
// the decision log and the logger are the daemon's and not counted here.
//
//	go test -run '^$' -bench IdleScalerBytes -count 3 ./pkg/engine
func BenchmarkIdleScalerBytes(b *testing.B) {
	const scalers = 1000
	cfg := benchFleet(b, scalers, "s%04d")
	for i := 0; i < b.N; i++ {
		rc := resolveAll(b, cfg) // resolved as the daemon does before Apply, outside what is measured
		tf := newTestFactories()
		rec := &lagRecorder{}
		clk := clocktesting.NewFakeClock(t0)
		heap0, stack0 := memInUse()
		m := NewManager(clk, nil, tf.factories(), rec, nil)
		if err := m.Apply(rc); err != nil {
			b.Fatal(err)
		}
		for clk.Waiters() < scalers { // every timer armed
			time.Sleep(time.Millisecond)
		}
		clk.Step(15 * time.Second)
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
			rec.mu.Lock()
			n := rec.n
			rec.mu.Unlock()
			if n == scalers {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d scalers ticked", n, scalers)
			}
		}
		for clk.Waiters() < scalers { // every timer armed again: every tick over
			time.Sleep(time.Millisecond)
		}
		heap, stack := memInUse()
		b.ReportMetric(float64(heap-heap0)/scalers, "heap-B/scaler")
		b.ReportMetric(float64(stack-stack0)/scalers, "stack-B/scaler")
		b.ReportMetric(float64(heap+stack-heap0-stack0)/scalers, "B/scaler")
		m.Stop()
	}
}

// memInUse is the live heap and the goroutine stacks in use, after a GC.
func memInUse() (heap, stack int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.StackInuse)
}

// benchFleet is a config of n scalers named by format (a Printf pattern of
// their index), each with the test scalers' one signal and policy.
func benchFleet(b *testing.B, n int, format string) *config.Config {
	b.Helper()
	var yaml strings.Builder
	for i := range n {
		yaml.WriteString(scalerYAML(fmt.Sprintf(format, i), 0.5))
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(baseConfig, yaml.String())))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}
