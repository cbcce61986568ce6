//go:build kube

package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
)

// scalersServed applies deploy/base (the CRD with it) and waits until the
// API server serves Scalers.
func scalersServed(t *testing.T) {
	t.Helper()
	applyBase(t)
	kubetest.Eventually(t, 30*time.Second, "Scalers served", func() (bool, error) {
		_, err := kubectl(t, nil, "get", "scalers", "-A")
		return err == nil, err
	})
}

// kubectlAs runs kubectl with token's identity.
func kubectlAs(t testing.TB, name, token string, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	cp := kubetest.Shared(t)
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", cp.WriteKubeconfig(name, token)}, args...)...)
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

// scalerManifest is a Scaler of ns with spec, a YAML mapping.
func scalerManifest(ns, name, spec string) []byte {
	return []byte(fmt.Sprintf("apiVersion: scaled.dev/v1alpha1\nkind: Scaler\nmetadata: {name: %s, namespace: %s}\nspec:\n%s", name, ns, indent(spec)))
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// The CRD installs from deploy/, the examples apply, kubectl explain
// documents the spec, and the API server refuses what the schema sees,
// with the schema's message.
func TestScalerCRDRefusesWhatItsSchemaSees(t *testing.T) {
	scalersServed(t)
	if _, err := kubectl(t, []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}`), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = kubectl(t, nil, "delete", "namespace", "shop", "--wait=false") })
	examples := filepath.Join(repoRoot(t), "examples", "scalers")
	if out, err := kubectl(t, nil, "apply", "-f", examples); err != nil || strings.Count(string(out), "created") != 3 {
		t.Fatalf("apply examples/scalers: %v\n%s", err, out)
	}
	out, err := kubectl(t, nil, "get", "scalers", "-n", "shop")
	if err != nil || !strings.Contains(string(out), "NAME") || strings.Count(string(out), "\n") != 4 {
		t.Errorf("kubectl get scalers -n shop: %v\n%s", err, out)
	}
	if fields := strings.Fields(strings.SplitN(string(out), "\n", 2)[0]); strings.Join(fields, " ") != "NAME TARGET MIN MAX CURRENT DESIRED READY LAST AGE" {
		t.Errorf("columns = %v", fields)
	}

	explain, err := kubectl(t, nil, "explain", "scaler.spec")
	if err != nil || !strings.Contains(string(explain), "Target is what the scaler sizes.") || !strings.Contains(string(explain), "Bounds are the least and the most capacity") {
		t.Errorf("kubectl explain scaler.spec: %v\n%s", err, explain)
	}
	explain, err = kubectl(t, nil, "explain", "scaler.spec.target.kubernetes.namespace")
	if err != nil || !strings.Contains(string(explain), "in a Scaler object, the") {
		t.Errorf("kubectl explain scaler.spec.target.kubernetes.namespace: %v\n%s", err, explain)
	}

	const policies = "policies: [{name: p, type: target_tracking, target_tracking: {signal: rps, target_type: value, target: 1}}]\n"
	const signals = "signals: [{name: rps, query: x}]\n"
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"a block of another kind", "target: {kind: aurora, kubernetes: {api_version: apps/v1, kind: Deployment, name: web}}\n" + signals + policies + "bounds: {max: 3}\n",
			"aurora must be set when kind is aurora, and only then"},
		{"two sources", "target: {kind: log}\nsignals: [{name: rps, query: x, replay: {trace: t.csv}}]\n" + policies + "bounds: {max: 3}\n",
			"a signal must set exactly one source: "},
		{"bounds upside down", "target: {kind: log}\n" + signals + policies + "bounds: {min: 5, max: 2}\n",
			"bounds.min must be <= bounds.max"},
		{"no max", "target: {kind: log}\n" + signals + policies + "bounds: {min: 1}\n",
			"spec.bounds.max: Required value"},
		{"an unknown key", "target: {kind: log}\n" + signals + policies + "bounds: {maximum: 3, max: 3}\n",
			`unknown field "spec.bounds.maximum"`},
		{"a duration without a unit", "target: {kind: log}\n" + signals + policies + "bounds: {max: 3}\ninterval: \"15\"\n",
			"spec.interval"},
		{"a combine that is not", "target: {kind: log}\n" + signals + policies + "bounds: {max: 3}\ncombine: avg\n",
			`spec.combine: Unsupported value: "avg"`},
		{"two signals of one name", "target: {kind: log}\nsignals: [{name: rps, query: x}, {name: rps, query: y}]\n" + policies + "bounds: {max: 3}\n",
			"Duplicate value"},
		{"a policy of an unknown type", "target: {kind: log}\n" + signals + "policies: [{name: p, type: magic}]\nbounds: {max: 3}\n",
			`Unsupported value: "magic"`},
		// The bounds of what a tenant writes (config.MaxSignals, sources.MaxQueryBytes, ...).
		{"a query past 4096 bytes", "target: {kind: log}\nsignals: [{name: rps, query: '" + strings.Repeat("x", 4097) + "'}]\n" + policies + "bounds: {max: 3}\n",
			"spec.signals[0].query: Too long: may not be more than 4096 bytes"},
		{"17 signals", "target: {kind: log}\nsignals: [" + numbered("{name: s%d, query: x}", 17) + "]\n" + policies + "bounds: {max: 3}\n",
			"spec.signals: Too many: 17: must have at most 16 items"},
		{"a signal name past 63 bytes", "target: {kind: log}\nsignals: [{name: " + strings.Repeat("s", 64) + ", query: x}]\n" + policies + "bounds: {max: 3}\n",
			"may not be more than 63 bytes"},
		{"an interval past an hour", "target: {kind: log}\n" + signals + policies + "bounds: {max: 3}\ninterval: 2562047h\n",
			"interval must be between 1s and 1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kubectl(t, scalerManifest("shop", "bad", tc.spec), "apply", "-f", "-")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("apply = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := kubectl(t, nil, "delete", "-f", examples); err != nil {
		t.Error(err)
	}
}

// numbered joins n copies of format, each given its index.
func numbered(format string, n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(format, i)
	}
	return strings.Join(items, ", ")
}

// scalerObject reads a Scaler and its status.
func scalerObject(t *testing.T, dyn dynamic.Interface, ns, name string) (*unstructured.Unstructured, v1alpha1.ScalerStatus) {
	t.Helper()
	u, err := dyn.Resource(v1alpha1.GroupVersionResource).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, v1alpha1.ScalerStatus{}
	}
	var s v1alpha1.ScalerStatus
	if m, ok := u.Object["status"]; ok {
		raw, _ := json.Marshal(m)
		_ = json.Unmarshal(raw, &s)
	}
	return u, s
}

// condition says "Status Reason" of the condition typ, and its message.
func condition(s v1alpha1.ScalerStatus, typ string) (string, string) {
	for _, c := range s.Conditions {
		if c.Type == typ {
			return string(c.Status) + " " + c.Reason, c.Message
		}
	}
	return "absent", ""
}

// writeConfig writes a daemon config to a temporary file.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "scaled.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// userWithRole is a service account of ns bound to the ClusterRole role in
// ns, and its token: a namespace user with only that role.
func userWithRole(t *testing.T, cs kubernetes.Interface, ns, name, role string) string {
	t.Helper()
	ctx := context.Background()
	tok, err := kubetest.Shared(t).ServiceAccountToken(ctx, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-" + role, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return tok
}

// decidingScalers are the scalers a daemon has decided for at least once.
func (d *daemon) decidingScalers(t *testing.T) []string {
	t.Helper()
	s, _ := d.proc.Scalers()
	return s
}

// lastDecision is a daemon's last decision for scaler, or nil.
func (d *daemon) lastDecision(t *testing.T, scaler string) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + d.listen + "/api/v1/decisions?limit=1&scaler=" + url.QueryEscape(scaler))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Decisions []map[string]any `json:"decisions"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if len(body.Decisions) == 0 {
		return nil
	}
	return body.Decisions[len(body.Decisions)-1]
}

// logHas reports whether the daemon logged msg for scaler.
func (d *daemon) logHas(t *testing.T, msg, scaler string) bool {
	t.Helper()
	for _, line := range strings.Split(d.proc.Output(), "\n") {
		var l struct {
			Msg    string `json:"msg"`
			Scaler string `json:"scaler"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == msg && l.Scaler == scaler {
			return true
		}
	}
	return false
}
