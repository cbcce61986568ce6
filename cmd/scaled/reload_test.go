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

	"github.com/scaled-dev/scaled/internal/daemontest"
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
	_, body, err := d.Get(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(body, text)
}

func TestReloadSwapsValidConfigsAndKeepsTheOldOnErrors(t *testing.T) {
	d := startDaemon(t, reloadHead+replayScaler(t, "web", 1))
	path := d.Cmd.Args[len(d.Cmd.Args)-1]
	write := func(scalers string) {
		t.Helper()
		// Write a new file and rename it over the old one, as editors and
		// ConfigMap volumes do, so the daemon never reads half a file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(reloadHead, "LISTEN", d.Addr)+scalers), 0o600); err != nil {
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
	if !strings.Contains(d.Output(), "bounds.min: 99") {
		t.Errorf("the reload error does not name the bad field:\n%s", d.Output())
	}

	// SIGHUP reloads too; a removed scaler's decisions and series go.
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(reloadHead, "LISTEN", d.Addr)+replayScaler(t, "web", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
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
	if out := d.Output(); !strings.Contains(out, `"config reload removed scalers; their targets are no longer scaled","removed":1,"names":"api"`) {
		t.Errorf("no warning names the removed scaler:\n%s", out)
	}

	// SIGTERM stops cleanly within a few seconds.
	start := time.Now()
	if err := d.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Exited():
		if err := d.Err(); err != nil {
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
	path := d.Cmd.Args[len(d.Cmd.Args)-1]
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
		if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
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
	if !strings.Contains(d.Output(), "scalers: none: must list at least one scaler") {
		t.Errorf("the refusal does not say why:\n%s", d.Output())
	}

	// Cut short after the first scaler, in the middle of the second.
	cut := strings.Index(string(full), "  - name: api")
	reload(string(full[:cut]) + "  - name: ap")
	// "  - name: ap" is a scaler of its own, without target or signals: refused too.
	waitUntil(t, 10*time.Second, "the half scaler refused", func() bool {
		return strings.Contains(d.Output(), `scalers[1].target`)
	})
	reload(string(full[:cut]))
	waitUntil(t, 10*time.Second, "the cut file applied", func() bool {
		return d.has(t, "/metrics", "scaled_scalers 1") && d.has(t, "/metrics", "scaled_config_last_reload_successful 1")
	})
	if !d.has(t, "/metrics", "scaled_config_scalers_removed_total 2") {
		t.Error("the two scalers the cut dropped are not counted")
	}
	if out := d.Output(); !strings.Contains(out, `"removed":2,"names":"api, db","scalers":1`) {
		t.Errorf("no warning names the dropped scalers:\n%s", out)
	}
}

// stopsWithin sends SIGTERM and fails unless the daemon exits within d.
func (d *daemon) stopsWithin(t *testing.T, within time.Duration) {
	t.Helper()
	start := time.Now()
	if err := d.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Exited():
		t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(within):
		t.Errorf("still running %s after SIGTERM", within)
	}
}

// A config path that is not a regular file of bounded size is refused at
// reload without being read: a named pipe (which blocked the reload, and
// with it SIGHUP and SIGTERM, forever), a device (/dev/zero, read until
// the process ran out of memory), a file past the size cap. The old config
// keeps running and SIGTERM still stops the daemon at once.
func TestReloadRefusesWhatIsNotARegularFile(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		make       func(path string) error
	}{
		{"a named pipe", "is a named pipe, not a regular file", func(path string) error { return syscall.Mkfifo(path, 0o600) }},
		{"a device", "is a device, not a regular file", func(path string) error { return os.Symlink("/dev/zero", path) }},
		{"a file past the cap", "bytes: a config file may be at most 67108864 (64 MiB)", func(path string) error {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				return err
			}
			return os.Truncate(path, 65<<20) // sparse: costs no disk
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, reloadHead+replayScaler(t, "web", 1))
			path := d.Cmd.Args[len(d.Cmd.Args)-1]
			waitUntil(t, 10*time.Second, "ready", func() bool { return d.has(t, "/readyz", "ok") })
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 10*time.Second, "the reload refused", func() bool {
				return d.has(t, "/metrics", "scaled_config_last_reload_successful 0")
			})
			// The refusal is logged after the metric is set, and the log
			// is read from the process's pipe: wait for it too.
			waitUntil(t, 5*time.Second, fmt.Sprintf("a refusal that says %q", tc.want), func() bool {
				return strings.Contains(d.Output(), tc.want)
			})
			if !d.has(t, "/metrics", "scaled_scalers 1") {
				t.Error("the refused file changed the running scalers")
			}
			d.stopsWithin(t, 8*time.Second)
		})
	}
}

// A file rewritten in place by a writer that pauses halfway, its first half
// a valid config without the second scaler, is read once it is whole: the
// second scaler is never removed (which left its target unscaled and lost
// its history) and added back.
func TestReloadWaitsForAFileWrittenInPlace(t *testing.T) {
	first := reloadHead + replayScaler(t, "web", 1)
	second := replayScaler(t, "api", 1)
	d := startDaemon(t, first+second)
	path := d.Cmd.Args[len(d.Cmd.Args)-1]
	waitUntil(t, 10*time.Second, "ready", func() bool { return d.has(t, "/readyz", "ok") })

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.ReplaceAll(first, "LISTEN", d.Addr)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := f.WriteString(strings.Replace(second, "min: 1", "min: 2", 1)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the whole file reloaded", func() bool {
		return strings.Contains(d.Output(), `"trigger":"file changed"`)
	})
	if !d.has(t, "/metrics", "scaled_config_scalers_removed_total 0") {
		t.Errorf("the half-written file was reloaded and removed a scaler:\n%s", d.Output())
	}
	if n := strings.Count(d.Output(), "config reloaded"); n != 1 {
		t.Errorf("reloaded %d times, want once, when the file was whole", n)
	}
}

// A ConfigMap volume swaps its ..data link to a new directory holding the
// whole file: that is reloaded at once, not after the settle time of a file
// written in place.
func TestReloadOfAConfigMapSwapIsImmediate(t *testing.T) {
	dir := t.TempDir()
	addr := daemontest.FreeAddr(t)
	version := func(n string, scalers string) {
		t.Helper()
		vd := filepath.Join(dir, "..2026_12_06_"+n)
		if err := os.Mkdir(vd, 0o755); err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(reloadHead, "LISTEN", addr) + scalers
		if err := os.WriteFile(filepath.Join(vd, "scaled.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(vd), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version("1", replayScaler(t, "web", 1))
	path := filepath.Join(dir, "scaled.yaml")
	if err := os.Symlink("..data/scaled.yaml", path); err != nil {
		t.Fatal(err)
	}
	d := spawnDaemon(t, addr, "run", "--config", path)
	waitUntil(t, 10*time.Second, "ready", func() bool {
		code, _, err := d.Get("/readyz")
		return err == nil && code == http.StatusOK
	})
	start := time.Now()
	version("2", replayScaler(t, "web", 1)+replayScaler(t, "api", 1))
	waitUntil(t, 10*time.Second, "the swapped config reloaded", func() bool {
		return strings.Contains(d.Output(), "config reloaded")
	})
	took := time.Since(start)
	t.Logf("reloaded %s after the swap", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the swap was reloaded %s after it, want at once (< 1 s)", took)
	}
}
