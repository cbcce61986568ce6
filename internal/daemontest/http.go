package daemontest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Healthy is one GET /healthz answered within timeout: nil if it says 200.
func (p *Process) Healthy(timeout time.Duration) error {
	resp, err := (&http.Client{Timeout: timeout}).Get("http://" + p.Addr + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// WaitHealthy waits until /healthz answers 200, and fails the test after
// within.
func (p *Process) WaitHealthy(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for p.Healthy(time.Second) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s to serve /healthz", within, p.Addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Get is the status and body of GET path.
func (p *Process) Get(path string) (int, string, error) {
	resp, err := http.Get("http://" + p.Addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Series is the value of one series on /metrics, as written there.
func (p *Process) Series(name string) (string, error) {
	resp, err := http.Get("http://" + p.Addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			return f[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s not exported", name)
}

// Value is Series as a number, or -1 when the series is not there.
func (p *Process) Value(t testing.TB, name string) float64 {
	t.Helper()
	v, err := p.Series(name)
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s = %q", name, v)
	}
	return f
}
