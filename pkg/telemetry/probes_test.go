package telemetry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The probe listener answers the kubelet's probes with the status alone,
// whatever the main server's web configuration asks of other clients, and
// serves nothing else.
func TestProbeServerAnswersProbesAlone(t *testing.T) {
	var ready, stuck atomic.Bool
	s := NewProbeServer("127.0.0.1:0", func() error {
		if !ready.Load() {
			return errors.New("scaler web: no tick yet")
		}
		return nil
	}, func() error {
		if stuck.Load() {
			return errors.New("scaler web: stuck")
		}
		return nil
	}, nil)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	c := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + s.Addr()

	if code, body := get(t, c, base+"/readyz"); code != http.StatusServiceUnavailable || strings.Contains(body, "scaler web") {
		t.Errorf("/readyz while not ready = %d %q, want 503 without the reason", code, body)
	}
	if code, _ := get(t, c, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while live = %d, want 200", code)
	}
	ready.Store(true)
	stuck.Store(true)
	if code, _ := get(t, c, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz when ready = %d, want 200", code)
	}
	if code, body := get(t, c, base+"/healthz"); code != http.StatusServiceUnavailable || strings.Contains(body, "stuck") {
		t.Errorf("/healthz while stuck = %d %q, want 503 without the reason", code, body)
	}
	for _, p := range []string{"/metrics", "/api/v1/decisions", "/debug/pprof/"} {
		if code, _ := get(t, c, base+p); code != http.StatusNotFound {
			t.Errorf("%s on the probe listener = %d, want 404", p, code)
		}
	}
}
