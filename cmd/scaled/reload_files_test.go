package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopsWithin sends SIGTERM and fails unless the daemon exits within d.
func (d *daemon) stopsWithin(t *testing.T, within time.Duration) {
	t.Helper()
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
		d.done <- err // for the test's cleanup
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
			path := d.cmd.Args[len(d.cmd.Args)-1]
			waitUntil(t, 10*time.Second, "ready", func() bool { return d.has(t, "/readyz", "ok") })
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 10*time.Second, "the reload refused", func() bool {
				return d.has(t, "/metrics", "scaled_config_last_reload_successful 0")
			})
			if out := d.out.String(); !strings.Contains(out, tc.want) {
				t.Errorf("the refusal does not say %q:\n%s", tc.want, out)
			}
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
	path := d.cmd.Args[len(d.cmd.Args)-1]
	waitUntil(t, 10*time.Second, "ready", func() bool { return d.has(t, "/readyz", "ok") })

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.ReplaceAll(first, "LISTEN", d.addr)); err != nil {
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
		return strings.Contains(d.out.String(), `"trigger":"file changed"`)
	})
	if !d.has(t, "/metrics", "scaled_config_scalers_removed_total 0") {
		t.Errorf("the half-written file was reloaded and removed a scaler:\n%s", d.out.String())
	}
	if n := strings.Count(d.out.String(), "config reloaded"); n != 1 {
		t.Errorf("reloaded %d times, want once, when the file was whole", n)
	}
}

// A ConfigMap volume swaps its ..data link to a new directory holding the
// whole file: that is reloaded at once, not after the settle time of a file
// written in place.
func TestReloadOfAConfigMapSwapIsImmediate(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
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
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	start := time.Now()
	version("2", replayScaler(t, "web", 1)+replayScaler(t, "api", 1))
	waitUntil(t, 10*time.Second, "the swapped config reloaded", func() bool {
		return strings.Contains(d.out.String(), "config reloaded")
	})
	took := time.Since(start)
	t.Logf("reloaded %s after the swap", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the swap was reloaded %s after it, want at once (< 1 s)", took)
	}
}
