package tenancy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
)

// auroraSpec is a Scaler spec of the Aurora cluster orders-db whose aurora
// block also holds extra (`"key": value, ` pairs, or "").
func auroraSpec(id, extra string) string {
	return `{"target": {"kind": "aurora", "aurora": {` + extra + `"cluster_identifier": "` + id + `"}}, "signals": [{"name": "rps", "query": "x"}], ` + policies + `}`
}

// confineShop decodes spec as the Scaler shop/orders and confines it by rules.
func confineShop(t *testing.T, spec string, rules *config.ScalerObjects) (config.Scaler, []string) {
	t.Helper()
	sc, errs := config.DecodeScalerJSON([]byte(spec), "shop/orders", "shop", field.NewPath("spec"))
	if len(errs) > 0 {
		t.Fatal(fielderr.Lines(errs))
	}
	return sc, fielderr.Lines(Confine(&sc, "shop", rules, field.NewPath("spec")))
}

// A grant written as it was before grants named more than the resource
// (`aurora:orders-*` for shop) lets a Scaler of shop reach its cluster
// only: not the same name in another region or account, and none of the
// keys that decide what scaled creates and deletes.
func TestAGrantPinsTheWholeTarget(t *testing.T) {
	rules := config.DefaultScalerObjects()
	rules.AllowAWS = []config.AWSGrant{{Namespace: "shop", Resources: []string{"aurora:orders-*", "aurora:arn:aws:rds:eu-west-1:*:cluster:orders-db", "lambda:*:function:checkout"}}}
	for _, tc := range []struct {
		escape, spec, want string
	}{
		{"region", auroraSpec("orders-db", `"region": "us-east-1", `),
			`spec.target.aurora.region: "us-east-1": must be unset: scaler_objects.allow_aws[0] grants "aurora:orders-db" in scaled's own region only`},
		{"account", auroraSpec("arn:aws:rds:eu-west-1:999999999999:cluster:orders-db", ""),
			`spec.target.aurora.cluster_identifier: "arn:aws:rds:eu-west-1:999999999999:cluster:orders-db": names account 999999999999: scaler_objects.allow_aws[0] grants no ARN`},
		{"account, Lambda's partial ARN", `{"target": {"kind": "lambda", "lambda": {"function_name": "999999999999:function:checkout", "qualifier": "live"}}, "signals": [{"name": "rps", "query": "x"}], ` + policies + `}`,
			`spec.target.lambda.function_name: "999999999999:function:checkout": names account 999999999999: scaler_objects.allow_aws[0] grants no ARN`},
		{"owner", auroraSpec("orders-db", `"owner": "billing/orders", `),
			`spec.target.aurora.owner: "billing/orders": must be unset: scaler_objects.allow_aws[0] fixes it (to the default: the Scaler's own <namespace>/<name>)`},
		{"tags", auroraSpec("orders-db", `"tags": {"cost-center": "billing"}, `),
			`spec.target.aurora.tags: {cost-center: "billing"}: must be unset: scaler_objects.allow_aws[0] fixes it (to no tags)`},
		{"instance_class", auroraSpec("orders-db", `"instance_class": "db.r6g.16xlarge", `),
			`spec.target.aurora.instance_class: "db.r6g.16xlarge": must be unset: scaler_objects.allow_aws[0] fixes it (to the default: the writer's or source's)`},
		{"name_template", auroraSpec("orders-db", `"name_template": "billing-db-{index}", `),
			`spec.target.aurora.name_template: "billing-db-{index}": must be unset: scaler_objects.allow_aws[0] fixes it (to the default: "{cluster}-scaled-{index}")`},
	} {
		t.Run(tc.escape, func(t *testing.T) {
			_, got := confineShop(t, tc.spec, &rules)
			if len(got) == 0 || !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("Confine = %q\nwant a first problem starting %q", got, tc.want)
			}
		})
	}
}

// A grant that names region, account and reader options puts them on the
// Scalers it admits, lets a Scaler set only what scaler_may_set lists, and
// says what it allows when a Scaler sets something else.
func TestAGrantSetsWhatItFixes(t *testing.T) {
	c, err := config.Parse([]byte(`
scaler_objects:
  enabled: true
  allow_aws:
  - namespace: shop
    resources: ["aurora:orders-db", "aurora:arn:aws:rds:eu-west-1:*:cluster:orders-db"]
    region: eu-west-1
    account: "111111111111"
    owner: shop-orders
    instance_class: db.r6g.large
    name_template: "shop-{index}"
    tags: {team: shop}
    scaler_may_set: [tags, availability_zones]
  - namespace: shop
    resources: ["aurora:orders-db"]
    region: us-east-1
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := config.Validate(c); err != nil {
		t.Fatal(err)
	}
	rules := &c.ScalerObjects
	sc, errs := confineShop(t, auroraSpec("orders-db", `"tags": {"team": "billing", "app": "orders"}, "availability_zones": ["eu-west-1a"], `), rules)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := actuators.AuroraTarget{Region: "eu-west-1", ClusterIdentifier: "orders-db", ReplicaOptions: actuators.ReplicaOptions{
		NameTemplate: "shop-{index}", InstanceClass: "db.r6g.large", AvailabilityZones: []string{"eu-west-1a"}, Owner: "shop-orders",
		Tags: map[string]string{"team": "shop", "app": "orders"}}}
	if diff := cmp.Diff(&want, sc.Target.Spec); diff != "" {
		t.Errorf("target after confinement (-want +got):\n%s", diff)
	}

	sc, errs = confineShop(t, auroraSpec("orders-db", `"region": "us-east-1", `), rules)
	if len(errs) > 0 {
		t.Fatalf("the second grant's region: %q", errs)
	}
	if got := sc.Target.Spec.(*actuators.AuroraTarget); got.Owner != "shop/orders" || got.InstanceClass != "" || got.NameTemplate != actuators.DefaultAuroraName {
		t.Errorf("under a grant that fixes nothing: owner %q, class %q, template %q; want the defaults", got.Owner, got.InstanceClass, got.NameTemplate)
	}
	if _, errs := confineShop(t, auroraSpec("arn:aws:rds:eu-west-1:111111111111:cluster:orders-db", ""), rules); len(errs) > 0 {
		t.Errorf("the grant's account: %q", errs)
	}
	if _, errs := confineShop(t, auroraSpec("orders-db", `"owner": "shop-orders", "instance_class": "db.r6g.large", `), rules); len(errs) > 0 {
		t.Errorf("the grant's own values written out: %q", errs)
	}

	for _, tc := range []struct{ name, spec, want string }{
		{"a region of neither grant", auroraSpec("orders-db", `"region": "ap-south-1", `),
			`spec.target.aurora.region: "ap-south-1": must be eu-west-1 or unset: scaler_objects.allow_aws[0] grants "aurora:orders-db" only in that region`},
		{"another account", auroraSpec("arn:aws:rds:eu-west-1:999999999999:cluster:orders-db", ""),
			`spec.target.aurora.cluster_identifier: "arn:aws:rds:eu-west-1:999999999999:cluster:orders-db": names account 999999999999: scaler_objects.allow_aws[0] grants account 111111111111 only`},
		{"an owner the grant fixes", auroraSpec("orders-db", `"owner": "billing", `),
			`spec.target.aurora.owner: "billing": must be unset: scaler_objects.allow_aws[0] fixes it (to "shop-orders"); a Scaler may set it only if the grant lists it under scaler_may_set`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := confineShop(t, tc.spec, rules)
			if diff := cmp.Diff([]string{tc.want}, got); diff != "" {
				t.Errorf("Confine (-want +got):\n%s", diff)
			}
		})
	}
}
