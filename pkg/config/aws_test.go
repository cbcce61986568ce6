package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

func TestAWSDefaultsByKind(t *testing.T) {
	type guards struct {
		UpWindow, DownWindow time.Duration
		Up, Down             []RatePolicy
	}
	for _, tc := range []struct {
		target Target
		want   guards
	}{
		{Target{Kind: "aurora", Aurora: &AuroraTarget{ClusterIdentifier: "prod"}}, guards{60 * time.Second, 1800 * time.Second,
			[]RatePolicy{{Type: "Pods", Value: 2, Period: 600 * time.Second}}, []RatePolicy{{Type: "Pods", Value: 1, Period: 600 * time.Second}}}},
		{Target{Kind: "rds", RDS: &RDSTarget{SourceInstance: "orders"}}, guards{60 * time.Second, 1800 * time.Second,
			[]RatePolicy{{Type: "Pods", Value: 2, Period: 600 * time.Second}}, []RatePolicy{{Type: "Pods", Value: 1, Period: 600 * time.Second}}}},
		{Target{Kind: "lambda", Lambda: &LambdaTarget{FunctionName: "f", Qualifier: "live"}}, guards{0, 600 * time.Second,
			[]RatePolicy{{Type: "Percent", Value: 100, Period: 60 * time.Second}}, []RatePolicy{{Type: "Percent", Value: 10, Period: 60 * time.Second}}}},
		{Target{Kind: "log", Log: &LogTarget{}}, guards{0, 300 * time.Second,
			[]RatePolicy{{Type: "Pods", Value: 4, Period: 15 * time.Second}, {Type: "Percent", Value: 100, Period: 15 * time.Second}}, []RatePolicy{{Type: "Percent", Value: 100, Period: 15 * time.Second}}}},
	} {
		t.Run(tc.target.Kind, func(t *testing.T) {
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
		c := &Config{Scalers: []Scaler{{Name: "db", Target: Target{Kind: "aurora", Aurora: &AuroraTarget{ClusterIdentifier: "prod"}},
			DecisionSpec: DecisionSpec{Behavior: Behavior{ScaleDown: &ScalingRules{StabilizationWindow: &w}}}}}}
		ApplyDefaults(c)
		s := c.Scalers[0]
		if *s.Behavior.ScaleDown.StabilizationWindow != w || s.Behavior.ScaleDown.Policies[0].Period != ReplicaScaleDownPeriod {
			t.Errorf("scale_down %+v", s.Behavior.ScaleDown)
		}
		if s.Target.Aurora.Owner != "db" || s.Target.Aurora.NameTemplate != DefaultAuroraName {
			t.Errorf("options %+v", s.Target.Aurora.ReplicaOptions)
		}
	})
}

func TestAWSValidation(t *testing.T) {
	margin, lowQuota := int32(5), int32(MinUnreservedMargin)
	target := Target{Kind: "aurora", Aurora: &AuroraTarget{ClusterIdentifier: "prod", ReplicaOptions: ReplicaOptions{
		NameTemplate: "{cluster}--reader", MinReaders: 16, Tags: map[string]string{"aws:team": "x"}}}}
	var p field.ErrorList
	p = append(p, validateAWSTarget(field.NewPath("scalers").Index(0).Child("target"), &target, "db")...)
	lt := Target{Kind: "lambda", Lambda: &LambdaTarget{FunctionName: "f", Qualifier: "live", LambdaOptions: LambdaOptions{UnreservedMargin: &margin}}}
	p = append(p, validateAWSTarget(field.NewPath("scalers").Index(1).Child("target"), &lt, "fn")...)
	low := Target{Kind: "lambda", Lambda: &LambdaTarget{FunctionName: "f", Qualifier: "live", LambdaOptions: LambdaOptions{UnreservedMargin: &lowQuota}}}
	p = append(p, validateAWSTarget(field.NewPath("scalers").Index(3).Child("target"), &low, "fn")...) // a low-quota account's minimum: no problem
	long := Target{Kind: "rds", RDS: &RDSTarget{SourceInstance: strings.Repeat("a", 60), ReplicaOptions: ReplicaOptions{NameTemplate: DefaultRDSName}}}
	p = append(p, validateAWSTarget(field.NewPath("scalers").Index(2).Child("target"), &long, "x")...)
	var got []string
	for _, e := range p {
		got = append(got, fielderr.Format(e))
	}
	want := []string{
		`scalers[0].target.aurora.name_template: "{cluster}--reader": must contain {index}`,
		`scalers[0].target.aurora.min_readers: 16: must be in 0..15`,
		`scalers[0].target.aurora.tags: "aws:team": keys starting with aws: or scaled.dev/ are reserved`,
		`scalers[1].target.lambda.unreserved_margin: 5: must be >= 10: Lambda keeps at least that much unreserved (100 on most accounts) and refuses more`,
		`scalers[2].target.rds.name_template: "{source}-scaled-{index}": makes "` + strings.Repeat("a", 60) + `-scaled-15": a DB instance identifier is 1 to 63 letters, digits or hyphens, starts with a letter, has no two hyphens in a row and does not end with one`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
