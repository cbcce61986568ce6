//go:build kube

// Package kube holds the end-to-end suites that need a whole control plane
// (kube-apiserver, kube-controller-manager, kube-scheduler, kwok): pods that
// follow a scale, the deploy/ manifests and their RBAC, and leader failover
// between two scaled processes.
package kube

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scaled-dev/scaled/internal/buildbin"
	"github.com/scaled-dev/scaled/internal/kubetest"
)

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, kubetest.Options{Workloads: true}))
}

// repoRoot is the repository's top folder.
func repoRoot(testing.TB) string { return buildbin.Root() }

var scaled buildbin.Once

// buildScaled builds cmd/scaled once for the package's tests, into the
// control plane's scratch folder (removed when the package's tests end),
// and returns the binary's path.
func buildScaled(t *testing.T) string {
	t.Helper()
	return scaled.Path(t, func() (string, error) { return filepath.Join(kubetest.Shared(t).Dir, "scaled"), nil })
}

// kubectl runs kubectl as admin against the shared control plane.
func kubectl(t testing.TB, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	return kubectlAs(t, "admin", kubetest.Shared(t).AdminToken, stdin, args...)
}

type cmdError struct {
	err    error
	stderr string
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + e.stderr }

var baseOnce sync.Once
var baseErr error

// applyBase applies deploy/base for real (namespace scaled, its service
// account and RBAC), once per test binary.
func applyBase(t testing.TB) {
	t.Helper()
	baseOnce.Do(func() {
		var y []byte
		if y, baseErr = kubectl(t, nil, "kustomize", filepath.Join(repoRoot(t), "deploy", "base")); baseErr != nil {
			return
		}
		_, baseErr = kubectl(t, y, "apply", "-f", "-")
	})
	if baseErr != nil {
		t.Fatalf("apply deploy/base: %v", baseErr)
	}
}

// saToken is a token of the scaled service account deploy/base creates.
func saToken(t testing.TB) string {
	t.Helper()
	applyBase(t)
	tok, err := kubetest.Shared(t).ServiceAccountToken(context.Background(), "scaled", "scaled")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
