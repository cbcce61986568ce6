package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	body := strings.Repeat("x", 20_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) }))
	defer srv.Close()
	p := Start(t, srv.Listener.Addr().String())
	get := func(timeout time.Duration) (string, time.Duration, error) {
		c := &http.Client{Timeout: timeout}
		start := time.Now()
		resp, err := c.Get("http://" + p.Addr() + "/")
		if err != nil {
			return "", time.Since(start), err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), time.Since(start), err
	}
	for _, tc := range []struct {
		fault   Fault
		wantErr string        // "" for a full answer
		atLeast time.Duration // the answer takes at least this long
	}{
		{Fault{Kind: None}, "", 0},
		{Fault{Kind: Latency, Delay: 300 * time.Millisecond}, "", 300 * time.Millisecond},
		{Fault{Kind: Reset}, "reset", 0},
		{Fault{Kind: Blackhole}, "Timeout", 0},
		{Fault{Kind: Truncate, Bytes: 300}, "unexpected EOF", 0},
		{Fault{Kind: Bandwidth, BytesPerSecond: 40_000}, "", 400 * time.Millisecond},
		{Fault{}, "", 0},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			p.Set(tc.fault)
			got, took, err := get(2 * time.Second)
			switch {
			case tc.wantErr == "" && (err != nil || got != body):
				t.Fatalf("got %d bytes, %v; want the whole answer", len(got), err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %d bytes, %v; want an error with %q", len(got), err, tc.wantErr)
			case took < tc.atLeast:
				t.Errorf("answered in %s, want at least %s", took, tc.atLeast)
			}
		})
	}
}
