package telemetry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// With the connection cap reached, another client waits; it is served once
// a connection closes.
func TestConnectionCap(t *testing.T) {
	s := startServer(t, WithMaxConnections(2))
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	// The two idle connections hold both slots: the server does not read a
	// third client's request.
	c := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := c.Get("http://" + s.Addr() + "/healthz"); err == nil {
		t.Fatal("a third connection was served beyond the cap of 2")
	}
	idle[0].Close()
	c.Timeout = 30 * time.Second
	if code, _ := get(t, c, "http://"+s.Addr()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after a slot freed = %d", code)
	}
	idle[1].Close()
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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "scaled-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}
