package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every Scaler manifest of examples/scalers is valid for the scaled of
// examples/scaled-objects.yaml, as scaled check says.
func TestScalerExamplesCheck(t *testing.T) {
	files, _ := filepath.Glob("../../examples/scalers/*.yaml")
	if len(files) < 3 {
		t.Fatalf("found %d Scaler examples, want web, worker and orders-db", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, stderr, code := runScaled(t, "check", "--config", f, "--daemon-config", "../../examples/scaled-objects.yaml")
			if code != 0 || out != f+": valid, 1 Scaler object(s)\n" {
				t.Errorf("exit %d\n%s%s", code, out, stderr)
			}
		})
	}
}

// A manifest's problems are those its status would carry, every one at
// once, under the object they belong to.
func TestCheckAManifest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scalers.yaml")
	manifest := `apiVersion: scaled.dev/v1alpha1
kind: Scaler
metadata: {name: web, namespace: shop}
spec:
  target:
    kind: kubernetes
    kubernetes: {api_version: apps/v1, kind: Deployment, namespace: bank, name: web}
  signals:
  - {name: rps, query: 'sum(rate(http_requests_total{namespace="bank"}[2m]))'}
  policies:
  - name: rps
    type: target_tracking
    target_tracking: {signal: latency, target_type: average_value, target: 50}
  bounds: {min: 2, max: 20}
---
apiVersion: scaled.dev/v1alpha1
kind: Scaler
metadata: {name: orders-db, namespace: shop}
spec:
  target: {kind: aurora, aurora: {cluster_identifier: orders-db}}
  signals: [{name: p95, query: 'x'}]
  policies: [{name: p, type: target_tracking, target_tracking: {signal: p95, target_type: value, target: 0.2}}]
  bounds: {max: 20}
`
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code := runScaled(t, "check", "--config", path)
	want := path + `: 5 problem(s)
  Scaler shop/web (line 1): spec.policies[0].target_tracking.signal: "latency": must name one of the scaler's signals: rps
  Scaler shop/web (line 1): spec.target.kubernetes.namespace: "bank": must be the Scaler's own namespace, "shop": a Scaler scales only workloads of its namespace
  Scaler shop/web (line 1): spec.signals[0].query: "sum(rate(http_requests_total{namespace=\"bank\"}[2m]))": reads series outside the Scaler's namespace: its matcher namespace="bank" conflicts with namespace="shop"
  Scaler shop/orders-db (line 16): spec.bounds.max: 20: must be <= 15: an Aurora cluster has at most 15 readers
  Scaler shop/orders-db (line 16): spec.target.aurora.cluster_identifier: "aurora:orders-db": is not allowed in namespace "shop": scaled's config must list it under scaler_objects.allow_aws for this namespace
`
	if code != 2 || out != want {
		t.Errorf("exit %d; output:\n%s", code, cmp.Diff(want, out))
	}
	// With the platform's config, the AWS resource is allowed.
	out, _, _ = runScaled(t, "check", "--config", path, "--daemon-config", "../../examples/scaled-objects.yaml")
	if strings.Contains(out, "is not allowed") || !strings.Contains(out, ": 4 problem(s)") {
		t.Errorf("with --daemon-config:\n%s", out)
	}
}

// A Scaler manifest backtests like the scaler of a config file.
func TestSimulateAManifest(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: scaled.dev/v1alpha1
kind: Scaler
metadata: {name: web, namespace: shop}
spec:
  target: {kind: kubernetes, kubernetes: {api_version: apps/v1, kind: Deployment, name: web}}
  signals: [{name: utilisation, query: 'sum(rate(container_cpu_usage_seconds_total[1m]))'}]
  policies: [{name: cpu, type: target_tracking, target_tracking: {signal: utilisation, target_type: utilization, target: 0.6}}]
  bounds: {min: 1, max: 1000}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	tr := smallTrace(t)
	out, stderr, code := runScaled(t, "simulate", "--config", manifest, "--trace", tr, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var fromManifest simulateReport
	if err := json.Unmarshal([]byte(out), &fromManifest); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = runScaled(t, "simulate", "--config", exampleHPA, "--trace", tr, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var fromFile simulateReport
	if err := json.Unmarshal([]byte(out), &fromFile); err != nil {
		t.Fatal(err)
	}
	if fromManifest.Scaler != "shop/web" || fromManifest.Scaled != fromFile.Scaled {
		t.Errorf("the manifest scored %s %+v, the file's same scaler %+v", fromManifest.Scaler, fromManifest.Scaled, fromFile.Scaled)
	}
}
