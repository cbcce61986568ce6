package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/buildbin"
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

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type daemon struct {
	cmd  *exec.Cmd
	addr string
	out  *lockedBuffer
	done chan error
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startDaemon writes config (with LISTEN replaced) and runs `scaled run` on it
// until the test ends, printing its output if the test failed.
func startDaemon(t *testing.T, config string) *daemon {
	t.Helper()
	return startDaemonArgs(t, config)
}

// startDaemonArgs is startDaemon with more arguments for `scaled run`.
func startDaemonArgs(t *testing.T, config string, args ...string) *daemon {
	t.Helper()
	addr := freePort(t)
	path := filepath.Join(t.TempDir(), "scaled.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(config, "LISTEN", addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := spawnDaemon(t, addr, append([]string{"run", "--config", path}, args...)...)
	waitUntil(t, 10*time.Second, "scaled to serve /healthz", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return d
}

// spawnDaemon starts scaled with args, listening on addr, and stops it when
// the test ends (SIGTERM, then a kill after 10 s), printing its output if
// the test failed.
func spawnDaemon(t *testing.T, addr string, args ...string) *daemon {
	t.Helper()
	d := &daemon{addr: addr, out: &lockedBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(scaledBin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("scaled output:\n%s", d.out.String())
		}
	})
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
	resp, err := http.Get(fmt.Sprintf("http://%s/api/v1/decisions?scaler=%s&limit=%d", d.addr, scaler, limit))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Decisions []scaling.Decision `json:"decisions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding decisions: %v", err)
	}
	return body.Decisions
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
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return strings.Contains(b.String(), line)
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "check.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "LISTEN", "127.0.0.1:0")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
