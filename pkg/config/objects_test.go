package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
)

// A config that runs nothing is refused unless it says it runs only
// Scaler objects.
func TestConfigWithoutScalers(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{name: "empty file", yaml: ``,
			want: []string{"scalers: none: must list at least one scaler, or set scaler_objects.enabled: true to run only the Scaler objects of the Kubernetes API"}},
		{name: "empty list", yaml: "scalers: []\n",
			want: []string{"scalers: none: must list at least one scaler, or set scaler_objects.enabled: true to run only the Scaler objects of the Kubernetes API"}},
		{name: "Scaler objects only", yaml: "scaler_objects: {enabled: true}\n"},
		{name: "Scaler objects off, said twice", yaml: "scaler_objects: {enabled: false, namespaces: [shop]}\n",
			want: []string{"scalers: none: must list at least one scaler, or set scaler_objects.enabled: true to run only the Scaler objects of the Kubernetes API"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, messages(Validate(c))); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScalerObjectsDefaults(t *testing.T) {
	c, err := Parse([]byte("scaler_objects: {enabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultScalerObjects()
	want.Enabled = true
	if diff := cmp.Diff(want, c.ScalerObjects); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if !want.ConfineQueries || want.NamespaceLabel != "namespace" || len(want.AllowAWS) != 0 {
		t.Errorf("Scaler objects must start confined to their namespace's series and with no AWS resource: %+v", want)
	}
}

func TestScalerObjectsValidate(t *testing.T) {
	c, err := Parse([]byte(`
scaler_objects:
  enabled: true
  namespaces: [shop, Shop, shop]
  label_selector: "team in (a"
  namespace_label: "kubernetes-namespace"
  allow_aws:
  - namespace: shop
    resources: ["aurora:orders-*", "orders-db", "gcs:bucket", "rds:"]
  - namespace: ""
  - namespace: shop
    resources: ["rds:reports"]
    region: Europe
    account: 1111
    name_template: reports
    tags: {"scaled.dev/owner": x}
    scaler_may_set: [tags, endpoint]
  status_qps: 0
  status_burst: 0
  status_refresh: 10s
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`scaler_objects.namespaces[1]: "Shop": must be a namespace name: a DNS label of at most 63 lower-case letters, digits or '-'`,
		`scaler_objects.namespaces[2]: "shop": duplicate of scaler_objects.namespaces[0]`,
		`scaler_objects.label_selector: "team in (a": must be a Kubernetes label selector such as team=shop or tier in (a,b): unable to parse requirement: found '', expected: ',' or ')'`,
		`scaler_objects.namespace_label: "kubernetes-namespace": must be a Prometheus label name: letters, digits and '_', not starting with a digit`,
		`scaler_objects.allow_aws[0].resources[1]: "orders-db": must be <kind>:<identifier>, such as aurora:orders-db or lambda:checkout-*`,
		`scaler_objects.allow_aws[0].resources[2]: "gcs:bucket": must start with a target kind: ` + registered(actuators.Kinds()),
		`scaler_objects.allow_aws[0].resources[3]: "rds:": must be <kind>:<identifier>, such as aurora:orders-db or lambda:checkout-*`,
		`scaler_objects.allow_aws[1].namespace: "": must be a namespace name: a DNS label of at most 63 lower-case letters, digits or '-'`,
		`scaler_objects.allow_aws[1].resources: null: must list at least one <kind>:<identifier> pattern`,
		`scaler_objects.allow_aws[2].region: "Europe": must be an AWS region such as eu-west-1`,
		`scaler_objects.allow_aws[2].account: "1111": must be an AWS account ID: 12 digits, quoted`,
		`scaler_objects.allow_aws[2].name_template: "reports": must contain {index}`,
		`scaler_objects.allow_aws[2].tags: "scaled.dev/owner": keys starting with aws: or scaled.dev/ are reserved`,
		`scaler_objects.allow_aws[2].scaler_may_set[1]: "endpoint": must be one of owner, instance_class, name_template, parameter_group, availability_zones, tags`,
		`scaler_objects.status_qps: 0: must be > 0`,
		`scaler_objects.status_burst: 0: must be >= 1`,
		`scaler_objects.status_refresh: 10s: must be >= 1m: each refresh is one write per Scaler`,
	}
	if diff := cmp.Diff(want, messages(Validate(c))); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
}

func TestAllowsAWS(t *testing.T) {
	o := ScalerObjects{AllowAWS: []AWSGrant{
		{Namespace: "shop", Resources: []string{"aurora:orders-db", "lambda:checkout-*"}},
		{Namespace: "reports", Resources: []string{"rds:*"}},
		{Namespace: "web", Resources: []string{"lambda:*-shop"}},
	}}
	for _, tc := range []struct {
		ns, resource string
		want         bool
	}{
		{"shop", "aurora:orders-db", true},
		{"shop", "aurora:orders-db-2", false},
		{"shop", "lambda:checkout-eu", true},
		{"shop", "lambda:checkout", false},
		{"shop", "rds:reports", false},
		{"reports", "rds:reports", true},
		{"reports", "aurora:orders-db", false},
		{"blog", "aurora:orders-db", false},
		{"shop", "aurora:orders.db", false}, // . is itself, not any character
		// * stays within one segment of an ARN: another account's or
		// region's function is not a function of this grant.
		{"web", "lambda:web-shop", true},
		{"web", "lambda:arn:aws:lambda:us-east-1:999999999999:function:evil-shop", false},
		{"shop", "lambda:checkout-eu:live", false},
		{"reports", "rds:arn:aws:rds:eu-west-1:999999999999:db:reports", false},
		{"reports", "rds:a/b", false},
	} {
		if got := o.AllowsAWS(tc.ns, tc.resource); got != tc.want {
			t.Errorf("AllowsAWS(%s, %s) = %v, want %v", tc.ns, tc.resource, got, tc.want)
		}
	}
	o.AllowAWS[0].Resources = append(o.AllowAWS[0].Resources, "aurora:orders.*")
	if !o.AllowsAWS("shop", "aurora:orders.db") {
		t.Error("aurora:orders.* does not allow aurora:orders.db")
	}
}

// A scaler that runs beside a config takes its tick and its Prometheus
// from it.
func TestConfigValidateScaler(t *testing.T) {
	s, errs := DecodeScalerJSON([]byte(`{"target": {"kind": "log"}, "signals": [{"name": "rps", "query": "x"}],
	  "policies": [{"name": "p", "type": "pid", "pid": {"signal": "rps", "setpoint": 1, "kp": 1, "ki": 0.01}}], "bounds": {"max": 5}}`),
		"shop/web", "shop", field.NewPath("spec"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c := Defaults()
	got := fielderr.Lines(c.ValidateScaler(&s, field.NewPath("spec")))
	if diff := cmp.Diff([]string{"spec.signals[0].query: cannot be read: scaled's config sets no prometheus.url"}, got); diff != "" {
		t.Errorf("ValidateScaler (-want +got):\n%s", diff)
	}
	c.Prometheus.URL = "http://prom:9090"
	if errs := c.ValidateScaler(&s, field.NewPath("spec")); len(errs) > 0 {
		t.Errorf("ValidateScaler: %v", fielderr.Lines(errs))
	}
	s.Name = "shop/web/x"
	if errs := c.ValidateScaler(&s, field.NewPath("spec")); len(errs) != 1 {
		t.Errorf("a name with two '/' = %v, want one problem", fielderr.Lines(errs))
	}
}
