package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

func testHandler(t *testing.T, ready func() error) (http.Handler, *DecisionLog) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.SetScalers(2)
	m.ObserveDecision(decision())
	l := NewDecisionLog(5)
	for i := range 7 {
		l.Add(scaling.Decision{Scaler: "web", Desired: int32(i), Time: t0.Add(time.Duration(i) * time.Minute), Outcome: scaling.OutcomeApplied})
	}
	l.Track("api")
	return NewHandler(reg, l, ready, nil), l
}

func do(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHealthAndReadiness(t *testing.T) {
	var readyErr error
	h, _ := testHandler(t, func() error { return readyErr })

	tests := []struct {
		name       string
		method     string
		path       string
		readyErr   error
		wantStatus int
		wantBody   string
	}{
		{"healthz", http.MethodGet, "/healthz", nil, http.StatusOK, "ok\n"},
		{"healthz while not ready", http.MethodGet, "/healthz", errors.New("config not loaded"), http.StatusOK, "ok\n"},
		{"readyz ready", http.MethodGet, "/readyz", nil, http.StatusOK, "ok\n"},
		{"readyz not ready", http.MethodGet, "/readyz", errors.New("config not loaded"), http.StatusServiceUnavailable, "not ready: config not loaded\n"},
		{"readyz POST", http.MethodPost, "/readyz", nil, http.StatusMethodNotAllowed, ""},
		{"unknown path", http.MethodGet, "/nope", nil, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readyErr = tt.readyErr
			rec := do(t, h, tt.method, tt.path, nil)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", rec.Body.String(), tt.wantBody)
			}
		})
	}
}

func TestMetricsEndpoint(t *testing.T) {
	h, _ := testHandler(t, nil)

	rec := do(t, h, http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	for _, line := range []string{
		"scaled_scalers 2",
		`scaled_desired_replicas{scaler="web"} 6`,
		`scaled_signal_value{scaler="web",signal="rps"} 1250.5`,
	} {
		if !strings.Contains(rec.Body.String(), line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}

	om := do(t, h, http.MethodGet, "/metrics", http.Header{"Accept": {"application/openmetrics-text; version=1.0.0"}})
	if ct := om.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("Content-Type for an OpenMetrics client = %q, want application/openmetrics-text", ct)
	}
	if !strings.HasSuffix(om.Body.String(), "# EOF\n") {
		t.Error("OpenMetrics body does not end with # EOF")
	}
}

func TestDecisionsAPI(t *testing.T) {
	h, _ := testHandler(t, nil)

	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		want       any // decoded into the same type and compared
		wantErr    []string
	}{
		{
			name: "list scalers", method: http.MethodGet, target: "/api/v1/decisions",
			wantStatus: http.StatusOK, want: &ScalersResponse{Scalers: []string{"api", "web"}},
		},
		{
			name: "newest first, all kept", method: http.MethodGet, target: "/api/v1/decisions?scaler=web",
			wantStatus: http.StatusOK, want: &DecisionsResponse{Scaler: "web", Decisions: decisionsDesired("web", 6, 5, 4, 3, 2)},
		},
		{
			name: "limit", method: http.MethodGet, target: "/api/v1/decisions?scaler=web&limit=2",
			wantStatus: http.StatusOK, want: &DecisionsResponse{Scaler: "web", Decisions: decisionsDesired("web", 6, 5)},
		},
		{
			name: "limit above history", method: http.MethodGet, target: "/api/v1/decisions?scaler=web&limit=500",
			wantStatus: http.StatusOK, want: &DecisionsResponse{Scaler: "web", Decisions: decisionsDesired("web", 6, 5, 4, 3, 2)},
		},
		{
			name: "tracked scaler without decisions", method: http.MethodGet, target: "/api/v1/decisions?scaler=api",
			wantStatus: http.StatusOK, want: &DecisionsResponse{Scaler: "api", Decisions: []scaling.Decision{}},
		},
		{
			name: "unknown scaler", method: http.MethodGet, target: "/api/v1/decisions?scaler=nope",
			wantStatus: http.StatusNotFound, wantErr: []string{"scaler", `"nope"`, "unknown"},
		},
		{
			name: "limit not a number", method: http.MethodGet, target: "/api/v1/decisions?scaler=web&limit=ten",
			wantStatus: http.StatusBadRequest, wantErr: []string{"limit", `"ten"`, ">= 1", "5"},
		},
		{
			name: "limit zero", method: http.MethodGet, target: "/api/v1/decisions?scaler=web&limit=0",
			wantStatus: http.StatusBadRequest, wantErr: []string{"limit", `"0"`, ">= 1"},
		},
		{
			name: "limit empty", method: http.MethodGet, target: "/api/v1/decisions?limit=",
			wantStatus: http.StatusBadRequest, wantErr: []string{"limit", `""`},
		},
		{
			name: "POST", method: http.MethodPost, target: "/api/v1/decisions?scaler=web",
			wantStatus: http.StatusMethodNotAllowed, wantErr: []string{"POST", "GET"},
		},
		{
			name: "DELETE", method: http.MethodDelete, target: "/api/v1/decisions",
			wantStatus: http.StatusMethodNotAllowed, wantErr: []string{"DELETE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, h, tt.method, tt.target, nil)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if tt.wantStatus == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
			if tt.want != nil {
				got := newLike(tt.want)
				if err := json.Unmarshal(rec.Body.Bytes(), got); err != nil {
					t.Fatalf("decode %s: %v", rec.Body, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			var e ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("decode error body %s: %v", rec.Body, err)
			}
			for _, part := range tt.wantErr {
				if !strings.Contains(e.Error, part) {
					t.Errorf("error %q does not mention %q", e.Error, part)
				}
			}
		})
	}
}

func TestDecisionsAPIJSONShape(t *testing.T) {
	h, _ := testHandler(t, nil)
	rec := do(t, h, http.MethodGet, "/api/v1/decisions?scaler=web&limit=1", nil)
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["scaler"] != "web" {
		t.Errorf(`"scaler" = %v, want "web"`, raw["scaler"])
	}
	ds, ok := raw["decisions"].([]any)
	if !ok || len(ds) != 1 {
		t.Fatalf(`"decisions" = %v, want a list of one`, raw["decisions"])
	}
	d := ds[0].(map[string]any)
	for _, key := range []string{"scaler", "time", "desired", "current", "direction", "outcome", "dry_run"} {
		if _, ok := d[key]; !ok {
			t.Errorf("decision lacks %q: %v", key, d)
		}
	}
	if d["time"] != "2026-03-01T12:06:00Z" {
		t.Errorf(`"time" = %v, want the newest decision's RFC 3339 time`, d["time"])
	}

	empty := do(t, NewHandler(nil, NewDecisionLog(1), nil, nil), http.MethodGet, "/api/v1/decisions", nil)
	if got := strings.Join(strings.Fields(empty.Body.String()), ""); got != `{"scalers":[]}` {
		t.Errorf("no scalers: body %s, want an empty list, not null", got)
	}
}

func TestServerListensAndShutsDown(t *testing.T) {
	ready := errors.New("warming up")
	s := NewServer("127.0.0.1:0", prometheus.NewRegistry(), NewDecisionLog(3), func() error { return ready }, nil)
	if s.Addr() != "" {
		t.Errorf("Addr before Start = %q, want empty", s.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- s.Serve(ctx) }()

	base := "http://" + s.Addr()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "warming up") {
		t.Errorf("/readyz = %d %q, want 503 naming the reason", code, body)
	}
	if err := s.Start(); err == nil {
		t.Error("second Start did not fail")
	}

	cancel()
	serveReturnsNil(t, done, "its context ended")
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestServerBindError(t *testing.T) {
	s := NewServer("127.0.0.1:0", nil, nil, nil, nil)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	taken := NewServer(s.Addr(), nil, nil, nil, nil)
	err := taken.Serve(context.Background())
	if err == nil || !strings.Contains(err.Error(), s.Addr()) {
		t.Errorf("Serve on a taken address = %v, want an error naming %s", err, s.Addr())
	}
}

func decisionsDesired(scaler string, desired ...int32) []scaling.Decision {
	out := make([]scaling.Decision, 0, len(desired))
	for _, d := range desired {
		out = append(out, scaling.Decision{Scaler: scaler, Desired: d, Time: t0.Add(time.Duration(d) * time.Minute), Outcome: scaling.OutcomeApplied})
	}
	return out
}

// newLike returns a new zero value of the pointer type of v.
func newLike(v any) any {
	switch v.(type) {
	case *ScalersResponse:
		return &ScalersResponse{}
	case *DecisionsResponse:
		return &DecisionsResponse{}
	}
	panic("newLike: unexpected type")
}

func TestServerReportsAServeFailure(t *testing.T) {
	s := NewServer("127.0.0.1:0", nil, nil, nil, nil)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	s.ln.Close() // the listener dies under the server, as on a broken socket
	select {
	case err := <-s.Err():
		if err == nil {
			t.Error("Err delivered nil, want the error that stopped serving")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Err delivered nothing after the listener closed")
	}
}

func TestServeReturnsNilOnShutdown(t *testing.T) {
	s := NewServer("127.0.0.1:0", nil, nil, nil, nil)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	serveReturnsNil(t, done, "Shutdown")
	select {
	case err := <-s.Err():
		t.Errorf("Err delivered %v after Shutdown, want nothing", err)
	default:
	}
}

// serveReturnsNil waits for Serve, started with done for its result, to
// return nil after what ended it.
func serveReturnsNil(t *testing.T, done <-chan error, after string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v after %s, want nil", err, after)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Serve did not return after %s", after)
	}
}
