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
	"github.com/scaled-dev/scaled/pkg/config"
)

const fleetInterval = 15 * time.Second

// fleet is the size and status writer of TestThousandScalers: 1,000
// Scalers with status_refresh 1m and status_qps 10, which at the old fixed
// refresh asked 1.67 times the writer's budget, as 10,000 Scalers do at the
// defaults; or, with SCALED_FLEET_SCALERS set (10000), that many at the
// defaults (about 15 minutes for 10,000). The 1,000 have a status_burst
// as large as the fleet, so that their first statuses do not take
// 1,000 / status_qps = 100 s: the steady state is the same (it asks half
// of status_qps, and a full bucket does not raise that), and a writer
// over its budget still runs flat out at status_qps once the bucket is
// spent, which starting the steady state status_refresh after all were
// deciding makes sure.
type fleet struct {
	scalers   int
	refresh   time.Duration
	qps       float64
	window    time.Duration // the steady state measured
	config    string        // the scaler_objects keys of the status writer
	createdBy int           // clients creating the Scalers
}

func fleetOf(t *testing.T) fleet {
	t.Helper()
	f := fleet{scalers: 1000, refresh: time.Minute, qps: 10, window: 45 * time.Second, createdBy: 16,
		config: "status_refresh: 1m\n  status_qps: 10\n  status_burst: 1000"}
	if v := os.Getenv("SCALED_FLEET_SCALERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SCALED_FLEET_SCALERS=%q: must be a number of Scalers, such as 10000", v)
		}
		f = fleet{scalers: n, refresh: config.DefaultStatusRefresh, qps: config.DefaultStatusQPS, window: 2 * time.Minute,
			createdBy: 32}
	}
	return f
}

// period is the refresh period the status writer should settle on.
func (f fleet) period() time.Duration {
	return max(f.refresh, (time.Duration(float64(f.scalers)/(f.qps/2)) * time.Second))
}

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

// scrape is a daemon's /metrics: the value of each series, by its
// name and labels as exposed.
func (d *daemon) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + d.listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			continue
		}
		if i := strings.LastIndexByte(l, ' '); i > 0 {
			if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil {
				out[l[:i]] = v
			}
		}
	}
	return out
}

// lastDecisions are the times of the last decision of each scaler whose
// name starts with prefix, and its decisions in all, from a daemon's
// metrics.
func (d *daemon) lastDecisions(t *testing.T, prefix string) (map[string]time.Time, float64) {
	t.Helper()
	last, total := map[string]time.Time{}, 0.0
	for series, v := range d.scrape(t) {
		name, labels, ok := strings.Cut(series, "{")
		if !ok {
			continue
		}
		_, rest, ok := strings.Cut(labels, `scaler="`)
		if !ok || !strings.HasPrefix(rest, prefix) {
			continue
		}
		scaler, _, _ := strings.Cut(rest, `"`)
		switch name {
		case "scaled_last_decision_timestamp_seconds":
			last[scaler] = time.Unix(0, int64(v*1e9))
		case "scaled_decisions_total":
			total += v
		}
	}
	return last, total
}

// A fleet of Scalers created at once is all deciding within one interval
// after the last is created. In steady state, every Scaler deciding every
// interval, its status writes stay within half of status_qps: the status
// writer refreshes each status once per refresh period, which it lengthens
// from status_refresh to Scalers / (status_qps / 2), spread over the
// period. With the fixed refresh of status_refresh this fleet asked 1.67
// times status_qps and the writer ran flat out at status_qps, every
// refresh late. The figures are logged; SCALED_FLEET_SCALERS=10000 runs
// 10,000 at the defaults.
func TestThousandScalers(t *testing.T) {
	if testing.Short() {
		t.Skip("a thousand Scalers and their steady state (about 2 to 3 minutes)")
	}
	f := fleetOf(t)
	c := scalersCluster(t)
	ns := c.Namespace(t, "fleet")
	prom := promtest.Start(t)
	prom.Gauge("app_rps", "namespace", "deployment").WithLabelValues(ns, "d").Set(42)
	prom.WaitFor(t, fmt.Sprintf(`sum(app_rps{namespace=%q})`, ns), 42, 30*time.Second)
	writer := ""
	if f.config != "" {
		writer = "\n  " + f.config
	}
	d := startDaemon(t, buildScaled(t), writeConfig(t, fmt.Sprintf(`
interval: %s
log: {level: warn, format: json}
prometheus: {url: %q}
scaler_objects:
  enabled: true
  namespaces: [%s]%s
`, fleetInterval, prom.URL(), ns, writer)), c.WriteKubeconfig("scaled-sa", saToken(t)), "scaled-fleet")
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
	for range f.createdBy {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				u := &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": v1alpha1.APIVersion, "kind": v1alpha1.Kind,
					"metadata": map[string]any{"name": fmt.Sprintf("s-%05d", i), "namespace": ns},
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
	for i := range f.scalers {
		names <- i
	}
	close(names)
	wg.Wait()
	created := time.Unix(0, lastCreated.Load())
	t.Logf("%d Scalers created in %s", f.scalers, created.Sub(start).Round(10*time.Millisecond))

	var deciding time.Time
	kubetest.Eventually(t, 2*fleetInterval+30*time.Second, "every Scaler deciding", func() (bool, error) {
		n := 0
		for _, s := range d.decidingScalers(t) {
			if strings.HasPrefix(s, ns+"/") {
				n++
			}
		}
		deciding = time.Now()
		return n == f.scalers, fmt.Errorf("%d deciding", n)
	})
	after := deciding.Sub(created)
	if after > fleetInterval+5*time.Second {
		t.Errorf("all deciding %s after the last was created, want within the %s interval (and the informer's delivery)", after, fleetInterval)
	}

	// The first statuses go at status_qps (with a margin for a loaded machine).
	first := time.Duration(float64(f.scalers)/f.qps*1.5)*time.Second + time.Minute
	kubetest.Eventually(t, first, "every status written", func() (bool, error) {
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
		return n == f.scalers, fmt.Errorf("%d written", n)
	})
	statusesAt := time.Now()
	// The refreshes that came due while the first statuses were written
	// wait behind them; then the writer keeps up. (Refreshed a fixed
	// status_refresh after their last write, these Scalers asked more than
	// status_qps, and the queue never emptied.)
	kubetest.Eventually(t, time.Duration(float64(f.scalers)/f.qps)*time.Second, "the status writer keeping up", func() (bool, error) {
		q := d.scrape(t)["scaled_scaler_status_queue"]
		return q < f.qps, fmt.Errorf("%g statuses waiting", q)
	})
	keptUp := time.Now()
	// The steady state starts no sooner than status_refresh after every
	// Scaler was deciding: under a fixed status_refresh the statuses
	// written before then come due again from then on, as fast as the
	// first ones went and then at 1.67 times status_qps, so a writer that
	// refreshed that way is measured flat out, not between two waves.
	if wait := time.Until(deciding.Add(f.refresh)); wait > 0 {
		time.Sleep(wait)
	}
	_, d0 := d.lastDecisions(t, ns+"/")
	w0, t0 := statusWrites(t), time.Now()
	queued := 0.0
	for time.Since(t0) < f.window {
		time.Sleep(5 * time.Second)
		queued = max(queued, d.scrape(t)["scaled_scaler_status_queue"])
	}
	w1, t1 := statusWrites(t), time.Now()
	last, d1 := d.lastDecisions(t, ns+"/")
	loaded := rssBytes(t, d.cmd.Process.Pid)
	period := d.scrape(t)["scaled_scaler_status_refresh_seconds"]

	perSecond := (w1 - w0) / t1.Sub(t0).Seconds()
	want := float64(f.scalers) / f.period().Seconds()
	decided := (d1 - d0) / float64(f.scalers) / (t1.Sub(t0).Seconds() / fleetInterval.Seconds())
	stale := 0
	for _, at := range last {
		if t1.Sub(at) > fleetInterval+5*time.Second {
			stale++
		}
	}
	perScaler := float64(loaded-idle) / float64(f.scalers)
	t.Logf("%d Scalers: all deciding %s after the last was created (interval %s); every status written %s after that; "+
		"the writer kept up %s after that; steady state from %s after all were deciding, over %s: %.2f status writes per second (status_qps %g, refresh period %gs: %.2f expected), "+
		"at most %g statuses queued, %.3f decisions per Scaler per interval; "+
		"RSS %.1f MiB idle, %.1f MiB with %d Scalers: %.1f KiB per Scaler",
		f.scalers, after.Round(100*time.Millisecond), fleetInterval, statusesAt.Sub(deciding).Round(time.Second),
		keptUp.Sub(statusesAt).Round(time.Second), t0.Sub(deciding).Round(time.Second), t1.Sub(t0).Round(time.Second), perSecond, f.qps, period, want, queued, decided,
		float64(idle)/(1<<20), float64(loaded)/(1<<20), f.scalers, perScaler/1024)
	if period != f.period().Seconds() {
		t.Errorf("scaled_scaler_status_refresh_seconds = %g, want %g: max(status_refresh %s, %d Scalers / (status_qps %g / 2))",
			period, f.period().Seconds(), f.refresh, f.scalers, f.qps)
	}
	if limit := 1.3 * f.qps / 2; perSecond > limit {
		t.Errorf("%.2f status writes per second in steady state, want at most %.2f: half of status_qps %g, with a margin for an uneven spread", perSecond, limit, f.qps)
	}
	if queued >= f.qps {
		t.Errorf("%g statuses queued in steady state, want fewer than status_qps (%g): a second's writes", queued, f.qps)
	}
	if perSecond < 0.6*want {
		t.Errorf("%.2f status writes per second in steady state, want about %.2f: every status refreshed once per %s", perSecond, want, f.period())
	}
	if len(last) != f.scalers || stale > 0 || decided < 0.9 {
		t.Errorf("%d of %d Scalers decided, %d not within the last interval, %.3f decisions per Scaler per interval: want all deciding every interval",
			len(last), f.scalers, stale, decided)
	}
}

// Two scaled processes share a Lease and run the same Scaler: the leader
// alone acts and writes its status; SIGKILLed, the other takes over within
// twice the lease duration and acts from then on, never both.
func TestFailoverWithScalers(t *testing.T) {
	c := scalersCluster(t)
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
	holder := func() string { return c.leaseHolder("scaled-objects") }
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
