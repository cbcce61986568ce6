package promtest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Backend is a server with Prometheus' query API that the harness runs.
type Backend string

const (
	// Prometheus is Debian's prometheus package (2.42; hack/prometheus).
	Prometheus Backend = "prometheus"
	// VictoriaMetrics is VictoriaMetrics single-node at
	// VictoriaMetricsVersion, built by hack/victoriametrics/install.sh. It
	// scrapes the exporter itself (-promscrape.config) and takes history
	// through /api/v1/import/prometheus.
	VictoriaMetrics Backend = "victoriametrics"
)

// Backends are the back ends the source tests run against.
var Backends = []Backend{Prometheus, VictoriaMetrics}

// BackendEnv names the back end Start runs instead of Prometheus:
// "prometheus" (the default, also when empty) or "victoriametrics". make
// test-victoriametrics sets it to run every integration suite against
// VictoriaMetrics.
const BackendEnv = "SCALED_TEST_BACKEND"

// Selected is the back end BackendEnv names (Prometheus when it is unset).
// Any other value fails t, naming the variable, the value and what is
// allowed.
func Selected(t testing.TB) Backend {
	t.Helper()
	switch v := os.Getenv(BackendEnv); v {
	case "", string(Prometheus):
		return Prometheus
	case string(VictoriaMetrics):
		return VictoriaMetrics
	default:
		t.Fatalf("%s=%q: want %q or %q (or unset for %s)", BackendEnv, v, Prometheus, VictoriaMetrics, Prometheus)
		return ""
	}
}

// VictoriaMetricsVersion is the version hack/victoriametrics/install.sh
// builds by default (VM_VERSION overrides both).
const VictoriaMetricsVersion = "v1.151.0"

// VictoriaMetricsRequireEnv, when set to anything, makes a missing
// VictoriaMetrics a test failure instead of a skip (make test sets it).
const VictoriaMetricsRequireEnv = "SCALED_REQUIRE_VICTORIAMETRICS"

// LatencyOffset is VictoriaMetrics' -search.latencyOffset in the harness.
// Its default, 30s, hides points younger than that from queries at the
// current time (an instant query at now is evaluated at now-30s); the
// harness lowers it so that a value set by a test is seen within a scrape or
// two, as with Prometheus. A query can ask for the default back with the
// latency_offset parameter (URL?latency_offset=30s).
const LatencyOffset = time.Second

// Backend is the back end s runs.
func (s *Server) Backend() Backend { return s.backend }

func (b Backend) binary() string {
	if b == Prometheus {
		return Binary
	}
	root := os.Getenv("SCALED_VICTORIAMETRICS_CACHE")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "scaled", "victoriametrics")
	}
	version := os.Getenv("VM_VERSION")
	if version == "" {
		version = VictoriaMetricsVersion
	}
	return filepath.Join(root, version, "victoria-metrics")
}

func (b Backend) requireEnv() string {
	if b == Prometheus {
		return RequireEnv
	}
	return VictoriaMetricsRequireEnv
}

func (b Backend) install() string {
	if b == Prometheus {
		return "hack/prometheus/install.sh"
	}
	return "hack/victoriametrics/install.sh (or make victoriametrics)"
}

func (b Backend) readyPath() string {
	if b == Prometheus {
		return "/-/ready"
	}
	return "/health"
}

func (b Backend) args(s *Server) []string {
	config := filepath.Join(s.dir, "prometheus.yml")
	var args []string
	if b == Prometheus {
		args = []string{
			"--config.file=" + config,
			"--storage.tsdb.path=" + s.dataDir,
			"--storage.tsdb.retention.time=100y",
			"--web.listen-address=" + s.addr,
		}
	} else {
		args = []string{
			"-promscrape.config=" + config,
			"-storageDataPath=" + s.dataDir,
			"-retentionPeriod=100y",
			"-httpListenAddr=" + s.addr,
			"-search.latencyOffset=" + LatencyOffset.String(),
			"-loggerLevel=WARN",
		}
	}
	return append(args, s.flags...)
}

// importText writes OpenMetrics text (timestamps in seconds) into
// VictoriaMetrics through /api/v1/import/prometheus (Prometheus' text
// format: timestamps in milliseconds), and makes it searchable at once
// (/internal/force_flush; otherwise about a second later).
func (s *Server) importText(text string) {
	s.t.Helper()
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		sec, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			s.t.Fatalf("victoriametrics import: line %q has no timestamp", line)
		}
		fmt.Fprintf(&b, "%s %d\n", line[:i], int64(sec*1000+0.5))
	}
	s.post("/api/v1/import/prometheus", b.String())
	s.post("/internal/force_flush", "")
}

// flush makes what VictoriaMetrics took in searchable now. A query that
// finds no series for a selector is cached until the index's next flush
// (10s), so a series born after such a query is otherwise seen up to ~11s
// late; WaitFor calls it before each poll. Nothing for Prometheus.
func (s *Server) flush() {
	if s.backend != VictoriaMetrics {
		return
	}
	resp, err := http.Get(s.URL() + "/internal/force_flush")
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (s *Server) post(path, body string) {
	s.t.Helper()
	resp, err := http.Post(s.URL()+path, "text/plain", strings.NewReader(body))
	if err != nil {
		s.t.Fatalf("%s %s: %v", s.backend, path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: HTTP %d: %s", s.backend, path, resp.StatusCode, msg)
	}
}
