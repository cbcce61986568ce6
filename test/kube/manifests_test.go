//go:build kube

package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/pkg/config"
)

// Stand-ins for the Prometheus Operator CRDs, so that the API server can
// check the monitoring objects' kinds and metadata.
var monitoringCRDs = monitoringCRD("servicemonitor", "ServiceMonitor") + "---" + monitoringCRD("prometheusrule", "PrometheusRule")

// monitoringCRD is the CRD of kind in group monitoring.coreos.com, of any
// content.
func monitoringCRD(singular, kind string) string {
	return fmt.Sprintf(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %[1]ss.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: %[1]ss, singular: %[1]s, kind: %[2]s, listKind: %[2]sList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, singular, kind)
}

// Every manifest in deploy/, as kustomize and helm render it, is accepted
// by the real API server (schemas, defaulting, admission) in a server-side
// dry run, and the chart passes helm lint.
func TestManifestsPassServerSideDryRun(t *testing.T) {
	root := repoRoot(t)
	applyBase(t) // the namespace must exist for namespaced objects in a dry run
	if _, err := kubectl(t, []byte(monitoringCRDs), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 30*time.Second, "monitoring CRDs served", func() (bool, error) {
		_, err := kubectl(t, nil, "get", "servicemonitors,prometheusrules", "-A")
		return err == nil, err
	})
	render := map[string]func() ([]byte, error){}
	for _, k := range []string{"base", "overlays/monitoring", "overlays/confined"} {
		dir := filepath.Join(root, "deploy", k)
		render["kustomize "+k] = func() ([]byte, error) { return kubectl(t, nil, "kustomize", dir) }
	}
	helm := kubetest.Tool("helm")
	if helm == "" {
		t.Fatal("helm is not installed (hack/kube/install.sh)")
	}
	chart := filepath.Join(root, "deploy", "helm", "scaled")
	// deploy/base is applied for real in namespace scaled: the chart goes
	// beside it under another release name, as a second install would.
	if _, err := kubectl(t, []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"scaled-helm"}}`), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"helm template":            {"template", "scaled-helm", chart, "--namespace", "scaled-helm"},
		"helm template monitoring": {"template", "scaled-helm", chart, "--namespace", "scaled-helm", "--set", "monitoring.enabled=true"},
		"helm template sharded":    {"template", "scaled-helm", chart, "--namespace", "scaled-helm", "--set", "shards=4"},
		"helm template confined": {"template", "scaled-helm", chart, "--namespace", "scaled-helm",
			"--set", "rbac.namespaces={default,scaled-helm}", "--set", "networkPolicy.enabled=true"},
		"helm template web": {"template", "scaled-helm", chart, "--namespace", "scaled-helm",
			"--set", "web.configSecret=scaled-web", "--set", "web.tls=true", "--set", "web.disableDecisionsAPI=true"},
		"helm template common values": {"template", "scaled-helm", chart, "--namespace", "scaled-helm",
			"--set", "web.configSecret=scaled-web", "--set", "replicaCount=1",
			"--set", `serviceAccount.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::123456789012:role/scaled`,
			"--set", "nodeSelector.disk=ssd", "--set", "tolerations[0].key=dedicated", "--set", "tolerations[0].operator=Exists",
			"--set", "topologySpreadConstraints[0].maxSkew=1", "--set", "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
			"--set", "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
			"--set", "priorityClassName=system-cluster-critical", "--set", "imagePullSecrets[0].name=regcred",
			"--set", "podAnnotations.team=platform", "--set", "podLabels.tier=control",
			"--set", "extraArgs[0]=--web.max-connections=256", "--set", "extraEnv[0].name=AWS_REGION", "--set", "extraEnv[0].value=eu-west-1",
			"--set", "networkPolicy.kubeletFrom[0].ipBlock.cidr=10.0.0.0/16"},
		"helm template disruption budget": {"template", "scaled-helm", chart, "--namespace", "scaled-helm",
			"--set", "replicaCount=3", "--set", "podDisruptionBudget.minAvailable=2", "--set", "probes.port=0"},
	} {
		args := args
		render[name] = func() ([]byte, error) { return run(helm, args...) }
	}
	for name, r := range render {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			y, err := r()
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			checkShippedConfig(t, y)
			out, err := kubectl(t, y, "apply", "--dry-run=server", "-f", "-")
			if err != nil {
				t.Fatalf("server-side dry run: %v", err)
			}
			n := strings.Count(string(out), "(server dry run)")
			if n < 9 {
				t.Errorf("dry run applied %d objects, want at least 9:\n%s", n, out)
			}
		})
	}
	if out, err := run(helm, "lint", "--strict", chart); err != nil {
		t.Errorf("helm lint: %v\n%s", err, out)
	}
}

func run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return out, &cmdError{err: err, stderr: string(ee.Stderr)}
	}
	return out, err
}

// checkShippedConfig loads the scaled config each rendering ships in its
// ConfigMap as scaled would, so that an example that does not load fails here.
func checkShippedConfig(t *testing.T, rendered []byte) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	found := 0
	for {
		var obj struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if obj.Kind != "ConfigMap" || obj.Data["scaled.yaml"] == "" {
			continue
		}
		found++
		c, err := config.Parse([]byte(obj.Data["scaled.yaml"]))
		if err == nil {
			err = config.Validate(c)
		}
		if err != nil {
			t.Errorf("shipped config does not load: %v", err)
		} else if !c.LeaderElection.Enabled {
			t.Error("shipped config runs 2 replicas without leader election")
		} else if !c.DryRun {
			t.Error("shipped config acts at once: it must start in dry run (dry_run: true) until its user has seen its decisions")
		}
	}
	if found != 1 {
		t.Errorf("found %d ConfigMaps with scaled.yaml, want 1", found)
	}
}
