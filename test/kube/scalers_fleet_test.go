//go:build kube

package kube

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
)

const (
	fleetScalers  = 1000
	fleetInterval = 15 * time.Second
	// fleetRefresh is the status_refresh of the test: the steady state is
	// measured over one.
	fleetRefresh = time.Minute
)

// rssBytes is the resident set of process pid.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// statusWrites is how many status writes of Scalers the API server has
// served, from its own metrics.
func statusWrites(t *testing.T) float64 {
	t.Helper()
	cp := kubetest.Shared(t)
	req, _ := http.NewRequest(http.MethodGet, cp.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+cp.AdminToken)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test's own API server
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "apiserver_request_total{") || !strings.Contains(l, `resource="scalers"`) ||
			!strings.Contains(l, `subresource="status"`) || (!strings.Contains(l, `verb="PATCH"`) && !strings.Contains(l, `verb="PUT"`)) {
			continue
		}
		f := strings.Fields(l)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		total += v
	}
	return total
}

// 1,000 Scalers created at once are all deciding within one interval after
// the last is created; in steady state each costs the API server one status
// write per status_refresh (a fresh decision time and signal values); the
// figures are logged.
func TestThousandScalers(t *testing.T) {
	if testing.Short() {
		t.Skip("a thousand Scalers and a minute of steady state (about 2 to 3 minutes)")
	}
	c := scalersCluster(t)
	ns := c.Namespace(t, "fleet")
	prom := promtest.Start(t)
	prom.Gauge("app_rps", "namespace", "deployment").WithLabelValues(ns, "d").Set(42)
	prom.WaitFor(t, fmt.Sprintf(`sum(app_rps{namespace=%q})`, ns), 42, 30*time.Second)
	d := startDaemon(t, buildScaled(t), writeConfig(t, fmt.Sprintf(`
interval: %s
log: {level: warn, format: json}
prometheus: {url: %q}
scaler_objects:
  enabled: true
  namespaces: [%s]
  status_refresh: %s
  status_qps: 50
  status_burst: 100
`, fleetInterval, prom.URL(), ns, fleetRefresh)), c.WriteKubeconfig("scaled-sa", saToken(t)), "scaled-fleet")
	kubetest.Eventually(t, 30*time.Second, "scaled serves", func() (bool, error) {
		resp, err := http.Get("http://" + d.listen + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("readyz %s", resp.Status)
	})
	time.Sleep(5 * time.Second)
	idle := rssBytes(t, d.cmd.Process.Pid)

	var lastCreated atomic.Int64
	names := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				u := &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": v1alpha1.APIVersion, "kind": v1alpha1.Kind,
					"metadata": map[string]any{"name": fmt.Sprintf("s-%04d", i), "namespace": ns},
					"spec": map[string]any{
						"target":   map[string]any{"kind": "log", "log": map[string]any{"initial": 5}},
						"signals":  []any{map[string]any{"name": "rps", "query": `sum(app_rps{deployment="d"})`}},
						"policies": []any{map[string]any{"name": "rps", "type": "target_tracking", "target_tracking": map[string]any{"signal": "rps", "target_type": "average_value", "target": 10}}},
						"bounds":   map[string]any{"min": 1, "max": 20},
					},
				}}
				if _, err := c.dyn.Resource(v1alpha1.GroupVersionResource).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
					t.Errorf("create %d: %v", i, err)
				}
				lastCreated.Store(time.Now().UnixNano())
			}
		}()
	}
	start := time.Now()
	for i := range fleetScalers {
		names <- i
	}
	close(names)
	wg.Wait()
	created := time.Unix(0, lastCreated.Load())
	t.Logf("%d Scalers created in %s", fleetScalers, created.Sub(start).Round(10*time.Millisecond))

	var deciding time.Time
	kubetest.Eventually(t, 2*fleetInterval+30*time.Second, "every Scaler deciding", func() (bool, error) {
		n := 0
		for _, s := range d.decidingScalers(t) {
			if strings.HasPrefix(s, ns+"/") {
				n++
			}
		}
		deciding = time.Now()
		return n == fleetScalers, fmt.Errorf("%d deciding", n)
	})
	after := deciding.Sub(created)
	if after > fleetInterval+5*time.Second {
		t.Errorf("all deciding %s after the last was created, want within the %s interval (and the informer's delivery)", after, fleetInterval)
	}

	kubetest.Eventually(t, 3*time.Minute, "every status written", func() (bool, error) {
		l, err := c.dyn.Resource(v1alpha1.GroupVersionResource).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		n := 0
		for _, u := range l.Items {
			if g, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); g == 1 {
				if o, _, _ := unstructured.NestedString(u.Object, "status", "lastDecision", "outcome"); o == "unchanged" {
					n++
				}
			}
		}
		return n == fleetScalers, fmt.Errorf("%d written", n)
	})
	statusesAt := time.Now()
	time.Sleep(fleetInterval) // past the last write of a first decision
	w0, t0 := statusWrites(t), time.Now()
	time.Sleep(fleetRefresh)
	w1, t1 := statusWrites(t), time.Now()
	perMinute := (w1 - w0) / fleetScalers / t1.Sub(t0).Minutes()
	loaded := rssBytes(t, d.cmd.Process.Pid)
	perScaler := float64(loaded-idle) / fleetScalers
	t.Logf("%d Scalers: all deciding %s after the last was created (interval %s); every status written %s after that; "+
		"steady state: %.3f status writes per Scaler per minute with status_refresh %s; RSS %.1f MiB idle, %.1f MiB with %d Scalers: %.1f KiB per Scaler",
		fleetScalers, after.Round(100*time.Millisecond), fleetInterval, statusesAt.Sub(deciding).Round(time.Second),
		perMinute, fleetRefresh, float64(idle)/(1<<20), float64(loaded)/(1<<20), fleetScalers, perScaler/1024)
	if want := time.Minute.Minutes() / fleetRefresh.Minutes(); perMinute > 1.2*want || perMinute < 0.8*want {
		t.Errorf("%.2f status writes per Scaler per minute in steady state, want one per status_refresh (%s): %.2f", perMinute, fleetRefresh, want)
	}
}

// Two scaled processes share a Lease and run the same Scaler: the leader
// alone acts and writes its status; SIGKILLed, the other takes over within
// twice the lease duration and acts from then on, never both.
func TestFailoverWithScalers(t *testing.T) {
	c := scalersCluster(t)
	ctx := context.Background()
	ns := c.namespace(t, "failover-objects", 1, "web")
	prom := promtest.Start(t)
	prom.Gauge("app_rps", "namespace", "deployment").WithLabelValues(ns, "web").Set(30)
	prom.WaitFor(t, fmt.Sprintf(`sum(app_rps{namespace=%q})`, ns), 30, 30*time.Second)
	cfg := writeConfig(t, fmt.Sprintf(`
interval: %s
log: {level: info, format: json}
prometheus: {url: %q}
leader_election: {enabled: true, namespace: scaled, lease_name: scaled-objects, lease_duration: %s, renew_deadline: 3s, retry_period: 500ms}
scaler_objects: {enabled: true, namespaces: [%s], status_refresh: 1m}
`, failoverTick, prom.URL(), leaseDuration, ns))
	if out, err := kubectl(t, scalerManifest(ns, "web", `target: {kind: kubernetes, kubernetes: {api_version: apps/v1, kind: Deployment, name: web}}
signals: [{name: rps, query: 'sum(app_rps{deployment="web"})'}]
policies: [{name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}]
bounds: {min: 1, max: 10}
behavior: {scale_up: {policies: [{type: Pods, value: 100, period: 1s}]}}
`), "apply", "-f", "-"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	replicas := func() int32 { return c.replicas(t, ns, "web") }
	// knock sets the replicas back to 1, as another writer would, unconditionally.
	knock := func() { c.setReplicas(t, ns, "web", 1) }
	holder := func() string {
		l, err := c.admin.CoordinationV1().Leases("scaled").Get(ctx, "scaled-objects", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	kubeconfig := c.WriteKubeconfig("scaled-sa", saToken(t))
	bin := buildScaled(t)
	a := startDaemon(t, bin, cfg, kubeconfig, "objects-a")
	kubetest.Eventually(t, 30*time.Second, "a leads and scales to 3", func() (bool, error) { return holder() == "objects-a" && replicas() == 3, nil })
	b := startDaemon(t, bin, cfg, kubeconfig, "objects-b")
	kubetest.Eventually(t, 30*time.Second, "b stands by, deciding the Scaler", func() (bool, error) {
		dec := b.lastDecision(t, ns+"/web")
		return dec != nil && dec["dry_run"] == true, fmt.Errorf("%v", dec)
	})
	for range 3 {
		knock()
		kubetest.Eventually(t, 5*time.Second, "the leader restores 3", func() (bool, error) { return replicas() == 3, nil })
	}

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = a.cmd.Wait()
	knock()
	kubetest.Eventually(t, 2*leaseDuration, "b takes over and restores 3", func() (bool, error) {
		return holder() == "objects-b" && replicas() == 3, nil
	})
	t.Logf("failover with Scalers: %s from SIGKILL of the leader to the new leader's first change (lease %s)",
		time.Since(killed).Round(10*time.Millisecond), leaseDuration)
	kubetest.Eventually(t, 10*time.Second, "b writes the Scaler's status", func() (bool, error) {
		_, s := scalerObject(t, c.dyn, ns, "web")
		return s.LastDecision != nil && s.LastDecision.Time.After(killed.Add(-time.Second)), fmt.Errorf("%+v", s.LastDecision)
	})
	for _, at := range b.scaledAt(t) {
		if at.Before(killed) {
			t.Errorf("b scaled at %s, before the leader was killed at %s", at.Format(time.RFC3339Nano), killed.Format(time.RFC3339Nano))
		}
	}
	if n := len(a.scaledAt(t)); n != 4 {
		t.Errorf("a scaled %d times, want 4 (the first scale-up and three knocks)", n)
	}
	if n := len(b.scaledAt(t)); n != 1 {
		t.Errorf("b scaled %d times, want 1 (the knock after the takeover)", n)
	}
}
