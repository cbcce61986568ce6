package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/pkg/sources"
)

func groupedConfig(signals string) string {
	return `
prometheus: {url: http://prom:9090}
scalers:
  - name: web
    target: {kind: log}
    signals:
` + signals + `
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}
    bounds: {max: 10}
`
}

// A grouped signal's selection is written as a mapping or as matchers, in a
// file or in a Scaler object, and read the same way.
func TestDecodeGroupedSelection(t *testing.T) {
	const query = `sum by (namespace, deployment) (rate(http_requests_total[2m]))`
	for _, tc := range []struct {
		name, signals string
		want          sources.Selection
	}{
		{"mapping", "      - name: rps\n        grouped:\n          query: " + query + "\n          select: {namespace: shop, deployment: web}",
			sources.Selection{Labels: map[string]string{"namespace": "shop", "deployment": "web"}}},
		{"matchers", "      - name: rps\n        grouped:\n          query: " + query + "\n          select: '{namespace=\"shop\", deployment=~\"web|api\"}'",
			sources.Selection{Matchers: `{namespace="shop", deployment=~"web|api"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(groupedConfig(tc.signals)))
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(c); err != nil {
				t.Fatal(err)
			}
			got, ok := c.Scalers[0].Signals[0].Source.Spec.(*sources.GroupedSpec)
			if !ok || got.Query != query {
				t.Fatalf("source %#v, want a grouped query", c.Scalers[0].Signals[0].Source.Spec)
			}
			if diff := cmp.Diff(tc.want, got.Select, cmp.Comparer(func(a, b sources.Selection) bool {
				return cmp.Equal(a.Labels, b.Labels) && a.Matchers == b.Matchers
			})); diff != "" {
				t.Errorf("select (-want +got):\n%s", diff)
			}
		})
	}
	raw := `{"target": {"kind": "log"}, "signals": [{"name": "rps", "grouped": {"query": "sum by (deployment) (x)", "select": {"deployment": "web"}}}],
	  "policies": [{"name": "rps", "type": "target_tracking", "target_tracking": {"signal": "rps", "target_type": "value", "target": 10}}], "bounds": {"max": 10}}`
	s, errs := DecodeScalerJSON([]byte(raw), "web", "", field.NewPath("spec"))
	if len(errs) > 0 {
		t.Fatalf("DecodeScalerJSON: %v", errs)
	}
	if g := s.Signals[0].Source.Spec.(*sources.GroupedSpec); g.Select.Labels["deployment"] != "web" {
		t.Errorf("select from JSON: %+v", g.Select)
	}
}

func TestDecodeGroupedSelectionOfTheWrongShape(t *testing.T) {
	_, err := Parse([]byte(groupedConfig("      - {name: rps, grouped: {query: x, select: [web]}}")))
	if err == nil {
		t.Fatal("a list as select: no error")
	}
	if !strings.Contains(err.Error(), "scalers[0].signals[0].grouped.select: must be a mapping of label names to values, or a string of matchers") {
		t.Errorf("got %v", err)
	}
}
