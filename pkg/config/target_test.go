package config

import (
	"strings"
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

// An observed target is only read: a scaler that would act on it is refused,
// naming the key to set; in dry run, here or for the whole file, it is taken.
func TestObservedTargetNeedsDryRun(t *testing.T) {
	file := func(global, scaler string) string {
		return `prometheus: {url: "http://prom:9090"}
` + global + `
scalers:
  - name: web
` + scaler + `
    target:
      kind: observed
      observed:
        current: sum(kube_deployment_spec_replicas{namespace="shop",deployment="web"})
        ready: sum(kube_deployment_status_replicas_ready{namespace="shop",deployment="web"})
    signals:
      - name: rps
        query: sum(rate(http_requests_total[1m]))
    policies:
      - {name: tt, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}
    bounds: {min: 1, max: 10}
`
	}
	_, err := LoadData("", []byte(file("", "")), nil)
	want := "scalers[0].dry_run: false: must be true (here or for the whole file): an observed target is only read through Prometheus, never set"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("live scaler on an observed target: %v, want %q", err, want)
	}
	for _, ok := range [][2]string{{"dry_run: true", ""}, {"", "    dry_run: true"}} {
		if _, err := LoadData("", []byte(file(ok[0], ok[1])), nil); err != nil {
			t.Errorf("dry run %q: %v", ok, err)
		}
	}
	noCurrent := strings.Replace(file("dry_run: true", ""), `current: sum(kube_deployment_spec_replicas{namespace="shop",deployment="web"})`, `current: ""`, 1)
	if _, err := LoadData("", []byte(noCurrent), nil); err == nil || !strings.Contains(err.Error(), "scalers[0].target.observed.current") {
		t.Errorf("observed target without current: %v, want target.observed.current required", err)
	}
	badReady := strings.Replace(file("dry_run: true", ""), `ready: sum(`, `ready: sum((`, 1)
	if _, err := LoadData("", []byte(badReady), nil); err == nil || !strings.Contains(err.Error(), "scalers[0].target.observed.ready: ") {
		t.Errorf("observed target with a ready query that does not parse: %v, want target.observed.ready refused", err)
	}
}
