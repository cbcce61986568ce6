package tenancy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/config"
)

// notReached is why a Scaler object may not use a target kind that does not
// implement actuators.Reacher.
const notReached = "cannot be used in a Scaler object: this kind does not say what it acts on (its block implements no actuators.Reacher), so scaled cannot hold it to the Scaler's namespace; only scaled's own config may use it"

const policies = `"policies": [{"name": "p", "type": "target_tracking", "target_tracking": {"signal": "rps", "target_type": "value", "target": 10}}]`

func TestConfine(t *testing.T) {
	rules := config.DefaultScalerObjects()
	rules.AllowAWS = []config.AWSGrant{{Namespace: "shop", Resources: []string{"aurora:orders-*"}}}
	for _, tc := range []struct {
		name, spec string
		rules      *config.ScalerObjects
		want       []string
		query      string // the first signal's query after confinement
	}{
		{name: "a Deployment of its namespace, its series",
			spec: `{"target": {"kind": "kubernetes", "kubernetes": {"api_version": "apps/v1", "kind": "Deployment", "name": "web"}},
			  "signals": [{"name": "rps", "query": "sum(rate(http_requests_total{job=\"web\"}[2m]))"}], ` + policies + `}`,
			query: `sum(rate(http_requests_total{job="web",namespace="shop"}[2m]))`},
		{name: "another namespace's Deployment",
			spec: `{"target": {"kind": "kubernetes", "kubernetes": {"api_version": "apps/v1", "kind": "Deployment", "namespace": "blog", "name": "web"}},
			  "signals": [{"name": "rps", "query": "x"}], ` + policies + `}`,
			want: []string{`spec.target.kubernetes.namespace: "blog": must be the Scaler's own namespace, "shop": a Scaler scales only workloads of its namespace`}},
		{name: "another namespace's series",
			spec: `{"target": {"kind": "log"}, "signals": [{"name": "rps", "query": "sum(x{namespace=\"blog\"})"}], ` + policies + `}`,
			want: []string{`spec.signals[0].query: "sum(x{namespace=\"blog\"})": reads series outside the Scaler's namespace: its matcher namespace="blog" conflicts with namespace="shop"`}},
		{name: "any series when queries are not confined",
			rules: &config.ScalerObjects{ConfineQueries: false},
			spec:  `{"target": {"kind": "log"}, "signals": [{"name": "rps", "query": "sum(x{namespace=\"blog\"})"}], ` + policies + `}`,
			query: `sum(x{namespace="blog"})`},
		{name: "an allowed Aurora cluster",
			spec:  `{"target": {"kind": "aurora", "aurora": {"cluster_identifier": "orders-eu"}}, "signals": [{"name": "rps", "query": "x"}], ` + policies + `}`,
			query: `x{namespace="shop"}`},
		{name: "an Aurora cluster not allowed, through an endpoint of its own",
			spec: `{"target": {"kind": "aurora", "aurora": {"cluster_identifier": "billing", "endpoint": "http://127.0.0.1:1"}}, "signals": [{"name": "rps", "query": "x"}], ` + policies + `}`,
			want: []string{
				`spec.target.aurora.cluster_identifier: "aurora:billing": is not allowed in namespace "shop": scaled's config must list it under scaler_objects.allow_aws for this namespace`,
				`spec.target.aurora.endpoint: present: must be unset in a Scaler object: it would send scaled's own credentials elsewhere`,
			}},
		{name: "a Lambda function by default",
			spec: `{"target": {"kind": "lambda", "lambda": {"function_name": "checkout", "qualifier": "live"}}, "signals": [{"name": "rps", "query": "x"}], ` + policies + `}`,
			want: []string{`spec.target.lambda.function_name: "lambda:checkout": is not allowed in namespace "shop": scaled's config must list it under scaler_objects.allow_aws for this namespace`}},
		{name: "a target kind that does not say what it acts on",
			spec: `{"target": {"kind": "observed", "observed": {"current": "x"}}, "signals": [{"name": "rps", "query": "x"}], "dry_run": true, ` + policies + `}`,
			want: []string{`spec.target.kind: "observed": ` + notReached}},
		{name: "a trace file of scaled's own",
			spec: `{"target": {"kind": "log"}, "signals": [{"name": "rps", "replay": {"trace": "/etc/passwd"}}], ` + policies + `}`,
			want: []string{`spec.signals[0].replay: present: must not be used in a Scaler object: scaled cannot confine what a replay source reads to the Scaler's namespace`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, errs := config.DecodeScalerJSON([]byte(tc.spec), "shop/web", "shop", field.NewPath("spec"))
			if len(errs) > 0 {
				t.Fatal(fielderr.Lines(errs))
			}
			r := tc.rules
			if r == nil {
				r = &rules
			}
			got := fielderr.Lines(Confine(&sc, "shop", r, field.NewPath("spec")))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Confine (-want +got):\n%s", diff)
			}
			if tc.query != "" && sc.Signals[0].Expr() != tc.query {
				t.Errorf("query = %s, want %s", sc.Signals[0].Expr(), tc.query)
			}
		})
	}
}
