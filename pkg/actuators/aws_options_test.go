package actuators

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

func TestAWSDefaults(t *testing.T) {
	a := &AuroraTarget{ClusterIdentifier: "prod"}
	a.Default("db")
	if a.Owner != "db" || a.NameTemplate != DefaultAuroraName {
		t.Errorf("aurora options %+v", a.ReplicaOptions)
	}
	r := &RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{Owner: "kept"}}
	r.Default("db")
	if r.Owner != "kept" || r.NameTemplate != DefaultRDSName {
		t.Errorf("rds options %+v", r.ReplicaOptions)
	}
	l := &LambdaTarget{FunctionName: "f", Qualifier: "live"}
	l.Default("fn")
	if l.UnreservedMargin == nil || *l.UnreservedMargin != DefaultUnreservedMargin {
		t.Errorf("lambda unreserved_margin %v", l.UnreservedMargin)
	}
}

func TestAWSValidation(t *testing.T) {
	margin, lowQuota := int32(5), int32(MinUnreservedMargin)
	target := &AuroraTarget{ClusterIdentifier: "prod", ReplicaOptions: ReplicaOptions{
		NameTemplate: "{cluster}--reader", MinReaders: 16, Tags: map[string]string{"aws:team": "x"}}}
	var p field.ErrorList
	p = append(p, target.Validate("db", field.NewPath("scalers").Index(0).Child("target", "aurora"))...)
	lt := &LambdaTarget{FunctionName: "f", Qualifier: "live", LambdaOptions: LambdaOptions{UnreservedMargin: &margin}}
	p = append(p, lt.Validate("fn", field.NewPath("scalers").Index(1).Child("target", "lambda"))...)
	low := &LambdaTarget{FunctionName: "f", Qualifier: "live", LambdaOptions: LambdaOptions{UnreservedMargin: &lowQuota}}
	p = append(p, low.Validate("fn", field.NewPath("scalers").Index(5).Child("target", "lambda"))...) // a low-quota account's minimum: no problem
	long := &RDSTarget{SourceInstance: strings.Repeat("a", 60), ReplicaOptions: ReplicaOptions{NameTemplate: DefaultRDSName}}
	p = append(p, long.Validate("x", field.NewPath("scalers").Index(2).Child("target", "rds"))...)
	p = append(p, (&LambdaTarget{Qualifier: "$LATEST"}).Validate("x", field.NewPath("scalers").Index(3).Child("target", "lambda"))...)
	p = append(p, (&AuroraTarget{}).Validate("x", field.NewPath("scalers").Index(4).Child("target", "aurora"))...)
	want := []string{
		`scalers[0].target.aurora.name_template: "{cluster}--reader": must contain {index}`,
		`scalers[0].target.aurora.min_readers: 16: must be in 0..15`,
		`scalers[0].target.aurora.tags: "aws:team": keys starting with aws: or scaled.dev/ are reserved`,
		`scalers[1].target.lambda.unreserved_margin: 5: must be >= 10: Lambda keeps at least that much unreserved (100 on most accounts) and refuses more`,
		`scalers[2].target.rds.name_template: "{source}-scaled-{index}": makes "` + strings.Repeat("a", 60) + `-scaled-15": a DB instance identifier is 1 to 63 letters, digits or hyphens, starts with a letter, has no two hyphens in a row and does not end with one`,
		`scalers[3].target.lambda.function_name: "": must not be empty`,
		`scalers[3].target.lambda.qualifier: "$LATEST": must name an alias or a version: $LATEST cannot have provisioned concurrency`,
		`scalers[4].target.aurora.cluster_identifier: "": must not be empty`,
	}
	if diff := cmp.Diff(want, fielderr.Lines(p)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
