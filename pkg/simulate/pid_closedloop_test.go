package simulate

import (
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// pidLoopYAML is a PID on the p95 alone, with gains relative to the current
// capacity.
const pidLoopYAML = `
interval: 15s
scalers:
  - name: web
    target: {kind: log}
    signals:
      - {name: latency, query: p95}
    policies:
      - name: latency
        type: pid
        pid: {signal: latency, setpoint: 0.7, gain_scale: relative, kp: 0, ki: 0.003, deadband: 0.2, max_error: 2}
    bounds: {min: 1, max: 1000}
`

// stepTrace is 1-minute data: low for an hour, then twice as much for two.
func stepTrace(low, high int) *sources.Trace {
	tr := &sources.Trace{Step: time.Minute}
	start := time.Unix(1_700_000_000, 0).UTC()
	for i := 0; i < 180; i++ {
		v := float64(low)
		if i >= 60 {
			v = float64(high)
		}
		tr.Samples = append(tr.Samples, scaling.Sample{Time: start.Add(time.Duration(i) * time.Minute), Value: v})
	}
	return tr
}

// The PID closes the loop on the reference model: after demand doubles it
// settles within 40 ticks (10 minutes, with a 60 s startup delay) with at
// most 2 replicas of overshoot over where it settles, and at constant demand
// it does not move at all once settled.
func TestPIDClosedLoopStepResponse(t *testing.T) {
	const (
		maxSettleTicks = 40
		maxOvershoot   = 2
		stepTick       = 60 * 4
	)
	cfg, err := config.Parse([]byte(pidLoopYAML))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(stepTrace(600, 1200), DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	run, err := RunConfig(m, cfg, "", nil, EngineOptions{Timeline: true})
	if err != nil {
		t.Fatal(err)
	}
	rows := run.Timeline()
	final := rows[len(rows)-1].Replicas
	// Settled: the last tick after the step at which replicas changed.
	settled, peak := stepTick, int32(0)
	for i := stepTick; i < len(rows); i++ {
		peak = max(peak, rows[i].Replicas)
		if rows[i].Replicas != rows[i-1].Replicas {
			settled = i
		}
	}
	t.Logf("before the step %d replicas; after it settles at %d in %d ticks, peak %d", rows[stepTick-1].Replicas, final, settled-stepTick, peak)
	if settled-stepTick > maxSettleTicks {
		t.Errorf("settled %d ticks after the step, want <= %d", settled-stepTick, maxSettleTicks)
	}
	if peak-final > maxOvershoot {
		t.Errorf("overshoot %d replicas (peak %d, final %d), want <= %d", peak-final, peak, final, maxOvershoot)
	}
	// Oracle at the high level: 10 replicas (the trace's median needs 10).
	if final < 10 || final > 14 {
		t.Errorf("settled at %d replicas for a demand the oracle serves with 10", final)
	}
	// Constant demand: in the last 90 minutes nothing moves.
	for i := len(rows) - 360; i < len(rows); i++ {
		if rows[i].Replicas != final {
			t.Fatalf("tick %d: %d replicas, want a steady %d at constant demand", i, rows[i].Replicas, final)
		}
	}
	// And before the step too, once the first minutes are past.
	for i := 120; i < stepTick; i++ {
		if rows[i].Replicas != rows[stepTick-1].Replicas {
			t.Fatalf("tick %d: %d replicas before the step, want steady %d", i, rows[i].Replicas, rows[stepTick-1].Replicas)
		}
	}
}
