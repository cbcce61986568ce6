package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// replayScaler is a scaler that needs no Prometheus: its signal replays the
// demo trace (the daemon then runs on a fast clock, 60x).
func replayScaler(t *testing.T, name string, min int) string {
	t.Helper()
	trace, err := filepath.Abs("../../testdata/traces/demo.csv")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`
  - name: %s
    target: {kind: log, log: {initial: 3}}
    signals: [{name: rps, replay: {trace: %s, speed: 60, loop: true, expr: rate}}]
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 0.2}}
    bounds: {min: %d, max: 15}
`, name, trace, min)
}

const reloadHead = `
dry_run: true
interval: 15s
listen: LISTEN
scalers:
`

func (d *daemon) has(t *testing.T, path, text string) bool {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return strings.Contains(b.String(), text)
}

func TestReloadSwapsValidConfigsAndKeepsTheOldOnErrors(t *testing.T) {
	d := startDaemon(t, reloadHead+replayScaler(t, "web", 1))
	path := d.cmd.Args[len(d.cmd.Args)-1]
	write := func(scalers string) {
		t.Helper()
		// Write a new file and rename it over the old one, as editors and
		// ConfigMap volumes do, so the daemon never reads half a file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(reloadHead, "LISTEN", d.addr)+scalers), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 10*time.Second, "ready", func() bool { return d.has(t, "/readyz", "ok") })

	// A changed file with a valid config adds a scaler.
	write(replayScaler(t, "web", 1) + replayScaler(t, "api", 1))
	waitUntil(t, 10*time.Second, "the new scaler", func() bool { return d.has(t, "/api/v1/decisions", `"api"`) })
	if !d.has(t, "/metrics", "scaled_config_last_reload_successful 1") {
		t.Error("reload of a valid config not reported as successful")
	}
	if !d.has(t, "/metrics", "scaled_config_scalers_removed_total 0") {
		t.Error("a reload that only adds a scaler counted a removal, or the counter is not exported at zero")
	}

	// An invalid config is refused and the old one keeps running.
	write(replayScaler(t, "web", 1) + replayScaler(t, "api", 99))
	waitUntil(t, 10*time.Second, "the failed reload", func() bool { return d.has(t, "/metrics", "scaled_config_last_reload_successful 0") })
	before := len(d.decisions(t, "api", 1000))
	time.Sleep(time.Second)
	if after := len(d.decisions(t, "api", 1000)); after <= before {
		t.Errorf("after a bad reload the old scaler stopped deciding (%d decisions, then %d)", before, after)
	}
	if !strings.Contains(d.out.String(), "bounds.min: 99") {
		t.Errorf("the reload error does not name the bad field:\n%s", d.out.String())
	}

	// SIGHUP reloads too; a removed scaler's decisions and series go.
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(reloadHead, "LISTEN", d.addr)+replayScaler(t, "web", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the scaler removed", func() bool {
		return !d.has(t, "/api/v1/decisions", `"api"`) && d.has(t, "/metrics", "scaled_config_last_reload_successful 1")
	})
	if d.has(t, "/metrics", `scaler="api"`) {
		t.Error("a removed scaler's series are still exported")
	}
	if !d.has(t, "/metrics", "scaled_config_scalers_removed_total 1") {
		t.Error("the removal is not counted in scaled_config_scalers_removed_total")
	}
	if out := d.out.String(); !strings.Contains(out, `"config reload removed scalers; their targets are no longer scaled","removed":1,"names":"api"`) {
		t.Errorf("no warning names the removed scaler:\n%s", out)
	}

	// SIGTERM stops cleanly within a few seconds.
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("scaled did not stop within 5s of SIGTERM")
	}
}

// A file emptied on a running daemon is refused, and every scaler keeps
// running; a file cut after its first scaler is a valid config that drops
// the others, which the log and scaled_config_scalers_removed_total say.
func TestReloadOfAnEmptiedOrTruncatedFile(t *testing.T) {
	d := startDaemon(t, reloadHead+replayScaler(t, "web", 1)+replayScaler(t, "api", 1)+replayScaler(t, "db", 1))
	path := d.cmd.Args[len(d.cmd.Args)-1]
	waitUntil(t, 10*time.Second, "ready", func() bool { return d.has(t, "/readyz", "ok") })
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reload := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}

	reload("")
	waitUntil(t, 10*time.Second, "the emptied file refused", func() bool {
		return d.has(t, "/metrics", "scaled_config_last_reload_successful 0")
	})
	if !d.has(t, "/metrics", "scaled_scalers 3") || !d.has(t, "/metrics", "scaled_config_scalers_removed_total 0") {
		t.Error("an emptied file changed the running scalers")
	}
	if !strings.Contains(d.out.String(), "scalers: none: must list at least one scaler") {
		t.Errorf("the refusal does not say why:\n%s", d.out.String())
	}

	// Cut short after the first scaler, in the middle of the second.
	cut := strings.Index(string(full), "  - name: api")
	reload(string(full[:cut]) + "  - name: ap")
	// "  - name: ap" is a scaler of its own, without target or signals: refused too.
	waitUntil(t, 10*time.Second, "the half scaler refused", func() bool {
		return strings.Contains(d.out.String(), `scalers[1].target`)
	})
	reload(string(full[:cut]))
	waitUntil(t, 10*time.Second, "the cut file applied", func() bool {
		return d.has(t, "/metrics", "scaled_scalers 1") && d.has(t, "/metrics", "scaled_config_last_reload_successful 1")
	})
	if !d.has(t, "/metrics", "scaled_config_scalers_removed_total 2") {
		t.Error("the two scalers the cut dropped are not counted")
	}
	if out := d.out.String(); !strings.Contains(out, `"removed":2,"names":"api, db","scalers":1`) {
		t.Errorf("no warning names the dropped scalers:\n%s", out)
	}
}
