//go:build kube

package kube

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/doctest"
	"github.com/scaled-dev/scaled/internal/kubetest"
)

var installRE = regexp.MustCompile(`^\s*(?:\$ )?((?:kubectl apply -k|helm install|helm upgrade --install)\s.*)$`)

// installCommand is one install command a doc gives, with its file and line.
type installCommand struct {
	where, text string
}

// docInstallCommands are the `kubectl apply -k` and `helm install` commands
// of README.md and docs/, each as written (a trailing shell comment left out).
func docInstallCommands(t *testing.T) []installCommand {
	t.Helper()
	bs, err := doctest.All(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []installCommand
	for _, b := range bs {
		for i, l := range b.Lines {
			m := installRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			text, _, _ := strings.Cut(m[1], "  #")
			out = append(out, installCommand{where: b.Where(i), text: strings.TrimSpace(text)})
		}
	}
	return out
}

// Every install command the docs give works as written against a real
// kube-apiserver: `kubectl apply -k DIR` runs with --dry-run=server; `helm
// install NAME CHART ...` renders with `helm template NAME CHART ...` (the
// namespace made first instead of --create-namespace) and its objects go
// through `kubectl apply --dry-run=server`. What each installs loads as a
// scaled config and starts in dry run. A failure names the doc and line.
func TestDocsInstallCommandsApplyOnTheAPIServer(t *testing.T) {
	cmds := docInstallCommands(t)
	var kustomize, helmInstalls int
	for _, c := range cmds {
		if strings.HasPrefix(c.text, "helm") {
			helmInstalls++
		} else {
			kustomize++
		}
	}
	if kustomize == 0 || helmInstalls == 0 {
		t.Fatalf("the docs give %d kubectl apply -k and %d helm install commands, want both: %v", kustomize, helmInstalls, cmds)
	}
	applyBase(t)
	if _, err := kubectl(t, []byte(monitoringCRDs), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 30*time.Second, "monitoring CRDs served", func() (bool, error) {
		_, err := kubectl(t, nil, "get", "servicemonitors,prometheusrules", "-A")
		return err == nil, err
	})
	helm := kubetest.Tool("helm")
	if helm == "" {
		t.Fatal("helm is not installed (hack/kube/install.sh)")
	}
	cp := kubetest.Shared(t)
	kubeconfig := cp.WriteKubeconfig("admin", cp.AdminToken)
	bin := t.TempDir()
	if err := os.Symlink(helm, filepath.Join(bin, "helm")); err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		t.Run(c.where, func(t *testing.T) {
			script := c.text + " --dry-run=server"
			if strings.HasPrefix(c.text, "helm") {
				ns := "default"
				if m := regexp.MustCompile(`(?:-n|--namespace)[ =](\S+)`).FindStringSubmatch(c.text); m != nil {
					ns = m[1]
				}
				if _, err := kubectl(t, []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+ns+`"}}`), "apply", "-f", "-"); err != nil {
					t.Fatal(err)
				}
				// deploy/base, applied for real for the other suites, has a
				// Deployment of the same name with other selector labels (which
				// cannot change): an install goes where it does not exist.
				release := strings.Fields(strings.Replace(c.text, "upgrade --install", "install", 1))[2]
				if _, err := kubectl(t, nil, "-n", ns, "delete", "deployment", release, "--ignore-not-found", "--wait=false"); err != nil {
					t.Fatal(err)
				}
				tmpl := strings.Replace(c.text, "helm upgrade --install", "helm template", 1)
				tmpl = strings.Replace(tmpl, "helm install", "helm template", 1)
				tmpl = strings.ReplaceAll(tmpl, " --create-namespace", "")
				script = tmpl + " > rendered.yaml && kubectl apply --dry-run=server -f rendered.yaml"
			}
			dir := t.TempDir()
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", "cd "+repoRoot(t)+" && "+strings.ReplaceAll(script, "rendered.yaml", filepath.Join(dir, "rendered.yaml")))
			cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: `%s` fails: %v\n%s\n%s", c.where, c.text, err, out, stderr.String())
			}
			if n := strings.Count(string(out), "(server dry run)"); n < 9 {
				t.Errorf("%s: `%s` applied %d objects in the dry run, want at least 9:\n%s", c.where, c.text, n, out)
			}
			var rendered []byte
			if strings.HasPrefix(c.text, "helm") {
				if rendered, err = os.ReadFile(filepath.Join(dir, "rendered.yaml")); err != nil {
					t.Fatal(err)
				}
			} else {
				dirArg := strings.Fields(c.text)[3]
				if rendered, err = kubectl(t, nil, "kustomize", filepath.Join(repoRoot(t), dirArg)); err != nil {
					t.Fatal(err)
				}
			}
			checkShippedConfig(t, rendered)
		})
	}
}
