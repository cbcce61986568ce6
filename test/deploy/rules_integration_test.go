//go:build integration

package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scaled-dev/scaled/internal/promtest"
)

// promtool is Debian's, beside the Prometheus the integration suites run.
func promtool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(promtest.Binary), "promtool")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(promtest.RequireEnv) != "" {
			t.Fatalf("%s not found and %s is set: run hack/prometheus/install.sh", bin, promtest.RequireEnv)
		}
		t.Skipf("%s not found (hack/prometheus/install.sh)", bin)
	}
	return bin
}

// The rules load in Prometheus, and every unit test of them passes.
func TestAlertRulesWithPromtool(t *testing.T) {
	bin := promtool(t)
	if out, err := exec.Command(bin, "check", "rules", filepath.Join(root(t), rulesFile)).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	test := exec.Command(bin, "test", "rules", "rules_test.yaml")
	test.Dir = filepath.Join(root(t), "test", "deploy", "testdata")
	out, err := test.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
