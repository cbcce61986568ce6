// Package promtest runs a real Prometheus server for tests (or
// VictoriaMetrics single-node, with the same shape: StartBackend): its own
// config and data directory on a free loopback port, scraping an exporter
// inside the test every second, optionally with backfilled history. It never starts
// anything outside the test's temp directories and stops what it started.
package promtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"

	"github.com/scaled-dev/scaled/internal/freeport"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Binary is the Prometheus the harness runs (Debian's prometheus package,
// 2.42; see hack/prometheus/install.sh). promtool is taken from the same
// directory.
const Binary = "/usr/bin/prometheus"

// RequireEnv, when set to anything, makes a missing Prometheus a test
// failure instead of a skip (CI sets it).
const RequireEnv = "SCALED_REQUIRE_PROMETHEUS"

// ScrapeInterval is how often Prometheus scrapes the test's exporter. The
// first scrape lands about 5s after start (and after Restart): Prometheus
// applies new scrape targets at most every 5s.
const ScrapeInterval = time.Second

// Job is the job label Prometheus gives the exporter's series.
const Job = "test"

// Server is a running Prometheus and the exporter it scrapes.
type Server struct {
	t       testing.TB
	backend Backend
	flags   []string
	bin     string
	dir     string
	dataDir string
	addr    string
	logPath string

	exporter *httptest.Server
	reg      *prometheus.Registry
	api      promv1.API

	mu     sync.Mutex
	gauges map[string]*prometheus.GaugeVec
	cmd    *exec.Cmd
	exited chan struct{}
}

type options struct {
	openMetrics []string
	targets     []scrapeTarget
	flags       []string
}

type scrapeTarget struct{ job, addr string }

// Option configures Start.
type Option func(*options)

// WithOpenMetrics backfills text (OpenMetrics, ending in "# EOF") into the
// data directory before Prometheus starts, with promtool and 24h blocks.
// Prometheus runs with a 100y retention so old blocks are kept.
func WithOpenMetrics(text string) Option {
	return func(o *options) { o.openMetrics = append(o.openMetrics, text) }
}

// WithTarget makes Prometheus also scrape addr (host:port, /metrics) every
// ScrapeInterval, as job: a scaled process under test, for instance.
func WithTarget(job, addr string) Option {
	return func(o *options) { o.targets = append(o.targets, scrapeTarget{job, addr}) }
}

// WithFlags adds command-line flags to the server's own (for instance
// VictoriaMetrics' -search.maxResponseSeries=1000).
func WithFlags(flags ...string) Option {
	return func(o *options) { o.flags = append(o.flags, flags...) }
}

// WithHistory backfills a gauge's recorded samples (see GaugeHistory).
func WithHistory(name string, labels map[string]string, samples []scaling.Sample) Option {
	return WithOpenMetrics(GaugeHistory(name, labels, samples))
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// GaugeHistory renders samples of one gauge series as OpenMetrics text.
func GaugeHistory(name string, labels map[string]string, samples []scaling.Sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE %s gauge\n", name)
	series := name
	if len(labels) > 0 {
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + `="` + labelEscaper.Replace(labels[k]) + `"`
		}
		series += "{" + strings.Join(parts, ",") + "}"
	}
	for _, s := range samples {
		ts := strconv.FormatFloat(float64(s.Time.UnixMilli())/1000, 'f', -1, 64)
		fmt.Fprintf(&b, "%s %s %s\n", series, strconv.FormatFloat(s.Value, 'g', -1, 64), ts)
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// Start runs Prometheus for the test and stops it at cleanup, or the back
// end BackendEnv names (make test-victoriametrics runs every suite against
// VictoriaMetrics this way). Without the binary the test is skipped, or fails
// when the back end's RequireEnv is set.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	b := Selected(t)
	if b != Prometheus {
		t.Logf("%s=%s: running %s in place of Prometheus", BackendEnv, b, b)
	}
	return StartBackend(t, b, opts...)
}

// StartBackend runs the given back end for the test, as Start does
// Prometheus: scraping the test's exporter every ScrapeInterval, with the
// same options and methods. Without its binary the test is skipped, or fails
// when the back end's RequireEnv is set.
func StartBackend(t testing.TB, b Backend, opts ...Option) *Server {
	t.Helper()
	bin := b.binary()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(b.requireEnv()) != "" {
			t.Fatalf("%s: %s not found and %s is set: run %s", b, bin, b.requireEnv(), b.install())
		}
		t.Skipf("%s: %s not found (run %s; set %s=1 to fail instead of skip)", b, bin, b.install(), b.requireEnv())
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir := t.TempDir()
	s := &Server{
		t: t, backend: b, flags: o.flags, bin: bin, dir: dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, string(b)+".log"),
		reg:     prometheus.NewRegistry(),
		gauges:  map[string]*prometheus.GaugeVec{},
	}
	s.exporter = httptest.NewServer(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	t.Cleanup(s.exporter.Close)

	if b == Prometheus {
		for i, text := range o.openMetrics {
			s.backfill(fmt.Sprintf("history-%d.om", i), text)
		}
	}
	evaluation := ""
	if b == Prometheus {
		evaluation = "\n  evaluation_interval: " + model.Duration(ScrapeInterval).String()
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s%[4]s
scrape_configs:
  - job_name: %[2]s
    static_configs:
      - targets: [%[3]q]
`, model.Duration(ScrapeInterval), Job, s.exporter.Listener.Addr().String(), evaluation)
	for _, tg := range o.targets {
		cfg += fmt.Sprintf("  - job_name: %s\n    static_configs:\n      - targets: [%q]\n", tg.job, tg.addr)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	// A free port can be taken between probing and binding: try a few.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		s.addr, err = freeport.Addr()
		if err != nil {
			t.Fatal(err)
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("%s did not start: %v\n%s", b, err, s.logTail())
	}
	t.Cleanup(s.Stop)
	if b == VictoriaMetrics {
		for _, text := range o.openMetrics {
			s.importText(text)
		}
	}
	c, err := api.NewClient(api.Config{Address: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	s.api = promv1.NewAPI(c)
	return s
}

func (s *Server) backfill(name, text string) {
	s.t.Helper()
	path := filepath.Join(s.dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
	promtool := filepath.Join(filepath.Dir(s.bin), "promtool")
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics",
		"--max-block-duration=24h", path, s.dataDir).CombinedOutput()
	if err != nil {
		s.t.Fatalf("promtool create-blocks-from openmetrics %s: %v\n%s", name, err, out)
	}
}

// start runs the binary on s.addr and waits until it is ready.
func (s *Server) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, s.backend.args(s)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("%s exited during start-up", s.backend)
		default:
		}
		resp, err := client.Get(s.URL() + s.backend.readyPath())
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("%s not ready after 30s", s.backend)
}

// URL is the base URL of Prometheus' HTTP API.
func (s *Server) URL() string { return "http://" + s.addr }

// Instance is the instance label of the exporter's series.
func (s *Server) Instance() string { return s.exporter.Listener.Addr().String() }

// API is a client of this Prometheus.
func (s *Server) API() promv1.API { return s.api }

// Gauge returns the exporter's gauge family name with the given label names,
// registering it on first use. Prometheus scrapes it every ScrapeInterval.
func (s *Server) Gauge(name string, labelNames ...string) *prometheus.GaugeVec {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.gauges[name]; ok {
		return g
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Set by the test."}, labelNames)
	s.reg.MustRegister(g)
	s.gauges[name] = g
	return g
}

// Unregister removes a gauge family from the exporter; at the next scrape
// Prometheus marks its series stale and they vanish from instant queries.
func (s *Server) Unregister(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.gauges[name]; ok {
		s.reg.Unregister(g)
		delete(s.gauges, name)
	}
}

// WaitFor polls an instant query at the current time until it returns one
// value equal to want (NaN matches NaN), and fails t after timeout.
func (s *Server) WaitFor(t testing.TB, expr string, want float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		s.flush()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, _, _, err := s.api.Query(ctx, expr, time.Now())
		cancel()
		got, ok := single(v)
		if err == nil && ok && (got == want || (math.IsNaN(want) && math.IsNaN(got))) {
			return
		}
		last = fmt.Sprintf("value %v, error %v", v, err)
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %v within %s; last: %s", expr, want, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func single(v model.Value) (float64, bool) {
	switch r := v.(type) {
	case *model.Scalar:
		return float64(r.Value), true
	case model.Vector:
		if len(r) == 1 {
			return float64(r[0].Value), true
		}
	}
	return 0, false
}

// Stop stops Prometheus (SIGTERM, then SIGKILL after 10s) and waits for it.
// The data directory and port stay, for Restart. Stopping twice is harmless.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Process.Signal(syscall.SIGCONT) // a frozen server must run to exit
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Freeze suspends Prometheus (SIGSTOP): it still accepts connections but
// answers nothing, like a server stuck under load, until Thaw. It returns
// once every thread of the process is stopped: kill returns before a busy
// multi-threaded process has stopped, and a thread still running could
// answer one more query.
func (s *Server) Freeze(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for !allStopped(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: pid %d not stopped 5s after SIGSTOP", s.backend, pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// allStopped reports whether every thread of pid is in state T (stopped),
// from /proc/PID/task/TID/stat.
func allStopped(pid int) bool {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return false
	}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		// The state follows the command name, which is in parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}

// Thaw resumes a frozen Prometheus (SIGCONT).
func (s *Server) Thaw(t testing.TB) { s.signal(t, syscall.SIGCONT) }

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		t.Fatalf("%s is not running", s.backend)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: %s: %v", s.backend, sig, err)
	}
}

// Restart starts Prometheus again on the same port with the same data, and
// fails t if it does not come up.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatalf("%s did not restart: %v\n%s", s.backend, err, s.logTail())
	}
}

// logTail is the end of Prometheus' log, for failure messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log)"
		}
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
