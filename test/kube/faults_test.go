//go:build kube

package kube

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaled-dev/scaled/internal/faultproxy"
	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/internal/proc"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// kubeconfigFor writes a kubeconfig that reaches the API server at server
// with the admin token.
func kubeconfigFor(t *testing.T, cp *kubetest.ControlPlane, server string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- {name: c, cluster: {server: %q, insecure-skip-tls-verify: true}}
users:
- {name: admin, user: {token: %q}}
contexts:
- {name: c, context: {cluster: c, user: admin}}
current-context: c
`, server, cp.AdminToken)
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// webConfig writes a config of one acting scaler on Deployment ns/web
// whose replayed signal, load per second against 10 per replica, wants
// load/10 replicas, with head before its scalers.
func webConfig(t *testing.T, ns string, interval time.Duration, load int, head string) string {
	t.Helper()
	dir := t.TempDir()
	writeTrace(t, filepath.Join(dir, "load.csv"), func(int) int { return load })
	cfg := filepath.Join(dir, "scaled.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
interval: %s
log: {level: info, format: json}
%sscalers:
- name: web
  target:
    kind: kubernetes
    kubernetes: {api_version: apps/v1, kind: Deployment, namespace: %s, name: web}
  signals:
  - {name: load, replay: {trace: load.csv, loop: true}}
  policies:
  - {name: load, type: target_tracking, target_tracking: {signal: load, target_type: average_value, target: 10}}
  bounds: {min: 1, max: 10}
  # Undo another writer at once: the default rate limit (4 pods or 100%%
  # per 15s) would count each restore against the next.
  behavior:
    scale_up: {policies: [{type: Pods, value: 100, period: 1s}]}
`, interval, head, ns)), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// decisionsAfter are a daemon's kept decisions of scaler after since, oldest first.
func (d *daemon) decisionsAfter(t *testing.T, scaler string, since time.Time) []scaling.Decision {
	t.Helper()
	var out []scaling.Decision
	ds := d.decisions(t, scaler)
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Time.After(since) {
			out = append(out, ds[i])
		}
	}
	return out
}

// failedAfter waits up to 20 s for a failed decision of scaler after since,
// and returns the first.
func (d *daemon) failedAfter(t *testing.T, scaler string, since time.Time, what string) scaling.Decision {
	t.Helper()
	var failed scaling.Decision
	kubetest.Eventually(t, 20*time.Second, what, func() (bool, error) {
		for _, x := range d.decisionsAfter(t, scaler, since) {
			if x.Outcome == scaling.OutcomeFailed {
				failed = x
				return true, nil
			}
		}
		return false, nil
	})
	return failed
}

// The fault suite against the real kube-apiserver: a fault proxy between
// scaled and the API server. While reads fail the target is left alone,
// every failure is named and counted, the daemon stays up, and the first
// tick after the fault ends acts again.
func TestFaultSuiteKubeAPIServer(t *testing.T) {
	c := sharedCluster(t)
	ns := c.namespace(t, "faults", 4, "web")
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	d := startDaemon(t, buildScaled(t), webConfig(t, ns, time.Second, 60, ""), kubeconfigFor(t, c.ControlPlane, "https://"+proxy.Addr()), "faults")
	replicas := func() int32 { return c.replicas(t, ns, "web") }
	kubetest.Eventually(t, 30*time.Second, "scaled scales web to 6", func() (bool, error) { return replicas() == 6, nil })
	peakBefore := status(t, d)["VmHWM"]

	// A reset or a cut answer is retried by client-go for a GET until the
	// tick's deadline, so it may end as other or as timeout.
	for _, tc := range []struct {
		fault   faultproxy.Fault
		reasons []string // scaled_target_errors_total{reason} that may count it
	}{
		{faultproxy.Fault{Kind: faultproxy.Latency, Delay: 3 * time.Second}, []string{"timeout"}},
		{faultproxy.Fault{Kind: faultproxy.Reset}, []string{"other", "timeout"}},
		{faultproxy.Fault{Kind: faultproxy.Blackhole}, []string{"timeout"}},
		{faultproxy.Fault{Kind: faultproxy.Truncate, Bytes: 2000}, []string{"other", "timeout"}},
		{faultproxy.Fault{Kind: faultproxy.Bandwidth, BytesPerSecond: 300}, []string{"timeout"}},
	} {
		t.Run(strings.ReplaceAll(tc.fault.String(), " ", "_"), func(t *testing.T) {
			// Another writer moves the target while scaled is cut off: scaled
			// must not touch it until it can read it again.
			start := time.Now()
			proxy.Set(tc.fault)
			counted := func() float64 {
				n := 0.0
				for _, r := range tc.reasons {
					// A reason's series appears at its first error: absent is 0.
					n += max(0, d.proc.Value(t, fmt.Sprintf(`scaled_target_errors_total{reason=%q,scaler="web"}`, r)))
				}
				return n
			}
			before := counted()
			failed := d.failedAfter(t, "web", start, "a failed decision")
			c.setReplicas(t, ns, "web", 3)
			time.Sleep(3 * time.Second)
			if got := replicas(); got != 3 {
				t.Errorf("%s: replicas %d while scaled could not read the target, want the 3 another writer set", tc.fault, got)
			}
			end := time.Now()
			proxy.Set(faultproxy.Fault{})
			if !strings.Contains(failed.Error, "read target") {
				t.Errorf("%s: failure %q does not say what failed", tc.fault, failed.Error)
			}
			t.Logf("%s: %s", tc.fault, failed.Error)
			if after := counted(); after <= before {
				t.Errorf("%s: scaled_target_errors_total{reason=~%q} stayed at %v", tc.fault, strings.Join(tc.reasons, "|"), after)
			}

			// Recovery: the first tick scheduled after the fault ended reads
			// the target and scales it back to 6.
			var first scaling.Decision
			kubetest.Eventually(t, 20*time.Second, "a tick after the fault", func() (bool, error) {
				ds := d.decisionsAfter(t, "web", end)
				if len(ds) > 0 {
					first = ds[0]
				}
				return len(ds) > 0, nil
			})
			if first.Outcome == scaling.OutcomeFailed || first.Error != "" {
				t.Errorf("%s: the first tick after the fault (%s later) failed: outcome %s, error %q",
					tc.fault, first.Time.Sub(end).Round(time.Millisecond), first.Outcome, first.Error)
			}
			if late := first.Time.Sub(end); late > time.Second {
				t.Errorf("%s: the first tick after the fault came %s later, more than one interval: a tick was skipped", tc.fault, late)
			}
			t.Logf("%s: recovered at the first tick after the fault, %s later: %s to %d",
				tc.fault, first.Time.Sub(end).Round(time.Millisecond), first.Outcome, first.Desired)
			kubetest.Eventually(t, 10*time.Second, "web back at 6", func() (bool, error) { return replicas() == 6, nil })
		})
	}
	if err := d.proc.Healthy(2 * time.Second); err != nil {
		t.Errorf("/healthz after the faults: %v", err)
	}
	peak := status(t, d)["VmHWM"]
	t.Logf("peak RSS %d KiB before the faults, %d KiB after", peakBefore, peak)
	if peak-peakBefore > 32<<10 {
		t.Errorf("peak RSS grew by %d KiB through the faults", peak-peakBefore)
	}
}

// The API server throttles scaled (HTTP 429): client-go waits as
// Retry-After asks, a 429 that comes back is counted as throttled, and
// scaled acts again once the throttling stops.
func TestKubeThrottlingHonoursRetryAfter(t *testing.T) {
	c := sharedCluster(t)
	ns := c.namespace(t, "throttle", 4, "web")
	upstream, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // loopback test API server
	var mode atomic.Value                                                                  // "", "retry-after" or "429"
	mode.Store("")
	var mu sync.Mutex
	var throttled []time.Time
	scalePath := "/apis/apps/v1/namespaces/" + ns + "/deployments/web/scale"
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := mode.Load().(string)
		if m == "" || r.URL.Path != scalePath {
			rp.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		throttled = append(throttled, time.Now())
		mu.Unlock()
		if m == "retry-after" {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
			Reason: metav1.StatusReasonTooManyRequests, Code: http.StatusTooManyRequests, Message: "too many requests, please try again later"})
	}))
	defer srv.Close()
	d := startDaemon(t, buildScaled(t), webConfig(t, ns, 4*time.Second, 60, ""), kubeconfigFor(t, c.ControlPlane, srv.URL), "throttled")
	replicas := func() int32 { return c.replicas(t, ns, "web") }
	kubetest.Eventually(t, 30*time.Second, "scaled scales web to 6", func() (bool, error) { return replicas() == 6, nil })

	// Retry-After: 1. Within a tick, client-go asks again no sooner than a second later.
	mode.Store("retry-after")
	time.Sleep(9 * time.Second)
	mode.Store("")
	mu.Lock()
	times := append([]time.Time(nil), throttled...)
	throttled = nil
	mu.Unlock()
	if len(times) < 3 {
		t.Fatalf("%d throttled requests in 9s, want the retries of a few ticks", len(times))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 900*time.Millisecond {
			t.Errorf("request %d came %s after the one before, within the 1s Retry-After", i, gap)
		}
	}
	t.Logf("%d throttled requests in 9s with Retry-After: 1", len(times))

	// A 429 without Retry-After fails the read at once, counted as throttled.
	before := d.proc.Value(t, `scaled_target_errors_total{reason="throttled",scaler="web"}`)
	start := time.Now()
	mode.Store("429")
	failed := d.failedAfter(t, "web", start, "a throttled decision")
	end := time.Now()
	mode.Store("")
	if !strings.Contains(failed.Error, "throttling scaled (HTTP 429)") {
		t.Errorf("throttled decision error %q, want it named", failed.Error)
	}
	if after := d.proc.Value(t, `scaled_target_errors_total{reason="throttled",scaler="web"}`); after <= before {
		t.Errorf(`scaled_target_errors_total{reason="throttled"} stayed at %v`, after)
	}
	c.setReplicas(t, ns, "web", 3)
	kubetest.Eventually(t, 20*time.Second, "scaled acts again after the throttling", func() (bool, error) {
		ds := d.decisionsAfter(t, "web", end)
		return len(ds) > 0 && ds[len(ds)-1].Outcome == scaling.OutcomeApplied && replicas() == 6, nil
	})
}

// status reads the kB fields of the daemon's /proc/PID/status.
func status(t *testing.T, d *daemon) map[string]int64 {
	t.Helper()
	s, err := proc.Status(d.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
