// Package kubetest runs a real Kubernetes control plane for tests: etcd and
// kube-apiserver (RBAC on, token authentication), and on request
// kube-controller-manager, kube-scheduler and kwok with one fake node, so
// that Deployments get pods that become ready.
//
// The binaries come from hack/kube/install.sh, which caches them in
// $SCALED_KUBE_CACHE/<version> (default ~/.cache/scaled/kube/<version>).
// When they are absent, Main skips the package's tests with a message, unless
// SCALED_REQUIRE_KUBE=1, when it fails.
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/scaled-dev/scaled/internal/freeport"
)

// Version is the Kubernetes version hack/kube/install.sh builds.
const Version = "v1.37.2"

// Options says which components run besides etcd and kube-apiserver.
type Options struct {
	// Workloads starts kube-controller-manager, kube-scheduler and kwok and
	// registers a fake node: Deployments get pods that become ready.
	Workloads bool
}

// ControlPlane is a running control plane on loopback.
type ControlPlane struct {
	Dir        string // scratch folder: data, keys, logs, kubeconfigs
	URL        string // https://127.0.0.1:port of kube-apiserver
	AdminToken string
	bins       string
	procs      []*exec.Cmd
}

// BinDir is where hack/kube/install.sh puts the binaries.
func BinDir() string {
	root := os.Getenv("SCALED_KUBE_CACHE")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "scaled", "kube")
	}
	return filepath.Join(root, Version)
}

// Missing lists the binaries that are not installed.
func Missing(o Options) []string {
	need := []string{"etcd", "kube-apiserver"}
	if o.Workloads {
		need = append(need, "kube-controller-manager", "kube-scheduler", "kwok")
	}
	var out []string
	for _, b := range need {
		if fi, err := os.Stat(filepath.Join(BinDir(), b)); err != nil || fi.Mode()&0o111 == 0 {
			out = append(out, b)
		}
	}
	return out
}

// Tool is the path of an installed helper binary (helm), or "".
func Tool(name string) string {
	p := filepath.Join(BinDir(), name)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

var shared *ControlPlane

// Shared is the control plane Main started; tests of the package use it.
func Shared(t testing.TB) *ControlPlane {
	t.Helper()
	if shared == nil {
		t.Skip("no control plane (see kubetest.Main)")
	}
	return shared
}

// Main starts one control plane for the test binary, runs the tests and
// stops it. Call it from TestMain: os.Exit(kubetest.Main(m, opts)).
func Main(m *testing.M, o Options) int {
	if miss := Missing(o); len(miss) > 0 {
		msg := fmt.Sprintf("kubetest: %v not installed in %s: run hack/kube/install.sh", miss, BinDir())
		if os.Getenv("SCALED_REQUIRE_KUBE") == "1" {
			fmt.Fprintln(os.Stderr, msg+" (SCALED_REQUIRE_KUBE=1: failing)")
			return 1
		}
		fmt.Fprintln(os.Stderr, msg+"; skipping")
		return m.Run() // Shared skips every test
	}
	cp, err := Start(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubetest:", err)
		if cp != nil {
			cp.dumpLogs()
			cp.Stop()
		}
		return 1
	}
	shared = cp
	code := m.Run()
	if code != 0 {
		cp.dumpLogs()
	}
	cp.Stop()
	return code
}

// Start runs a control plane in a new scratch folder.
func Start(o Options) (*ControlPlane, error) {
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Dir: dir, bins: BinDir()}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	cp.AdminToken = hex.EncodeToString(tok)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(cp.AdminToken+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		return cp, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return cp, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), keyPEM, 0o600); err != nil {
		return cp, err
	}

	ports, err := freeport.Ports(5)
	if err != nil {
		return cp, err
	}
	etcdPort, peerPort, apiPort, managerPort, schedulerPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	if err := cp.run("etcd", "--data-dir", filepath.Join(dir, "etcd"), "--name", "kubetest",
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-cluster", fmt.Sprintf("kubetest=http://127.0.0.1:%d", peerPort),
		"--quota-backend-bytes", "2147483648"); err != nil {
		return cp, err
	}
	if err := waitHTTP(etcdURL+"/health", "", 30*time.Second); err != nil {
		return cp, fmt.Errorf("etcd: %w", err)
	}
	cp.URL = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	if err := cp.run("kube-apiserver",
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", fmt.Sprint(apiPort),
		"--cert-dir", filepath.Join(dir, "certs"),
		"--endpoint-reconciler-type", "none",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", filepath.Join(dir, "sa.key"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--authorization-mode", "RBAC",
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--disable-admission-plugins", "ServiceAccount"); err != nil {
		return cp, err
	}
	if err := waitHTTP(cp.URL+"/readyz", cp.AdminToken, 90*time.Second); err != nil {
		return cp, fmt.Errorf("kube-apiserver: %w", err)
	}
	admin := cp.WriteKubeconfig("admin", cp.AdminToken)
	if !o.Workloads {
		return cp, nil
	}
	if err := cp.run("kube-controller-manager", "--kubeconfig", admin,
		"--authentication-kubeconfig", admin, "--authorization-kubeconfig", admin,
		"--controllers", "*,-node-ipam-controller,-kube-apiserver-serving-clustertrustbundle-publisher-controller",
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(managerPort),
		"--service-account-private-key-file", filepath.Join(dir, "sa.key"),
		"--use-service-account-credentials=false",
		// The fake node's heartbeat is kwok's, one process on a machine
		// that the suites keep busy: a lease renewed late must not mark
		// the node NotReady, which marks its pods unready (seen once, for
		// longer than a test's 60 s wait after the node was Ready again).
		"--node-monitor-grace-period", "5m"); err != nil {
		return cp, err
	}
	if err := cp.run("kube-scheduler", "--kubeconfig", admin,
		"--authentication-kubeconfig", admin, "--authorization-kubeconfig", admin,
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(schedulerPort)); err != nil {
		return cp, err
	}
	stages := filepath.Join(cp.bins, "kwok-stages")
	if err := cp.run("kwok", "--kubeconfig", admin,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		"--manage-nodes-with-label-selector", "",
		"--cidr", "10.0.1.1/24", "--node-ip", "10.0.1.1",
		"--node-lease-duration-seconds", "40",
		"-c", filepath.Join(stages, "node-fast.yaml"),
		"-c", filepath.Join(stages, "node-heartbeat-with-lease.yaml"),
		"-c", filepath.Join(stages, "pod-fast.yaml")); err != nil {
		return cp, err
	}
	return cp, cp.addFakeNode()
}

// FakeNodeTaint is the taint of the fake node; workloads tolerate it.
var FakeNodeToleration = corev1.Toleration{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}

func (cp *ControlPlane) addFakeNode() error {
	cs := kubernetes.NewForConfigOrDie(cp.Admin())
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0",
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"kubernetes.io/hostname": "kwok-node-0", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "kwok.x-k8s.io/node", Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{"cpu": mustQ("32"), "memory": mustQ("256Gi"), "pods": mustQ("110")},
			Capacity:    corev1.ResourceList{"cpu": mustQ("32"), "memory": mustQ("256Gi"), "pods": mustQ("110")},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("fake node: %w", err)
	}
	for ctx.Err() == nil {
		n, err := cs.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err == nil {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("fake node did not become Ready in 30s (is kwok running?)")
}

// Admin is a client config with the admin token.
func (cp *ControlPlane) Admin() *rest.Config {
	return cp.TokenConfig(cp.AdminToken)
}

// TokenConfig is a client config that authenticates with token.
func (cp *ControlPlane) TokenConfig(token string) *rest.Config {
	return &rest.Config{Host: cp.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 100, Burst: 200}
}

// WriteKubeconfig writes a kubeconfig for token in the scratch folder and
// returns its path.
func (cp *ControlPlane) WriteKubeconfig(name, token string) string {
	p := filepath.Join(cp.Dir, name+".kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: %s
  user: {token: %q}
contexts:
- name: kubetest
  context: {cluster: kubetest, user: %s}
current-context: kubetest
`, cp.URL, name, token, name)
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		panic(err)
	}
	return p
}

// Stop ends every process (SIGTERM, then SIGKILL after 5 s) and removes the
// scratch folder.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		p := cp.procs[i]
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	cp.procs = nil
	if os.Getenv("SCALED_KUBE_KEEP") == "" {
		_ = os.RemoveAll(cp.Dir)
	}
}

func (cp *ControlPlane) run(name string, args ...string) error {
	logf, err := os.Create(filepath.Join(cp.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(cp.bins, name), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	cp.procs = append(cp.procs, cmd)
	return nil
}

// dumpLogs prints the tail of each component's log, for failures.
func (cp *ControlPlane) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(cp.Dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		lines := strings.Split(string(b), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		fmt.Fprintf(os.Stderr, "---- %s (last lines)\n%s\n", filepath.Base(l), strings.Join(lines, "\n"))
	}
}

func waitHTTP(url, token string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %w", timeout, last)
}
