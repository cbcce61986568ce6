//go:build integration

package main

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/daemontest"
	"github.com/scaled-dev/scaled/internal/faultproxy"
	"github.com/scaled-dev/scaled/internal/proc"
	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// The fault suite puts a fault proxy between the scaled binary and a real
// Prometheus and shows, for each network fault, that the daemon stays up,
// never scales down on the failed signal, names and counts the failure, and
// recovers at the first tick after the fault ends; and that its memory
// stays bounded through all of them.
//
// The scaler runs in dry run against a log target of 4: a healthy signal
// (a fifth of the target) wants 1, so any decision below 4 while the signal
// fails would be a scale-down on a failed signal.
func TestFaultSuitePrometheus(t *testing.T) {
	prom := promtest.Start(t)
	prom.Gauge("app_load").WithLabelValues().Set(0.1)
	prom.WaitFor(t, "app_load", 0.1, 20*time.Second)
	proxy := faultproxy.Start(t, strings.TrimPrefix(prom.URL(), "http://"))
	d := startDaemon(t, fmt.Sprintf(faultConfig, "http://"+proxy.Addr(), faultScaler("live", "app_load")))
	healthy := d.waitDecision(t, "live", time.Time{}, 15*time.Second, "a healthy decision", func(x scaling.Decision) bool {
		return len(x.Signals) == 1 && x.Signals[0].Failed == "" && x.Desired == 1
	})
	baseline := procStatus(t, d.Cmd.Process.Pid)

	for _, tc := range []struct {
		fault faultproxy.Fault
		kind  scaling.FailureKind // "": the signal must stay usable
	}{
		{faultproxy.Fault{Kind: faultproxy.Latency, Delay: 3 * time.Second}, scaling.FailureTimeout},
		{faultproxy.Fault{Kind: faultproxy.Reset}, scaling.FailureQuery},
		{faultproxy.Fault{Kind: faultproxy.Blackhole}, scaling.FailureTimeout},
		{faultproxy.Fault{Kind: faultproxy.Truncate, Bytes: 120}, scaling.FailureQuery},
		{faultproxy.Fault{Kind: faultproxy.Bandwidth, BytesPerSecond: 40}, scaling.FailureTimeout},
		{faultproxy.Fault{Kind: faultproxy.Bandwidth, BytesPerSecond: 20_000}, ""}, // slow, within the deadline
		{faultproxy.Fault{Kind: faultproxy.Latency, Delay: 200 * time.Millisecond}, ""},
	} {
		t.Run(strings.ReplaceAll(tc.fault.String(), " ", "_"), func(t *testing.T) {
			start := time.Now()
			proxy.Set(tc.fault)
			if tc.kind == "" {
				time.Sleep(3 * time.Second)
				for _, x := range d.decisionsSince(t, "live", start) {
					if x.Signals[0].Failed != "" {
						t.Errorf("%s: signal failed (%s: %s), want it used", tc.fault, x.Signals[0].Failed, x.Signals[0].Error)
					}
				}
				proxy.Set(faultproxy.Fault{})
				return
			}
			first := d.waitDecision(t, "live", start, 20*time.Second, "a "+string(tc.kind)+" failure", func(x scaling.Decision) bool {
				return len(x.Signals) == 1 && x.Signals[0].Failed == tc.kind
			})
			time.Sleep(3 * time.Second) // the fault holds for a few ticks
			end := time.Now()
			proxy.Set(faultproxy.Fault{})
			for _, x := range d.decisionsSince(t, "live", start) {
				if x.Time.After(end) {
					continue
				}
				if s := x.Signals[0]; s.Failed != "" && x.Desired < x.Current {
					t.Errorf("%s: scaled down from %d to %d on a failed signal (%s)", tc.fault, x.Current, x.Desired, s.Failed)
				}
			}
			if !strings.Contains(first.Signals[0].Error, `"app_load"`) {
				t.Errorf("%s: the failure does not name the query: %q", tc.fault, first.Signals[0].Error)
			}
			t.Logf("%s: %s: %s", tc.fault, first.Signals[0].Failed, first.Signals[0].Error)

			// Recovery: the first tick scheduled after the fault ended uses the signal again.
			var after scaling.Decision
			waitUntil(t, 15*time.Second, "a tick after the fault", func() bool {
				ds := d.decisionsSince(t, "live", end)
				if len(ds) == 0 {
					return false
				}
				after = ds[len(ds)-1] // oldest first
				return true
			})
			if s := after.Signals[0]; s.Failed != "" || after.Desired != 1 {
				t.Errorf("%s: the first tick after the fault (%s) failed: %s %s, desired %d", tc.fault,
					after.Time.Sub(end).Round(time.Millisecond), s.Failed, s.Error, after.Desired)
			}
			if late := after.Time.Sub(end); late > time.Second {
				t.Errorf("%s: the first tick after the fault came %s later, more than one interval: a tick was skipped", tc.fault, late)
			}
			t.Logf("%s: recovered at the first tick after the fault, %s later", tc.fault, after.Time.Sub(end).Round(time.Millisecond))
		})
	}

	// Every failure was counted by kind, the daemon is up and live, and its
	// memory did not grow with the faults.
	for _, kind := range []scaling.FailureKind{scaling.FailureTimeout, scaling.FailureQuery} {
		if v := d.Value(t, fmt.Sprintf(`scaled_signal_errors_total{reason=%q,scaler="live",signal="load"}`, kind)); v < 1 {
			t.Errorf("scaled_signal_errors_total{reason=%q} = %v, want the failures counted", kind, v)
		}
	}
	if err := d.Cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("scaled died: %v", err)
	}
	if err := d.Healthy(5 * time.Second); err != nil {
		t.Errorf("/healthz after the faults: %v", err)
	}
	end := procStatus(t, d.Cmd.Process.Pid)
	t.Logf("RSS after warm-up %d KiB, after the faults %d KiB, peak %d KiB (first healthy decision at %s)",
		baseline["VmRSS"], end["VmRSS"], end["VmHWM"], healthy.Time.Format(time.RFC3339))
	if grew := end["VmHWM"] - baseline["VmHWM"]; grew > 32<<10 {
		t.Errorf("peak RSS grew by %d KiB through the faults", grew)
	}
}

// With its descriptors nearly all taken by idle clients, scaled still
// answers its probes: idle connections are closed to make room, and the
// connection cap keeps descriptors for its own queries.
func TestIdleConnectionsDoNotBlindProbes(t *testing.T) {
	prom := promtest.Start(t)
	prom.Gauge("app_load").WithLabelValues().Set(0.1)
	prom.WaitFor(t, "app_load", 0.1, 20*time.Second)
	addr := daemontest.FreeAddr(t)
	path := writeConfig(t, strings.ReplaceAll(fmt.Sprintf(faultConfig, prom.URL(), faultScaler("live", "app_load")), "LISTEN", addr))
	d := &daemon{daemontest.Start(t, "sh", daemontest.Options{Addr: addr, Grace: 10 * time.Second},
		"-c", `ulimit -n 128 && exec "$0" run --config "$1"`, scaledBin, path)}
	d.WaitHealthy(t, 15*time.Second)

	// 200 idle clients: more than the process has descriptors for.
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			break
		}
		idle = append(idle, c)
	}
	time.Sleep(2 * time.Second) // past the grace in which a silent connection is not yet idle
	for i := range 5 {
		if err := d.Healthy(time.Second); err != nil {
			t.Fatalf("probe %d with %d idle connections open: %v", i, len(idle), err)
		}
	}
	// The scaler's queries still get descriptors.
	start := time.Now()
	after := d.waitDecision(t, "live", start, 10*time.Second, "a decision", func(scaling.Decision) bool { return true })
	if s := after.Signals[0]; s.Failed != "" {
		t.Errorf("the signal failed under the idle flood: %s %s", s.Failed, s.Error)
	}
}

// decisionsSince returns the scaler's kept decisions after t, newest first.
func (d *daemon) decisionsSince(t *testing.T, scaler string, since time.Time) []scaling.Decision {
	t.Helper()
	var out []scaling.Decision
	for _, x := range d.decisions(t, scaler, 100) {
		if x.Time.After(since) {
			out = append(out, x)
		}
	}
	return out
}

// procStatus reads the kB fields of /proc/PID/status (VmRSS, VmHWM, ...).
func procStatus(t *testing.T, pid int) map[string]int64 {
	t.Helper()
	s, err := proc.Status(pid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
