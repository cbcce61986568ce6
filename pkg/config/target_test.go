package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/actuators"
)

// A scaler's behaviour starts from its target kind's, key by key, and the
// target's block fills its own defaults.
func TestBehaviorDefaultsByKind(t *testing.T) {
	type guards struct {
		UpWindow, DownWindow time.Duration
		Up, Down             []RatePolicy
	}
	for _, tc := range []struct {
		target Target
		want   guards
	}{
		{Target{Kind: "aurora", Spec: &actuators.AuroraTarget{ClusterIdentifier: "prod"}}, guards{60 * time.Second, 1800 * time.Second,
			[]RatePolicy{{Type: "Pods", Value: 2, Period: 600 * time.Second}}, []RatePolicy{{Type: "Pods", Value: 1, Period: 600 * time.Second}}}},
		{Target{Kind: "rds", Spec: &actuators.RDSTarget{SourceInstance: "orders"}}, guards{60 * time.Second, 1800 * time.Second,
			[]RatePolicy{{Type: "Pods", Value: 2, Period: 600 * time.Second}}, []RatePolicy{{Type: "Pods", Value: 1, Period: 600 * time.Second}}}},
		{Target{Kind: "lambda", Spec: &actuators.LambdaTarget{FunctionName: "f", Qualifier: "live"}}, guards{0, 600 * time.Second,
			[]RatePolicy{{Type: "Percent", Value: 100, Period: 60 * time.Second}}, []RatePolicy{{Type: "Percent", Value: 10, Period: 60 * time.Second}}}},
		{Target{Kind: "log"}, guards{0, 300 * time.Second,
			[]RatePolicy{{Type: "Pods", Value: 4, Period: 15 * time.Second}, {Type: "Percent", Value: 100, Period: 15 * time.Second}}, []RatePolicy{{Type: "Percent", Value: 100, Period: 15 * time.Second}}}},
	} {
		t.Run(string(tc.target.Kind), func(t *testing.T) {
			c := &Config{Scalers: []Scaler{{Name: "db", Target: tc.target}}}
			ApplyDefaults(c)
			b := c.Scalers[0].Behavior
			got := guards{*b.ScaleUp.StabilizationWindow, *b.ScaleDown.StabilizationWindow, b.ScaleUp.Policies, b.ScaleDown.Policies}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("a field written in the file is kept", func(t *testing.T) {
		w := 5 * time.Minute
		c := &Config{Scalers: []Scaler{{Name: "db", Target: Target{Kind: "aurora", Spec: &actuators.AuroraTarget{ClusterIdentifier: "prod"}},
			DecisionSpec: DecisionSpec{Behavior: Behavior{ScaleDown: &ScalingRules{StabilizationWindow: &w}}}}}}
		ApplyDefaults(c)
		s := c.Scalers[0]
		if *s.Behavior.ScaleDown.StabilizationWindow != w || s.Behavior.ScaleDown.Policies[0].Period != actuators.ReplicaScaleDownPeriod {
			t.Errorf("scale_down %+v", s.Behavior.ScaleDown)
		}
		if a := s.Target.Spec.(*actuators.AuroraTarget); a.Owner != "db" || a.NameTemplate != actuators.DefaultAuroraName {
			t.Errorf("options %+v", a.ReplicaOptions)
		}
	})
}
