package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// A PID in dry run shows the trajectory it would follow live: with p95 far
// above its setpoint it asks for more at every tick, from what it asked for
// last, instead of re-basing on the 4 replicas the dry run never moves (and
// looking calm: 4, 4, 4, 5, 4). Its reason says it shadows its decisions.
func TestDryRunPIDShadowsItsOwnDecisions(t *testing.T) {
	run := func(dryRun bool) []scaling.Decision {
		pid, err := policy.NewPID("latency", policy.PIDConfig{
			Signal: "p95", Setpoint: 0.2, GainScale: policy.PIDRelative, Ki: 0.003, MaxError: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		act := actuators.NewLog(4, nil)
		s := NewScaler(ScalerSpec{
			Name: "web", Decider: holdingDecider(t, pid, 50), Actuator: act, Interval: 15 * time.Second, QueryTimeout: time.Second, DryRun: dryRun,
			Signals: []Signal{{Name: "p95", Expr: "p95", Source: &fakes.Source{Value: 2.3}}},
		}, nil, nil, nil)
		var out []scaling.Decision
		for i := range 12 {
			out = append(out, s.Tick(context.Background(), t0.Add(time.Duration(i)*15*time.Second)))
			if dryRun {
				act = actuators.NewLog(4, nil) // nothing moves the target in dry run
				s.Actuator = act
			}
		}
		return out
	}
	var desired []int32
	for i, d := range run(true) {
		desired = append(desired, d.Desired)
		if d.Current != 4 || (d.Desired != 4 && d.Outcome != scaling.OutcomeDryRun) {
			t.Fatalf("tick %d: current %d, outcome %s: the dry run moved the target", i, d.Current, d.Outcome)
		}
		if i > 0 && d.Desired < desired[i-1] {
			t.Errorf("shadow recommendations %v fall at tick %d under a p95 far above the setpoint", desired, i)
		}
		if i > 0 && desired[i-1] != 4 && !strings.Contains(d.Recommendations[0].Reason, "shadow of a dry run, as if") {
			t.Errorf("tick %d: reason %q does not say it works from its last decision (%d), not the target's 4", i, d.Recommendations[0].Reason, desired[i-1])
		}
	}
	if last := desired[len(desired)-1]; last < 6 {
		t.Errorf("dry-run recommendations %v: want them to climb from 4 as the live PID would, to at least 6 in 12 ticks", desired)
	}
	// Live, the same PID moves the target by the same steps.
	var live []int32
	for _, d := range run(false) {
		live = append(live, d.Desired)
	}
	if live[len(live)-1] < 6 {
		t.Errorf("live decisions %v: want the climb the dry run showed (%v)", live, desired)
	}
}
