package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/buildbin"
	"github.com/scaled-dev/scaled/internal/daemontest"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// The tests of this package run the built scaled binary, as a user would.

var scaledBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scaled-bin")
	if err != nil {
		panic(err)
	}
	scaledBin = filepath.Join(dir, "scaled")
	if err := buildbin.Build(scaledBin); err != nil {
		fmt.Fprintf(os.Stderr, "building scaled: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// A daemon is a scaled process run by the test.
type daemon struct{ *daemontest.Process }

// startDaemon writes config (with LISTEN replaced) and runs `scaled run` on it
// until the test ends, printing its output if the test failed.
func startDaemon(t *testing.T, config string) *daemon {
	t.Helper()
	return startDaemonArgs(t, config)
}

// startDaemonArgs is startDaemon with more arguments for `scaled run`.
func startDaemonArgs(t *testing.T, config string, args ...string) *daemon {
	t.Helper()
	addr := daemontest.FreeAddr(t)
	path := filepath.Join(t.TempDir(), "scaled.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(config, "LISTEN", addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := spawnDaemon(t, addr, append([]string{"run", "--config", path}, args...)...)
	d.WaitHealthy(t, 10*time.Second)
	return d
}

// spawnDaemon starts scaled with args, listening on addr, and stops it when
// the test ends (SIGTERM, then a kill after 10 s), printing its output if
// the test failed.
func spawnDaemon(t *testing.T, addr string, args ...string) *daemon {
	t.Helper()
	d := &daemon{Process: daemontest.Start(t, scaledBin, daemontest.Options{Addr: addr, Grace: 10 * time.Second}, args...)}
	d.Exited() // from the start, so that a crash shows as an exit
	return d
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *daemon) decisions(t *testing.T, scaler string, limit int) []scaling.Decision {
	t.Helper()
	ds, err := d.Decisions(scaler, limit)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// waitDecision waits for a decision of scaler, newer than after, that
// satisfies ok, and returns it.
func (d *daemon) waitDecision(t *testing.T, scaler string, after time.Time, timeout time.Duration, what string, ok func(scaling.Decision) bool) scaling.Decision {
	t.Helper()
	var found scaling.Decision
	waitUntil(t, timeout, scaler+": "+what, func() bool {
		for _, dec := range d.decisions(t, scaler, 5) {
			if dec.Time.After(after) && ok(dec) {
				found = dec
				return true
			}
		}
		return false
	})
	return found
}

func (d *daemon) metric(t *testing.T, line string) bool {
	t.Helper()
	return d.has(t, "/metrics", line)
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "check.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "LISTEN", "127.0.0.1:0")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
