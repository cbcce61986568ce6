//go:build kube

// Package kube holds the end-to-end suites that need a whole control plane
// (kube-apiserver, kube-controller-manager, kube-scheduler, kwok): pods that
// follow a scale, the deploy/ manifests and their RBAC, and leader failover
// between two scaled processes.
package kube

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/scaled-dev/scaled/internal/kubetest"
)

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, kubetest.Options{Workloads: true}))
}

// repoRoot is the repository's top folder.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var (
	scaledOnce sync.Once
	scaledBin  string
	scaledErr  error
)

// buildScaled builds cmd/scaled once for the package's tests, into the
// control plane's scratch folder (removed when the package's tests end),
// and returns the binary's path.
func buildScaled(t *testing.T) string {
	t.Helper()
	scaledOnce.Do(func() {
		bin := filepath.Join(kubetest.Shared(t).Dir, "scaled")
		build := exec.Command("go", "build", "-o", bin, "./cmd/scaled")
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			scaledErr = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		scaledBin = bin
	})
	if scaledErr != nil {
		t.Fatal(scaledErr)
	}
	return scaledBin
}

// kubectl runs kubectl as admin against the shared control plane.
func kubectl(t testing.TB, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	cp := kubetest.Shared(t)
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", cp.WriteKubeconfig("admin", cp.AdminToken)}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &cmdError{err: err, stderr: stderr.String()}
	}
	return out, nil
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
