package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/scaled-dev/scaled/internal/buildbin"
)

// root is the repository's top folder.
func root(testing.TB) string { return buildbin.Root() }

func read(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	rulesFile    = "deploy/helm/scaled/files/rules.yaml"
	rulesCRDFile = "deploy/components/monitoring/prometheusrule.yaml"
)

// The kustomize component's PrometheusRule is made from the chart's rules
// file by `make rules`: it must be what that target writes now.
func TestAlertRulesHaveOneSource(t *testing.T) {
	cmd := exec.Command("make", "-s", "--no-print-directory", "rules", "RULES_CRD=/dev/stdout")
	cmd.Dir = root(t)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("make rules: %v", err)
	}
	if got := read(t, rulesCRDFile); !bytes.Equal(got, want) {
		t.Errorf("%s is not what `make rules` makes from %s: run make rules", rulesCRDFile, rulesFile)
	}
	var crd struct {
		Spec yaml.Node `yaml:"spec"`
	}
	if err := yaml.Unmarshal(read(t, rulesCRDFile), &crd); err != nil {
		t.Fatalf("%s: %v", rulesCRDFile, err)
	}
	if names := alertNames(t, read(t, rulesFile)); len(names) < 9 {
		t.Errorf("%s has %d alerts: %v", rulesFile, len(names), names)
	}
}

// alertNames lists the alerts of a rules file.
func alertNames(t testing.TB, rules []byte) []string {
	t.Helper()
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rules, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r.Alert)
			}
		}
	}
	return out
}

// Every shipped alert is explained to operators in docs/metrics.md.
func TestEveryAlertIsDocumented(t *testing.T) {
	doc := string(read(t, "docs/metrics.md"))
	for _, a := range alertNames(t, read(t, rulesFile)) {
		if !strings.Contains(doc, "`"+a+"`") {
			t.Errorf("docs/metrics.md does not describe the alert %s", a)
		}
	}
}

// Every shipped alert has a promtool unit test in which it fires.
func TestEveryAlertHasATest(t *testing.T) {
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				AlertName string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(read(t, "test/deploy/testdata/rules_test.yaml"), &tests); err != nil {
		t.Fatal(err)
	}
	var firing []string
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing = append(firing, a.AlertName)
			}
		}
	}
	for _, a := range alertNames(t, read(t, rulesFile)) {
		if !slices.Contains(firing, a) {
			t.Errorf("alert %s has no test in which it fires (test/deploy/testdata/rules_test.yaml)", a)
		}
	}
}

// The image the manifests run is the chart's appVersion: kustomize's tag,
// and Helm's default when image.tag is empty.
func TestImageTagIsTheAppVersion(t *testing.T) {
	var chart struct {
		AppVersion string `yaml:"appVersion"`
	}
	if err := yaml.Unmarshal(read(t, "deploy/helm/scaled/Chart.yaml"), &chart); err != nil {
		t.Fatal(err)
	}
	if chart.AppVersion == "" || chart.AppVersion == "latest" {
		t.Fatalf("Chart.yaml appVersion %q: want a release version", chart.AppVersion)
	}
	var kust struct {
		Images []struct {
			Name   string `yaml:"name"`
			NewTag string `yaml:"newTag"`
		} `yaml:"images"`
	}
	if err := yaml.Unmarshal(read(t, "deploy/base/kustomization.yaml"), &kust); err != nil {
		t.Fatal(err)
	}
	if len(kust.Images) != 1 || kust.Images[0].NewTag != chart.AppVersion {
		t.Errorf("deploy/base image tags %+v, want one image at %s", kust.Images, chart.AppVersion)
	}
	var values struct {
		Image struct {
			Tag string `yaml:"tag"`
		} `yaml:"image"`
	}
	if err := yaml.Unmarshal(read(t, "deploy/helm/scaled/values.yaml"), &values); err != nil {
		t.Fatal(err)
	}
	if values.Image.Tag != "" {
		t.Errorf("values.yaml image.tag %q: leave it empty so that the chart runs its appVersion", values.Image.Tag)
	}
	if tmpl := string(read(t, "deploy/helm/scaled/templates/deployment.yaml")); !strings.Contains(tmpl, ".Values.image.tag | default .Chart.AppVersion") {
		t.Error("the chart's Deployment does not default the image tag to the appVersion")
	}
}

type rbacRule struct {
	APIGroups []string `yaml:"apiGroups"`
	Resources []string `yaml:"resources"`
	Verbs     []string `yaml:"verbs"`
}

type rbacObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Rules []rbacRule `yaml:"rules"`
}

func rbacObjects(t *testing.T, rel string) []rbacObject {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(read(t, rel)))
	var out []rbacObject
	for {
		var o rbacObject
		if err := dec.Decode(&o); err != nil {
			break
		}
		out = append(out, o)
	}
	return out
}

func rulesOf(t *testing.T, rel, kind string) []rbacRule {
	t.Helper()
	for _, o := range rbacObjects(t, rel) {
		if o.Kind == kind {
			return o.Rules
		}
	}
	t.Fatalf("%s has no %s", rel, kind)
	return nil
}

// The confined overlay's Role grants exactly what the base's ClusterRole
// grants, only in one namespace, but for Scaler objects, which its own
// ClusterRole lets scaled read (and write the status of) everywhere.
func TestConfinedRoleIsTheClusterRole(t *testing.T) {
	cluster := rulesOf(t, "deploy/base/rbac.yaml", "ClusterRole")
	role := rulesOf(t, "deploy/overlays/confined/role-default.yaml", "Role")
	scalers := rulesOf(t, "deploy/overlays/confined/scalers-clusterrole.yaml", "ClusterRole")
	if got := append(slices.Clone(role), scalers...); !reflect.DeepEqual(cluster, got) {
		t.Errorf("deploy/overlays/confined/role-default.yaml rules %+v and scalers-clusterrole.yaml's %+v, want together the ClusterRole's %+v", role, scalers, cluster)
	}
	for _, r := range scalers {
		if !slices.Equal(r.APIGroups, []string{"scaled.dev"}) {
			t.Errorf("scalers-clusterrole.yaml grants %+v beyond Scaler objects, in every namespace", r)
		}
	}
}
