//go:build integration

package main

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// These suites run the built scaled binary against a real Prometheus (the
// Debian package, see hack/prometheus/install.sh) scraping an exporter whose
// values the test drives.

const followConfig = `
prometheus: {url: %s, query_timeout: 2s}
interval: 1s
dry_run: true
listen: LISTEN
log: {level: info, format: json}
scalers:
  - name: web
    target: {kind: log, log: {initial: 4}}
    signals: [{name: load, query: 'app_load'}]
    policies:
      - {name: load, type: target_tracking, target_tracking: {signal: load, target_type: value, target: 0.5}}
    bounds: {min: 1, max: 20}
    behavior:
      scale_down: {stabilization_window: 6s}
`

func TestDaemonFollowsTheSignal(t *testing.T) {
	prom := promtest.Start(t)
	load := prom.Gauge("app_load")
	load.WithLabelValues().Set(1.0)
	prom.WaitFor(t, "app_load", 1.0, 20*time.Second)
	d := startDaemon(t, fmt.Sprintf(followConfig, prom.URL()))

	// A signal at twice the target doubles the 4 replicas (dry run: the target stays at 4).
	up := d.waitDecision(t, "web", time.Time{}, 15*time.Second, "scale up to 8", func(x scaling.Decision) bool { return x.Desired == 8 })
	if up.Outcome != scaling.OutcomeDryRun || up.Direction != scaling.DirectionUp || up.Current != 4 || up.Signals[0].Value != 1.0 {
		t.Errorf("rising signal: %+v", up)
	}

	// Within the 10% tolerance nothing changes.
	load.WithLabelValues().Set(0.52)
	prom.WaitFor(t, "app_load", 0.52, 10*time.Second)
	hold := d.waitDecision(t, "web", up.Time, 10*time.Second, "the new value", func(x scaling.Decision) bool {
		return len(x.Signals) == 1 && x.Signals[0].Value == 0.52
	})
	if hold.Desired != 4 || hold.Outcome != scaling.OutcomeUnchanged {
		t.Errorf("within tolerance: desired %d outcome %s, want 4 unchanged", hold.Desired, hold.Outcome)
	}

	// Half the target wants 2, but the scale-down window remembers the 4 and
	// holds; once the window has passed, scale down.
	load.WithLabelValues().Set(0.25)
	prom.WaitFor(t, "app_load", 0.25, 10*time.Second)
	firstLow := d.waitDecision(t, "web", hold.Time, 10*time.Second, "the low value", func(x scaling.Decision) bool {
		return len(x.Signals) == 1 && x.Signals[0].Value == 0.25
	})
	if firstLow.Recommended != 2 || firstLow.Desired != 4 || len(firstLow.Adjustments) == 0 || !strings.Contains(firstLow.Adjustments[0].Reason, "stabilised") {
		t.Errorf("first low tick: recommended %d desired %d adjustments %+v; want 2 stabilised at 4", firstLow.Recommended, firstLow.Desired, firstLow.Adjustments)
	}
	down := d.waitDecision(t, "web", firstLow.Time, 15*time.Second, "scale down to 2", func(x scaling.Decision) bool { return x.Desired == 2 })
	if gap := down.Time.Sub(firstLow.Time); gap < 5*time.Second {
		t.Errorf("scaled down %s after the signal fell; the 6s window must hold it", gap)
	}
	if !d.metric(t, `scaled_decisions_total{direction="down",outcome="dry_run",scaler="web"}`) ||
		!d.metric(t, `scaled_signal_value{scaler="web",signal="load"} 0.25`) {
		t.Error("/metrics lacks the decision counter or the signal value")
	}

	// check --query prints the live value.
	out, err := exec.Command(scaledBin, "check", "--query", "--config", writeConfig(t, fmt.Sprintf(followConfig, prom.URL()))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "web/load = 0.25") {
		t.Errorf("check --query: err %v, output:\n%s", err, out)
	}
}

const faultConfig = `
prometheus: {url: %s, query_timeout: 1s}
interval: 1s
dry_run: true
listen: LISTEN
scalers:
%s`

func faultScaler(name, query string) string {
	return fmt.Sprintf(`
  - name: %s
    target: {kind: log, log: {initial: 4}}
    signals: [{name: load, query: '%s'}]
    policies:
      - {name: load, type: target_tracking, target_tracking: {signal: load, target_type: value, target: 0.5}}
    bounds: {min: 1, max: 20}
    behavior: {scale_down: {stabilization_window: 0s}}
`, name, query)
}

func TestDaemonFaults(t *testing.T) {
	prom := promtest.Start(t)
	prom.Gauge("app_load").WithLabelValues().Set(0.1) // a fifth of the target: wants 1 replica
	multi := prom.Gauge("app_multi", "shard")
	multi.WithLabelValues("a").Set(1)
	multi.WithLabelValues("b").Set(1)
	prom.WaitFor(t, "app_load", 0.1, 20*time.Second)
	prom.WaitFor(t, "count(app_multi)", 2, 10*time.Second)
	d := startDaemon(t, fmt.Sprintf(faultConfig, prom.URL(),
		faultScaler("live", "app_load")+faultScaler("multi", "app_multi")+
			faultScaler("refused", "app_multi * on() app_multi")+faultScaler("empty", "app_does_not_exist")))

	live := d.waitDecision(t, "live", time.Time{}, 15*time.Second, "a working signal scales down", func(x scaling.Decision) bool { return x.Desired == 1 })
	for _, tc := range []struct{ scaler, kind, text string }{
		{"multi", "multiple_series", "2 series"},
		// Valid PromQL (scaled refuses a syntax error at load) that
		// Prometheus' engine refuses: two series on each side of a one-to-one match.
		{"refused", "query_error", "execution"},
		{"empty", "empty", ""},
	} {
		dec := d.waitDecision(t, tc.scaler, time.Time{}, 10*time.Second, "a decision", func(scaling.Decision) bool { return true })
		if len(dec.Signals) != 1 || string(dec.Signals[0].Failed) != tc.kind || !strings.Contains(dec.Signals[0].Error, tc.text) {
			t.Errorf("%s: signals %+v, want failed %s mentioning %q", tc.scaler, dec.Signals, tc.kind, tc.text)
		}
		if dec.Desired != 4 {
			t.Errorf("%s: a failed signal moved the capacity from 4 to %d", tc.scaler, dec.Desired)
		}
		if !d.metric(t, fmt.Sprintf(`scaled_signal_errors_total{reason=%q,scaler=%q,signal="load"}`, tc.kind, tc.scaler)) {
			t.Errorf("%s: no scaled_signal_errors_total{reason=%q}", tc.scaler, tc.kind)
		}
	}

	// Prometheus stops mid-run: the working scaler's signal fails, and it
	// holds at the current 4 instead of following its last wish of 1.
	prom.Stop()
	stopped := time.Now()
	failed := d.waitDecision(t, "live", live.Time, 10*time.Second, "a failed signal", func(x scaling.Decision) bool {
		return len(x.Signals) == 1 && x.Signals[0].Failed != ""
	})
	if failed.Desired != 4 || failed.Signals[0].Failed != scaling.FailureQuery {
		t.Errorf("Prometheus down: desired %d, signal %+v; want 4 held and a query_error", failed.Desired, failed.Signals[0])
	}
	time.Sleep(2 * time.Second)
	for _, dec := range d.decisions(t, "live", 10) {
		if dec.Time.After(failed.Time) && dec.Desired < 4 {
			t.Errorf("while Prometheus was down a decision scaled down: %+v", dec)
		}
	}
	if err := d.Cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("scaled died while Prometheus was down: %v", err)
	}

	// Prometheus returns: the signal flows again and the scaler follows it.
	prom.Restart(t)
	back := d.waitDecision(t, "live", time.Now(), 30*time.Second, "the signal back", func(x scaling.Decision) bool {
		return len(x.Signals) == 1 && x.Signals[0].Failed == "" && x.Desired == 1
	})
	t.Logf("recovered %s after Prometheus stopped", back.Time.Sub(stopped).Round(time.Second))
}
