package v1alpha1

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/policy"
)

const manifests = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: scaled.dev/v1alpha1
kind: Scaler
metadata:
  name: web
  namespace: shop
spec:
  target:
    kind: kubernetes
    kubernetes: {api_version: apps/v1, kind: Deployment, name: web}
  signals:
  - name: rps
    query: sum(rate(http_requests_total{job="web"}[2m]))
  policies:
  - name: rps
    type: target_tracking
    target_tracking: {signal: rps, target_type: average_value, target: 50}
  bounds: {min: 2, max: 20}
---
apiVersion: scaled.dev/v1beta1
kind: Scaler
metadata: {name: Worker}
spec:
  name: worker
  target: {kind: log}
  signals:
  - {name: depth, query: 'queue_depth{namespace="blog"}'}
  policies:
  - name: depth
    type: target_tracking
    target_tracking: {signal: depth, target_type: value, target: 100}
    tolerance: 0.2
  bounds: {max: 5}
`

func TestReadManifests(t *testing.T) {
	ms, err := ReadManifests([]byte(manifests), daemonConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("read %d Scalers, want 2 (the Deployment is skipped)", len(ms))
	}
	if ms[0].Key() != "shop/web" || ms[0].Line != 5 || len(ms[0].Problems) > 0 {
		t.Errorf("first = %s at line %d, problems %v; want shop/web at line 5, valid", ms[0].Key(), ms[0].Line, fielderr.Lines(ms[0].Problems))
	}
	if got := ms[0].Scaler.Signals[0].Expr(); got != `sum(rate(http_requests_total{job="web",namespace="shop"}[2m]))` {
		t.Errorf("query = %s, want it confined", got)
	}
	want := []string{
		`apiVersion: "scaled.dev/v1beta1": must be scaled.dev/v1alpha1`,
		`metadata.name: "Worker": must be a DNS subdomain name: at most 253 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit`,
		`spec.policies[0].tolerance: unknown key on line 35: must be one of name, type, ` + registered(policy.Types()),
		`spec.name: unknown key on line 27: must be left out: a Scaler's name is its metadata.name`,
		`spec.signals[0].query: "queue_depth{namespace=\"blog\"}": reads series outside the Scaler's namespace: its matcher namespace="blog" conflicts with namespace="default"`,
	}
	if diff := cmp.Diff(want, fielderr.Lines(ms[1].Problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestReadManifestsOfAConfigFile(t *testing.T) {
	ms, err := ReadManifests([]byte("interval: 15s\nscalers: []\n"), daemonConfig())
	if err != nil || len(ms) != 0 {
		t.Errorf("a config file = %v, %v; want no manifest", ms, err)
	}
}
