package engine

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/leader"
	"github.com/scaled-dev/scaled/pkg/telemetry"
)

// BenchmarkShardHandover is what a replica running 10,000 scalers of 4
// shards (2,500 each) spends when it loses one shard and when it takes one:
// SyncRunning stopping 2,500 scalers that have ticked (their loops, series
// and kept decisions), and starting 2,500 (building each). Reported in
// milliseconds per handover, with the real metrics and decision log.
//
//	go test -run '^$' -bench ShardHandover -benchtime 5x ./pkg/engine
func BenchmarkShardHandover(b *testing.B) {
	const (
		scalers = 10000
		shards  = 4
	)
	cfg := benchFleet(b, scalers, "s%05d")
	var lose, take time.Duration
	for b.Loop() {
		clk := clocktesting.NewFakeClock(t0)
		tf := newTestFactories()
		metrics := telemetry.NewMetrics(prometheus.NewRegistry())
		log := telemetry.NewDecisionLog(10)
		count := &fakes.Recorder{}
		m := NewManager(clk, nil, tf.factories(), recorders{metrics, count}, log, metrics, forgetFunc(log.Forget))
		var lost atomic.Bool
		m.SetRunning(func(s string) bool { return !lost.Load() || leader.ShardOf(s, shards) != 0 })
		if err := m.Apply(resolveAll(b, cfg)); err != nil {
			b.Fatal(err)
		}
		// One tick of each, so that each has its series and decisions.
		for count.Count() < scalers {
			clk.Step(time.Second)
			time.Sleep(time.Millisecond)
		}
		lost.Store(true)
		start := time.Now()
		m.SyncRunning()
		lose += time.Since(start)
		lost.Store(false)
		start = time.Now()
		m.SyncRunning()
		take += time.Since(start)
		m.Stop()
	}
	b.ReportMetric(float64(lose.Milliseconds())/float64(b.N), "ms/lose-2500")
	b.ReportMetric(float64(take.Milliseconds())/float64(b.N), "ms/take-2500")
}
