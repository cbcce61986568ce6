package telemetry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaled-dev/scaled/internal/testcert"
)

func startServer(t *testing.T, opts ...ServerOption) *Server {
	t.Helper()
	s := NewServer("127.0.0.1:0", prometheus.NewRegistry(), NewDecisionLog(3), nil, nil, opts...)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /healthz fails while a scaler's loop is stuck, so that a liveness probe
// restarts a process that no longer scales.
func TestHealthzFollowsLiveness(t *testing.T) {
	var live error
	s := startServer(t, WithLiveness(func() error { return live }))
	if code, _ := get(t, http.DefaultClient, "http://"+s.Addr()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while live = %d", code)
	}
	live = errors.New("scaler loops stuck: web (no tick finished for 46s, interval 15s)")
	code, body := get(t, http.DefaultClient, "http://"+s.Addr()+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "web (no tick finished") {
		t.Errorf("/healthz while stuck = %d %q, want 503 naming the scaler", code, body)
	}
}

func TestDecisionsAPICanBeTurnedOff(t *testing.T) {
	s := startServer(t, WithoutDecisionsAPI())
	for _, path := range []string{"/api/v1/decisions", "/api/v1/decisions?scaler=web"} {
		code, body := get(t, http.DefaultClient, "http://"+s.Addr()+path)
		if code != http.StatusNotFound || !strings.Contains(body, "turned off") || strings.Contains(body, "scalers") {
			t.Errorf("%s = %d %q, want 404 and nothing about scalers", path, code, body)
		}
	}
	if code, _ := get(t, http.DefaultClient, "http://"+s.Addr()+"/metrics"); code != http.StatusOK {
		t.Errorf("/metrics = %d with the decisions API off", code)
	}
}

// Runtime profiles are served only when asked for: they are off by default.
func TestPprofIsOffByDefault(t *testing.T) {
	s := startServer(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"} {
		if code, _ := get(t, http.DefaultClient, "http://"+s.Addr()+path); code != http.StatusNotFound {
			t.Errorf("%s without WithPprof = %d, want 404", path, code)
		}
	}
}

func TestPprofServesProfiles(t *testing.T) {
	s := startServer(t, WithPprof())
	code, body := get(t, http.DefaultClient, "http://"+s.Addr()+"/debug/pprof/goroutine?debug=1")
	if code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("/debug/pprof/goroutine?debug=1 = %d %.200q, want 200 and a goroutine profile", code, body)
	}
	code, body = get(t, http.DefaultClient, "http://"+s.Addr()+"/debug/pprof/heap?debug=1")
	if code != http.StatusOK || !strings.Contains(body, "heap profile:") {
		t.Errorf("/debug/pprof/heap?debug=1 = %d %.200q, want 200 and a heap profile", code, body)
	}
	if code, _ := get(t, http.DefaultClient, "http://"+s.Addr()+"/metrics"); code != http.StatusOK {
		t.Errorf("/metrics = %d with profiles on", code)
	}
}

// An idle keep-alive connection is closed by the server, so that
// connections nobody uses do not hold file descriptors for ever.
func TestIdleConnectionsAreClosed(t *testing.T) {
	s := NewServer("127.0.0.1:0", nil, nil, nil, nil)
	if s.srv.IdleTimeout != IdleTimeout || s.srv.ReadHeaderTimeout != ReadHeaderTimeout || IdleTimeout <= 0 {
		t.Fatalf("server timeouts: idle %s, read header %s", s.srv.IdleTimeout, s.srv.ReadHeaderTimeout)
	}
	s.srv.IdleTimeout = 200 * time.Millisecond // the test's own, to wait less
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c) // returns when the server closes the idle connection
	if err != nil {
		t.Fatalf("read: %v (the server kept the idle connection open)", err)
	}
	if !strings.HasPrefix(string(got), "HTTP/1.1 200") {
		t.Errorf("answer %q", got)
	}
}

// keepAlive opens a connection, makes one request on it and leaves it open
// and idle, as an HTTP client's pool does.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := c.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "ok") {
		t.Fatalf("keep-alive request: %q, %v", buf[:n], err)
	}
	return c
}

// closed reports whether the server closed c.
func closed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, os.ErrDeadlineExceeded))
}

// At the connection cap, a new client takes the place of a connection that
// sits idle (kept alive, or open without a request): idle connections
// cannot keep a probe out.
func TestConnectionCapEvictsIdleConnections(t *testing.T) {
	s := startServer(t, WithMaxConnections(2))
	idle := keepAlive(t, s.Addr())
	defer idle.Close()
	silent, err := net.Dial("tcp", s.Addr()) // connected, never sends a request
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(idleGrace + 100*time.Millisecond) // the silent one counts as idle after this grace

	// Two new clients, each kept alive: each takes the place of an old one.
	first, second := keepAlive(t, s.Addr()), keepAlive(t, s.Addr())
	defer first.Close()
	defer second.Close()
	if !closed(idle) || !closed(silent) {
		t.Error("the idle connections were not closed to make room")
	}
}

// blockingCollector holds /metrics until released, and says when it is held.
type blockingCollector struct{ entered, release chan struct{} }

func (blockingCollector) Describe(chan<- *prometheus.Desc) {} // unchecked

func (g blockingCollector) Collect(chan<- prometheus.Metric) {
	g.entered <- struct{}{}
	<-g.release
}

// When every connection is busy, a new one is refused at once rather than
// queued behind them.
func TestConnectionCapRefusesWhenAllAreBusy(t *testing.T) {
	g := blockingCollector{entered: make(chan struct{}), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(g)
	s := NewServer("127.0.0.1:0", reg, nil, nil, nil, WithMaxConnections(2))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	done := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := http.Get("http://" + s.Addr() + "/metrics")
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		<-g.entered // this scrape is in its handler: busy
	}
	_, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + s.Addr() + "/healthz")
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("a third connection while two are busy: %v, want it refused at once", err)
	}
	close(g.release)
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("a busy request failed: %v", err)
		}
	}
}

func TestMaxConnectionsFollowsTheDescriptorLimit(t *testing.T) {
	if n := MaxConnections(); n < 8 || n > DefaultMaxConnections {
		t.Errorf("MaxConnections() = %d, want between 8 and %d", n, DefaultMaxConnections)
	}
}

// TLS and basic auth through the exporter-toolkit web configuration: plain
// HTTP and a missing or wrong password are refused, the right one is served.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certPEM := writeSelfSigned(t, dir)
	// bcrypt of "s3cret" at the lowest cost, so that the test runs fast (htpasswd -nBC 4).
	cfg := "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n" +
		"basic_auth_users:\n  alice: $2a$04$j68owHmw/wxDdVMzdgqt7uWKm.lWFYRgmG6zAlhmR5yE7fFMWliPq\n"
	path := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, WithWebConfig(path))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	tlsClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	if resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + s.Addr() + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served /metrics on a TLS server")
		}
	}
	if code, _ := get(t, tlsClient, "https://"+s.Addr()+"/metrics"); code != http.StatusUnauthorized {
		t.Errorf("/metrics without a password = %d, want 401", code)
	}
	for _, tc := range []struct {
		user, pass string
		want       int
	}{{"alice", "wrong", http.StatusUnauthorized}, {"mallory", "s3cret", http.StatusUnauthorized}, {"alice", "s3cret", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+s.Addr()+"/api/v1/decisions", nil)
		req.SetBasicAuth(tc.user, tc.pass)
		resp, err := tlsClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s:%s = %d, want %d", tc.user, tc.pass, resp.StatusCode, tc.want)
		}
	}
}

func TestInvalidWebConfigFailsStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(path, []byte("tls_server_config:\n  cert_file: nosuch.pem\n  key_file: nosuch.key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewServer("127.0.0.1:0", nil, nil, nil, nil, WithWebConfig(path))
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "web config") {
		_ = s.Shutdown(context.Background())
		t.Fatalf("Start with a web config naming missing files = %v, want an error", err)
	}
}

// writeSelfSigned writes cert.pem and key.pem for 127.0.0.1 into dir and
// returns the certificate.
func writeSelfSigned(t *testing.T, dir string) []byte {
	t.Helper()
	certPEM, keyPEM, err := testcert.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

// A flood of new connections that send nothing, arriving faster than the
// idle grace lets any of them count as idle, does not keep a probe out:
// each new connection takes the place of the oldest that has sent no
// request, and the probe, which sends its request at once, is answered.
// (At the cap, such a flood made half of the probes fail.)
func TestAConnectionFloodDoesNotFailTheProbe(t *testing.T) {
	s := startServer(t, WithMaxConnections(16))
	stop := make(chan struct{})
	flooded := make(chan int)
	go func() {
		n := 0
		var open []net.Conn
		defer func() {
			for _, c := range open {
				_ = c.Close()
			}
			flooded <- n
		}()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				c, err := net.Dial("tcp", s.Addr())
				if err != nil {
					continue
				}
				n++
				open = append(open, c)
				if len(open) > 64 { // the flood's own descriptors stay bounded
					_ = open[0].Close()
					open = open[1:]
				}
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the cap is full of young, silent connections
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	failed := 0
	const probes = 40
	for range probes {
		resp, err := probe.Get("http://" + s.Addr() + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			failed++
		}
		if err == nil {
			resp.Body.Close()
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	n := <-flooded
	t.Logf("%d of %d probes failed among %d flood connections", failed, probes, n)
	if failed > 0 {
		t.Errorf("%d of %d probes failed during the flood", failed, probes)
	}
}
