package sources

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promconfig "github.com/prometheus/common/config"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

const oneSample = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"4"]}]}}`

var testTime = time.Unix(1_700_000_000, 0)

// connCounter counts the connections a net/http server accepted.
func connCounter(srv *httptest.Server) *atomic.Int64 {
	var n atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

// plainPrometheus is a source on srv that must be using plainTransport.
func plainPrometheus(t *testing.T, url string) *Prometheus {
	t.Helper()
	p, err := NewPrometheus(PrometheusConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.client.Transport.(*plainTransport); !ok || !p.plain {
		t.Fatalf("transport %T, want the plain transport for %s", p.client.Transport, url)
	}
	return p
}

func wantValue(t *testing.T, p *Prometheus, what string) {
	t.Helper()
	s, err := p.Query(context.Background(), "up", testTime)
	if err != nil || s.Value != 4 {
		t.Fatalf("%s: %v %v, want 4", what, s, err)
	}
}

// Queries one after the other share one connection, whether the answer has
// a length or comes in chunks; a server's Connection: close is obeyed.
func TestPlainTransportKeepsConnectionsAlive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     http.HandlerFunc
		conns int64
	}{
		{"content-length", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, oneSample) }, 1},
		{"chunked", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, oneSample[:40])
			w.(http.Flusher).Flush()
			io.WriteString(w, oneSample[40:])
		}, 1},
		{"connection close", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, oneSample)
		}, 5},
		{"http/1.0", func(w http.ResponseWriter, _ *http.Request) {
			c, bw, _ := w.(http.Hijacker).Hijack()
			defer c.Close()
			fmt.Fprintf(bw, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n%s", oneSample)
			bw.Flush()
		}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			var chunked atomic.Bool
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tc.h(w, r)
			}))
			conns := connCounter(srv)
			srv.Start()
			defer srv.Close()
			p := plainPrometheus(t, srv.URL)
			pt := p.client.Transport.(*plainTransport)
			p.client.Transport = observe(p.client.Transport, func(r *http.Response) {
				chunked.Store(len(r.TransferEncoding) > 0)
			})
			for i := range 5 {
				wantValue(t, p, fmt.Sprint("query ", i))
				want := 0 // a connection per query: none kept
				if tc.conns == 1 {
					want = 1
				}
				if idle := pt.idleCount(); idle != want {
					t.Errorf("after query %d: %d connections kept, want %d", i, idle, want)
				}
			}
			if conns.Load() != tc.conns || requests.Load() != 5 {
				t.Errorf("5 queries took %d connections and %d requests, want %d and 5", conns.Load(), requests.Load(), tc.conns)
			}
			if chunked.Load() != (tc.name == "chunked") {
				t.Errorf("chunked answer: %v", chunked.Load())
			}
		})
	}
}

func (t *plainTransport) idleCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, cs := range t.idle {
		n += len(cs)
	}
	return n
}

type observed struct {
	rt http.RoundTripper
	f  func(*http.Response)
}

func (o observed) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.rt.RoundTrip(r)
	if err == nil {
		o.f(resp)
	}
	return resp, err
}

func observe(rt http.RoundTripper, f func(*http.Response)) http.RoundTripper { return observed{rt, f} }

// A kept connection the server closed while it was idle: the query is sent
// once more on a new connection and succeeds. A server that closes every
// connection without answering gets the query twice on a kept connection
// (the retry) and once on a new one, and the signal fails.
func TestPlainTransportRetriesOnceOnAClosedIdleConnection(t *testing.T) {
	var requests atomic.Int64
	var answer atomic.Bool
	answer.Store(true)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		if !answer.Load() {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		io.WriteString(w, oneSample)
	}))
	conns := connCounter(srv)
	srv.Start()
	defer srv.Close()
	p := plainPrometheus(t, srv.URL)

	wantValue(t, p, "first query")
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond) // the close reaches the client's socket
	wantValue(t, p, "query on a connection the server closed")
	if conns.Load() != 2 || requests.Load() != 2 {
		t.Errorf("%d connections, %d requests; want 2 and 2", conns.Load(), requests.Load())
	}

	answer.Store(false)
	requests.Store(0)
	if _, err := p.Query(context.Background(), "up", testTime); scaling.KindOf(err) != scaling.FailureQuery {
		t.Errorf("closed without an answer: %v, want a query error", err)
	}
	if requests.Load() != 2 {
		t.Errorf("a kept connection closed without an answer: %d requests, want 2 (one retry)", requests.Load())
	}
	requests.Store(0)
	if _, err := p.Query(context.Background(), "up", testTime); scaling.KindOf(err) != scaling.FailureQuery {
		t.Errorf("closed without an answer: %v, want a query error", err)
	}
	if requests.Load() != 1 {
		t.Errorf("a new connection closed without an answer: %d requests, want 1 (no retry)", requests.Load())
	}
}

// rawServer answers each request on a connection with what answer writes;
// answer returning false closes the connection. It counts connections.
func rawServer(t *testing.T, answer func(c net.Conn, n int) bool) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if !answer(c, n) {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

func head(length int) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n"
}

// A body shorter than announced, or chunks cut short, fail the signal, and
// the connection is not used again; an answer followed by bytes nobody asked
// for is used, and its connection is not kept.
func TestPlainTransportBrokenAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string
		ok     bool
	}{
		{"shorter than its length", head(len(oneSample)) + oneSample[:50], false},
		{"chunks cut short", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(oneSample)), 16) + "\r\n" + oneSample[:50], false},
		{"bytes after the answer", head(len(oneSample)) + oneSample + "HTTP/1.1 200 OK\r\n", true},
		{"no status line", "hello\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, conns := rawServer(t, func(c net.Conn, n int) bool {
				io.WriteString(c, tc.answer)
				return tc.ok // the broken answers end with the connection
			})
			p := plainPrometheus(t, url)
			for i := range 2 {
				s, err := p.Query(context.Background(), "up", testTime)
				if tc.ok != (err == nil) || (tc.ok && s.Value != 4) {
					t.Fatalf("query %d: %v %v, want ok=%v", i, s, err, tc.ok)
				}
				if err != nil && scaling.KindOf(err) != scaling.FailureQuery {
					t.Errorf("query %d: kind %q (%v), want query_error", i, scaling.KindOf(err), err)
				}
			}
			if conns.Load() != 2 {
				t.Errorf("2 queries took %d connections, want 2: the connection was used again", conns.Load())
			}
		})
	}
}

// The context's deadline and cancellation end a query that waits for its
// answer or for the rest of it, as a timeout, at once.
func TestPlainTransportDeadlineAndCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.FormValue("query") {
		case "midway":
			w.Header().Set("Content-Length", strconv.Itoa(len(oneSample)))
			io.WriteString(w, oneSample[:50])
			w.(http.Flusher).Flush()
		case "headers":
		default:
			io.WriteString(w, oneSample)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(5 * time.Second): // a client that does not give up fails, not hangs
		}
	}))
	defer srv.Close()
	p := plainPrometheus(t, srv.URL)
	for _, query := range []string{"headers", "midway"} {
		for _, how := range []string{"deadline", "cancel"} {
			t.Run(query+"/"+how, func(t *testing.T) {
				var ctx context.Context
				var cancel context.CancelFunc
				if how == "deadline" {
					ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
				} else {
					ctx, cancel = context.WithCancel(context.Background())
					time.AfterFunc(200*time.Millisecond, cancel)
				}
				defer cancel()
				start := time.Now()
				_, err := p.Query(ctx, query, testTime)
				if k := scaling.KindOf(err); k != scaling.FailureTimeout {
					t.Errorf("kind %q (%v), want timeout", k, err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("returned after %s, want about 200ms", d)
				}
			})
		}
	}
	// The connections those ended are not used again: a query still works.
	wantValue(t, p, "after the timeouts")
}

// Headers that never end are refused at a bound, not read forever.
func TestPlainTransportBoundsTheHeaders(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, _ int) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Pad: " + strings.Repeat("x", 1000) + "\r\n"
		for range 2 << 10 {
			if _, err := io.WriteString(c, line); err != nil {
				return false
			}
		}
		return false
	})
	p := plainPrometheus(t, url)
	_, err := p.Query(context.Background(), "up", testTime)
	if scaling.KindOf(err) != scaling.FailureQuery || !strings.Contains(err.Error(), "longer than 1 MiB") {
		t.Errorf("%v, want a query error naming the bound", err)
	}
}

// Connections idle for the idle timeout are closed.
func TestPlainTransportClosesIdleConnections(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, oneSample) }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	defer srv.Close()
	p := plainPrometheus(t, srv.URL)
	p.client.Transport.(*plainTransport).idleTimeout = 100 * time.Millisecond
	wantValue(t, p, "query")
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the idle connection was still open after 5s, idle timeout 100ms")
	}
	wantValue(t, p, "query after the idle connection closed")
}

// The headers prometheus/common's client sends (authorization, basic auth,
// http_headers from values and files, its user agent) are the ones the
// plain transport sends, with the same request line and body.
func TestPlainTransportSendsWhatNetHTTPSends(t *testing.T) {
	type seen struct {
		Method, URI, Host, Body string
		Header                  http.Header
	}
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.RequestURI, r.Host, string(b), r.Header})
		mu.Unlock()
		if r.Method == http.MethodPost && strings.Contains(string(b), "get=1") {
			w.WriteHeader(http.StatusMethodNotAllowed) // sent again as a GET
			return
		}
		io.WriteString(w, oneSample)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("from-a-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	configs := map[string]promconfig.HTTPClientConfig{
		"none":          {},
		"basic auth":    {BasicAuth: &promconfig.BasicAuth{Username: "u", PasswordFile: file}},
		"authorization": {Authorization: &promconfig.Authorization{Type: "Token", Credentials: "secret"}},
		"bearer file":   {BearerTokenFile: file},
		"headers": {HTTPHeaders: &promconfig.Headers{Headers: map[string]promconfig.Header{
			"X-Scope-OrgID": {Values: []string{"tenant-1"}},
			"X-Multi":       {Values: []string{"a", "b"}, Secrets: []promconfig.Secret{"s"}, Files: []string{file}},
		}}},
	}
	for name, hc := range configs {
		for _, u := range []string{srv.URL + "/prom", srv.URL + "/prom?get=1"} {
			cfg := PrometheusConfig{URL: u, HTTP: hc, QueryTimeout: time.Second}
			plain, err := NewPrometheus(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !plain.plain {
				t.Fatalf("%s: the plain transport is not used", name)
			}
			viaNetHTTP, err := NewPrometheus(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c, err := promconfig.NewClientFromConfig(cfg.HTTP, "scaled")
			if err != nil {
				t.Fatal(err)
			}
			viaNetHTTP.client = c
			var answers [2][]seen
			for i, p := range []*Prometheus{plain, viaNetHTTP} {
				mu.Lock()
				got = nil
				mu.Unlock()
				if s, err := p.Query(context.Background(), `sum(rate(x{a="b c"}[5m]))`, testTime); err != nil || s.Value != 4 {
					t.Fatalf("%s %s: %v %v", name, u, s, err)
				}
				mu.Lock()
				answers[i] = got
				mu.Unlock()
			}
			if diff := cmp.Diff(answers[1], answers[0]); diff != "" {
				t.Errorf("%s %s: what the server saw (-net/http +plain):\n%s", name, u, diff)
			}
		}
	}
}

// What needs net/http's Transport keeps it: https, a proxy, redirects
// followed, OAuth 2. A proxy from the environment that does not apply to
// the URL (no_proxy) does not.
func TestPlainTransportOnlyWhereItIsTheSame(t *testing.T) {
	proxy, _ := url.Parse("http://proxy.example:3128")
	t.Setenv("HTTP_PROXY", "http://proxy.example:3128")
	t.Setenv("NO_PROXY", "direct.example")
	for _, tc := range []struct {
		url   string
		cfg   promconfig.HTTPClientConfig
		plain bool
	}{
		{"http://prometheus.example:9090", promconfig.HTTPClientConfig{}, true},
		{"http://prometheus.example:9090", promconfig.HTTPClientConfig{BasicAuth: &promconfig.BasicAuth{Username: "u", Password: "p"}}, true},
		{"https://prometheus.example:9090", promconfig.HTTPClientConfig{}, false},
		{"http://prometheus.example:9090", promconfig.HTTPClientConfig{FollowRedirects: true}, false},
		{"http://prometheus.example:9090", promconfig.HTTPClientConfig{ProxyConfig: promconfig.ProxyConfig{ProxyURL: promconfig.URL{URL: proxy}}}, false},
		{"http://prometheus.example:9090", promconfig.HTTPClientConfig{ProxyConfig: promconfig.ProxyConfig{ProxyURL: promconfig.URL{URL: proxy}, NoProxy: "prometheus.example"}}, true},
		{"http://prometheus.example:9090", promconfig.HTTPClientConfig{ProxyConfig: promconfig.ProxyConfig{ProxyFromEnvironment: true}}, false},
		{"http://direct.example:9090", promconfig.HTTPClientConfig{ProxyConfig: promconfig.ProxyConfig{ProxyFromEnvironment: true}}, true},
		{"http://prometheus.example:9090", promconfig.HTTPClientConfig{OAuth2: &promconfig.OAuth2{ClientID: "c", ClientSecret: "s", TokenURL: "http://t.example"}}, false},
	} {
		p, err := NewPrometheus(PrometheusConfig{URL: tc.url, HTTP: tc.cfg})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.plain; got != tc.plain {
			t.Errorf("%s %+v: plain transport %v, want %v", tc.url, tc.cfg, got, tc.plain)
		}
	}
}
