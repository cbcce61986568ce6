package v1alpha1

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
)

func object(t *testing.T, namespace, name, spec string) *unstructured.Unstructured {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": APIVersion, "kind": Kind, "spec": s}}
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

func daemonConfig() *config.Config {
	c := config.Defaults()
	c.Prometheus.URL = "http://prom:9090"
	c.ScalerObjects.Enabled = true
	return c
}

const webSpec = `{
  "target": {"kind": "kubernetes", "kubernetes": {"api_version": "apps/v1", "kind": "Deployment", "name": "web"}},
  "signals": [{"name": "rps", "query": "sum(rate(http_requests_total{job=\"web\"}[2m]))"}],
  "policies": [{"name": "rps", "type": "target_tracking", "target_tracking": {"signal": "rps", "target_type": "average_value", "target": 50}}],
  "bounds": {"min": 2, "max": 20}}`

// A Scaler object runs the scaler of the file with the same keys, named
// namespace/name, its target in its namespace and its queries confined.
func TestSpec(t *testing.T) {
	sc, errs := Spec(object(t, "shop", "web", webSpec), daemonConfig())
	if len(errs) > 0 {
		t.Fatal(fielderr.Lines(errs))
	}
	if sc.Name != "shop/web" {
		t.Errorf("name = %q, want shop/web", sc.Name)
	}
	if ns := sc.Target.Spec.(*actuators.KubernetesTarget).Namespace; ns != "shop" {
		t.Errorf("target namespace = %q, want the object's own", ns)
	}
	if q := sc.Signals[0].Expr(); q != `sum(rate(http_requests_total{job="web",namespace="shop"}[2m]))` {
		t.Errorf("query = %s, want it confined to namespace shop", q)
	}
	if sc.Bounds.Min != 2 || sc.Bounds.Max != 20 || sc.Combine != "max" {
		t.Errorf("bounds %+v, combine %q: want the spec's, with the file's defaults", sc.Bounds, sc.Combine)
	}
}

// A semantic problem reads as scaled check prints it, every one at once,
// and a problem is not repeated by the checks after the decoder.
func TestSpecProblems(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       []string
	}{
		{name: "a policy naming an unknown signal, bounds upside down",
			spec: `{"target": {"kind": "log"}, "signals": [{"name": "rps", "query": "x"}],
			  "policies": [{"name": "p", "type": "target_tracking", "target_tracking": {"signal": "latency", "target_type": "value", "target": 1}}],
			  "bounds": {"min": 5, "max": 2}}`,
			want: []string{
				`spec.policies[0].target_tracking.signal: "latency": must name one of the scaler's signals: rps`,
				`spec.bounds.min: 5: must be <= bounds.max (2)`,
			}},
		{name: "bounds beyond the target kind's limit",
			spec: `{"target": {"kind": "aurora", "aurora": {"cluster_identifier": "orders"}}, "signals": [{"name": "rps", "query": "x"}],
			  "policies": [{"name": "p", "type": "target_tracking", "target_tracking": {"signal": "rps", "target_type": "value", "target": 1}}],
			  "bounds": {"max": 40}}`,
			want: []string{
				`spec.bounds.max: 40: must be <= 15: an Aurora cluster has at most 15 readers`,
				`spec.target.aurora.cluster_identifier: "aurora:orders": is not allowed in namespace "shop": scaled's config must list it under scaler_objects.allow_aws for this namespace`,
			}},
		{name: "a key of the wrong type is not validated again",
			spec: `{"target": {"kind": "log"}, "signals": [{"name": "rps", "query": "x"}],
			  "policies": [{"name": "p", "type": "target_tracking", "target_tracking": {"signal": "rps", "target_type": "value", "target": 1}}],
			  "bounds": {"max": "ten"}}`,
			want: []string{`spec.bounds.max: "ten": must be an integer`}},
		{name: "no spec", spec: `{}`,
			want: []string{`spec.policies: must list at least one policy`, `spec.bounds.max: 0: must be >= 1`,
				`spec.target.kind: "": must be one of ` + registered(actuators.Kinds())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Spec(object(t, "shop", "web", tc.spec), daemonConfig())
			got := fielderr.Lines(errs)
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
