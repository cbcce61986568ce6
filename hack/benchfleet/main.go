// Command benchfleet measures what a fleet of scalers costs the scaled binary
// and the Prometheus it reads, all on loopback: it serves N series
// app_rps{deployment="dNNNNN"} from an exporter, runs a real Prometheus
// (Debian's, as the integration tests do) scraping them every 15 s, runs the
// binary in dry run with N scalers (one target-tracking policy each on
// sum(app_rps{deployment="dNNNNN"})), waits for a warm-up, then measures for
// a while and prints one table row per N.
//
//	make build && go run ./hack/benchfleet --bin bin/scaled --n 1000,10000
//
// With --replicas R, R binaries share the N scalers by
// leader_election.shards (--shards, 4 per replica by default), their shard
// Leases on a real etcd and kube-apiserver (hack/kube/install.sh builds
// them); it prints a row per replica and one for all, then kills the first
// replica with SIGKILL and says how long the others took to hold its shards
// and to decide its scalers.
//
// With --policy predictive, every scaler forecasts its series with the
// predictive policy at its defaults (14 days at one minute, refit every
// hour) instead: Prometheus is first backfilled with 14 days of a daily
// cycle by promtool, scaled reads it through a proxy that counts the range
// queries, the points they ask and the samples Prometheus read for them
// (stats=all), and a line after the table gives those per minute
// (predictive.go).
//
// Every signal reads 100 against a per-replica target of 50 and every log
// target holds 2 replicas, so nothing changes: the figures are the steady
// cost of deciding, exporting and logging "nothing to do". What it prints:
//
//   - cores: CPU seconds the binary used per wall second of the run;
//   - RSS at the end and the peak (VmHWM), and the Go heap in use;
//   - the series and uncompressed bytes of one /metrics page;
//   - log bytes per minute (stdout and stderr) during the run;
//   - queries per second Prometheus answered (its own
//     prometheus_http_requests_total for /api/v1/query and query_range);
//   - decisions per second (scaled_decisions_total) against N/interval;
//   - tick lag p50, p99 and max over every scaler's scaled_tick_lag_seconds,
//     read at the start and the end of the run.
//
// After the table, a line per N gives the CPU (cores) the server used during
// the run and its RSS at the end.
//
// With --backend victoriametrics, VictoriaMetrics single-node (built by
// hack/victoriametrics/install.sh, with its default flags) scrapes the
// exporter and answers the queries instead of Prometheus; the queries column
// is then its vm_http_requests_total.
//
// The machine's load average is printed beside the figures: on a shared
// machine they move with it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scaled-dev/scaled/internal/freeport"
)

type options struct {
	bin        string
	prometheus string
	// backend is prometheus or victoriametrics; victoriametrics its binary.
	backend         string
	victoriametrics string
	interval        time.Duration
	warmup          time.Duration
	run             time.Duration
	grouped         bool
	history         int
	keep            bool
	// replicas > 1 runs that many binaries sharing the scalers by shard
	// Leases on a real kube-apiserver (replicas.go); shards is how many.
	replicas int
	shards   int
	takeover bool
	// profile serves the binaries' runtime profiles and keeps their heap
	// and goroutine profiles at the end of the run (implies keep).
	profile bool
	// policy is target_tracking or predictive (predictive.go), which
	// backfills the history with promtool.
	policy   string
	promtool string
}

func main() {
	var o options
	ns := flag.String("n", "1000,10000", "numbers of scalers to measure, comma-separated")
	flag.StringVar(&o.bin, "bin", "bin/scaled", "the scaled binary to measure")
	flag.StringVar(&o.prometheus, "prometheus", "/usr/bin/prometheus", "the Prometheus binary (make prometheus installs it)")
	flag.StringVar(&o.backend, "backend", "prometheus", "the server that scrapes the exporter and answers the queries: prometheus or victoriametrics")
	flag.StringVar(&o.victoriametrics, "victoriametrics", defaultVictoriaMetrics(), "the VictoriaMetrics single-node binary (make victoriametrics builds it)")
	flag.DurationVar(&o.interval, "interval", 15*time.Second, "tick of every scaler and Prometheus' scrape interval")
	flag.DurationVar(&o.warmup, "warmup", 45*time.Second, "time between the binary's start and the measurement")
	flag.DurationVar(&o.run, "run", 90*time.Second, "how long the measurement lasts")
	flag.BoolVar(&o.grouped, "grouped", false, "every scaler selects its series from one shared grouped query instead of sending its own")
	flag.IntVar(&o.history, "decision-history", 0, "decision_history of the config (0: the binary's default)")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory (configs, Prometheus data, the binaries' logs and last /metrics pages)")
	flag.IntVar(&o.replicas, "replicas", 1, "binaries sharing the N scalers by leader_election.shards on a real kube-apiserver (hack/kube/install.sh builds it)")
	flag.IntVar(&o.shards, "shards", 0, "leader_election.shards with --replicas > 1 (0: 4 per replica)")
	flag.BoolVar(&o.profile, "profile", false, "run the binaries with --web.enable-pprof and keep each one's heap and goroutine profiles at the end of the run in the working directory (implies --keep)")
	flag.BoolVar(&o.takeover, "takeover", true, "with --replicas > 1, SIGKILL the first replica after the run and measure how long the others take to run its scalers")
	flag.StringVar(&o.policy, "policy", "target_tracking", "every scaler's policy: target_tracking, or predictive (at its defaults, on 14 days of history backfilled into Prometheus by promtool)")
	flag.StringVar(&o.promtool, "promtool", "/usr/bin/promtool", "the promtool binary that backfills the history of --policy predictive")
	flag.Parse()
	switch {
	case o.policy != "target_tracking" && o.policy != "predictive":
		fmt.Fprintf(os.Stderr, "benchfleet: --policy %q: want target_tracking or predictive\n", o.policy)
		os.Exit(2)
	case o.policy == "predictive" && (o.grouped || o.backend != "prometheus"):
		fmt.Fprintf(os.Stderr, "benchfleet: --policy predictive: reads history with queries of its own from Prometheus: not with --grouped or --backend %s\n", o.backend)
		os.Exit(2)
	}
	if o.replicas < 1 {
		fmt.Fprintf(os.Stderr, "benchfleet: --replicas %d: want at least 1\n", o.replicas)
		os.Exit(2)
	}
	if o.backend != "prometheus" && o.backend != "victoriametrics" {
		fmt.Fprintf(os.Stderr, "benchfleet: --backend %q: want prometheus or victoriametrics\n", o.backend)
		os.Exit(2)
	}
	if o.shards == 0 {
		o.shards = 4 * o.replicas
	}
	o.keep = o.keep || o.profile

	var sizes []int
	for f := range strings.SplitSeq(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "benchfleet: --n: %q: want positive integers separated by commas\n", *ns)
			os.Exit(2)
		}
		sizes = append(sizes, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Printf("# %s, %d cores, backend %s, interval %s, warm-up %s, run %s, grouped %t, policy %s",
		o.bin, runtime.NumCPU(), o.backend, o.interval, o.warmup, o.run, o.grouped, o.policy)
	if o.replicas > 1 {
		fmt.Printf(", %d replicas, %d shards", o.replicas, o.shards)
	}
	fmt.Println()
	fmt.Println("| scalers | cores | RSS end (peak) | Go heap | /metrics series | /metrics MiB (fetched in) | log/min | Prometheus queries/s | decisions/s (expected) | tick lag p50 / p99 / max | goroutines, fds | load avg |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	// After the table: what the server used, and any takeover.
	var takeovers []string
	for _, n := range sizes {
		rows, line, err := measure(ctx, o, n)
		for _, r := range rows {
			fmt.Println(r.row())
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchfleet: %d scalers: %v\n", n, err)
			os.Exit(1)
		}
		if line != "" {
			takeovers = append(takeovers, line)
		}
	}
	for _, line := range takeovers {
		fmt.Println()
		fmt.Println(line)
	}
}

type result struct {
	label             string
	expected          float64 // decisions per second
	cores             float64
	rssKB, peakKB     int64
	heapBytes         float64
	series            int
	pageBytes         int
	pageTook          time.Duration
	goroutines, fds   float64
	logPerMin         float64
	promQPS           float64
	decisionsPerSec   float64
	lagP50, lagP99    float64
	lagMax            float64
	lags              []float64
	loadStart, loadAt string
}

func (r result) row() string {
	return fmt.Sprintf("| %s | %.3f | %.0f MiB (%.0f MiB) | %.0f MiB | %s | %.1f (%s) | %s | %.1f | %.1f (%.1f) | %s / %s / %s | %.0f, %.0f | %s -> %s |",
		r.label, r.cores, float64(r.rssKB)/1024, float64(r.peakKB)/1024, r.heapBytes/(1<<20),
		thousands(r.series), float64(r.pageBytes)/(1<<20), r.pageTook.Round(10*time.Millisecond), sizeOf(r.logPerMin), r.promQPS,
		r.decisionsPerSec, r.expected, ms(r.lagP50), ms(r.lagP99), ms(r.lagMax), r.goroutines, r.fds, r.loadStart, r.loadAt)
}

// replica is one running binary and where its metrics are.
type replica struct {
	id      string
	metrics string
	p       *process
}

// measure runs n scalers on o.replicas binaries and returns a row per
// binary (and one for all of them with several), then the takeover line.
func measure(ctx context.Context, o options, n int) ([]result, string, error) {
	dir, err := os.MkdirTemp("", "benchfleet-")
	if err != nil {
		return nil, "", err
	}
	if o.keep {
		fmt.Fprintf(os.Stderr, "benchfleet: %d scalers: working directory %s\n", n, dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}

	predictive := o.policy == "predictive"
	serve := serveExporter
	if predictive {
		serve = serveCycleExporter
		began := time.Now()
		if err := backfill(ctx, o, dir, n, time.Now().Add(-time.Minute)); err != nil {
			return nil, "", err
		}
		fmt.Fprintf(os.Stderr, "benchfleet: %d scalers: backfilled %d days in %s\n", n, backfillDays, time.Since(began).Round(time.Second))
	}
	exporter, err := serve(n)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = exporter.Close() }()

	promAddr, err := freeport.Addr()
	if err != nil {
		return nil, "", err
	}
	prom, err := startPrometheus(ctx, o, dir, promAddr, exporter.Addr().String())
	if err != nil {
		return nil, "", err
	}
	defer prom.stop()
	promURL := "http://" + promAddr
	within := 2*o.interval + 30*time.Second
	if o.backend == "victoriametrics" {
		// Its default -search.latencyOffset hides the first 30s of
		// samples, and a query that found no series is cached for 10s.
		within += 40 * time.Second
	}
	if err := waitSeries(ctx, promURL, n, within); err != nil {
		return nil, "", fmt.Errorf("prometheus: %w (its log: %s)", err, prom.tail())
	}
	// scaled evaluates at its tick's time truncated to the interval grid,
	// up to one interval back: wait until that is after the first scrape,
	// as it is for any Prometheus with history, or the first ticks find no
	// sample and their failure series stay on every page.
	if err := watch(ctx, o.interval, nil, "the first scrape"); err != nil {
		return nil, "", err
	}

	var env []string
	if o.replicas > 1 {
		kubeconfig, stop, err := startControlPlane()
		if err != nil {
			return nil, "", err
		}
		defer stop()
		env = append(env, "KUBECONFIG="+kubeconfig)
	}
	scaledURL := promURL
	var ranges *rangeCounter
	if predictive {
		rc, u, stop, err := startRangeCounter(promURL)
		if err != nil {
			return nil, "", err
		}
		defer stop()
		ranges, scaledURL = rc, u
	}
	cfgPath := filepath.Join(dir, "scaled.yaml")
	if err := os.WriteFile(cfgPath, fleetConfig(n, scaledURL, o), 0o600); err != nil {
		return nil, "", err
	}
	reps := make([]*replica, o.replicas)
	for i := range reps {
		listen, err := freeport.Addr()
		if err != nil {
			return nil, "", err
		}
		r := &replica{id: string(rune('a' + i)), metrics: "http://" + listen + "/metrics"}
		args := []string{"run", "--config", cfgPath, "--listen", listen}
		if o.replicas > 1 {
			args = append(args, "--leader-election.identity", "benchfleet-"+r.id)
		}
		if o.profile {
			args = append(args, "--web.enable-pprof")
		}
		if r.p, err = startProcess(ctx, filepath.Join(dir, "scaled-"+r.id+".log"), env, o.bin, args...); err != nil {
			return nil, "", err
		}
		defer r.p.stop()
		reps[i] = r
	}
	var boot, runStart rangeCounts
	if ranges != nil {
		boot = ranges.counts()
	}
	if err := watch(ctx, o.warmup, reps, "the warm-up"); err != nil {
		return nil, "", err
	}
	if ranges != nil {
		runStart = ranges.counts()
	}

	before := make([]snapshot, len(reps))
	cpuBefore := make([]float64, len(reps))
	logBefore := make([]int64, len(reps))
	for i, r := range reps {
		if before[i], err = scrape(r.metrics); err != nil {
			return nil, "", fmt.Errorf("scaled %s /metrics: %w (its log: %s)", r.id, err, r.p.tail())
		}
		if cpuBefore[i], err = cpuSeconds(r.p.pid()); err != nil {
			return nil, "", err
		}
		logBefore[i] = r.p.out.n.Load()
	}
	promBefore, err := promQueries(promURL)
	if err != nil {
		return nil, "", err
	}
	serverBefore, err := cpuSeconds(prom.pid())
	if err != nil {
		return nil, "", err
	}
	loadStart := loadAvg()
	start := time.Now()
	if err := watch(ctx, o.run, reps, "the run"); err != nil {
		return nil, "", err
	}
	took := time.Since(start)
	var runEnd rangeCounts
	if ranges != nil {
		runEnd = ranges.counts()
	}
	serverAfter, err := cpuSeconds(prom.pid())
	if err != nil {
		return nil, "", err
	}
	serverRSS, err := procStatus(prom.pid(), "VmRSS")
	if err != nil {
		return nil, "", err
	}
	server := fmt.Sprintf("%s scalers: %s used %.3f cores during the run, RSS %d MiB at its end",
		thousands(n), o.backend, (serverAfter-serverBefore)/took.Seconds(), serverRSS>>10)
	promAfter, err := promQueries(promURL)
	if err != nil {
		return nil, "", err
	}
	promQPS := (promAfter - promBefore) / took.Seconds()
	loadAt := loadAvg()

	var rows []result
	after := make([]snapshot, len(reps))
	for i, r := range reps {
		res := result{label: thousands(n), loadStart: loadStart, loadAt: loadAt, promQPS: promQPS}
		if o.replicas > 1 {
			res.label = fmt.Sprintf("%s: replica %s", thousands(n), r.id)
		}
		cpuAfter, err := cpuSeconds(r.p.pid())
		if err != nil {
			return nil, "", err
		}
		logAfter := r.p.out.n.Load()
		if res.rssKB, err = procStatus(r.p.pid(), "VmRSS"); err != nil {
			return nil, "", err
		}
		if res.peakKB, err = procStatus(r.p.pid(), "VmHWM"); err != nil {
			return nil, "", err
		}
		if after[i], err = scrape(r.metrics); err != nil {
			return nil, "", err
		}
		if o.keep {
			if err := os.WriteFile(filepath.Join(dir, "metrics-"+r.id+".txt"), after[i].page, 0o600); err != nil {
				return nil, "", err
			}
		}
		if o.profile {
			base := strings.TrimSuffix(r.metrics, "/metrics") + "/debug/pprof/"
			for _, prof := range []string{"heap", "goroutine"} {
				b, err := get(base + prof)
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, prof+"-"+r.id+".pb.gz"), b, 0o600)
				}
				if err != nil {
					return nil, "", fmt.Errorf("scaled %s: %s profile: %w", r.id, prof, err)
				}
			}
		}
		res.cores = (cpuAfter - cpuBefore[i]) / took.Seconds()
		res.logPerMin = float64(logAfter-logBefore[i]) / took.Minutes()
		res.fill(before[i], after[i], o.interval)
		rows = append(rows, res)
	}
	if len(rows) > 1 {
		rows = append(rows, total(rows, fmt.Sprintf("%s: all %d", thousands(n), len(rows))))
	}
	line := server
	if ranges != nil {
		line += "\n\n" + historyLine(n, boot, runStart, runEnd, took, after[0])
	}
	if o.replicas > 1 && o.takeover {
		t, err := takeover(o, reps, after[0])
		if err != nil {
			return rows, "", err
		}
		line += "\n\n" + t
	}
	return rows, line, nil
}

// fill sets what the binary's own /metrics say between two pages.
func (r *result) fill(before, after snapshot, interval time.Duration) {
	r.expected = after.scalers / interval.Seconds()
	r.decisionsPerSec = (after.decisions - before.decisions) / after.at.Sub(before.at).Seconds()
	r.series, r.pageBytes, r.heapBytes, r.pageTook = after.series, after.bytes, after.heap, after.took
	r.goroutines, r.fds = after.goroutines, after.fds
	r.lags = append(slices.Clone(before.lags), after.lags...)
	r.setLag()
}

// setLag sorts r.lags and sets the lag quantiles from them.
func (r *result) setLag() {
	slices.Sort(r.lags)
	r.lagP50, r.lagP99, r.lagMax = math.NaN(), math.NaN(), math.NaN()
	if len(r.lags) > 0 {
		r.lagP50, r.lagP99, r.lagMax = quantile(r.lags, 0.5), quantile(r.lags, 0.99), r.lags[len(r.lags)-1]
	}
}

// total sums the replicas' rows: one row for the whole deployment.
func total(rows []result, label string) result {
	t := result{label: label, promQPS: rows[0].promQPS, loadStart: rows[0].loadStart, loadAt: rows[0].loadAt}
	for _, r := range rows {
		t.cores += r.cores
		t.rssKB += r.rssKB
		t.peakKB += r.peakKB
		t.heapBytes += r.heapBytes
		t.series += r.series
		t.pageBytes += r.pageBytes
		t.pageTook = max(t.pageTook, r.pageTook)
		t.logPerMin += r.logPerMin
		t.decisionsPerSec += r.decisionsPerSec
		t.expected += r.expected
		t.goroutines += r.goroutines
		t.fds += r.fds
		t.lags = append(t.lags, r.lags...)
	}
	t.setLag()
	return t
}

// watch waits d, failing as soon as a binary exits.
func watch(ctx context.Context, d time.Duration, reps []*replica, during string) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, r := range reps {
			select {
			case <-r.p.exited:
				return fmt.Errorf("scaled %s exited during %s: %s", r.id, during, r.p.tail())
			default:
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(250*time.Millisecond, time.Until(deadline))):
		}
	}
	return nil
}

// fleetConfig is the binary's config for n scalers. Without grouped, scaler
// i sends its own query for its own series; with it, every scaler selects
// its series from one shared grouped query.
func fleetConfig(n int, promURL string, o options) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "prometheus:\n  url: %s\n", promURL)
	fmt.Fprintf(&b, "interval: %s\ndry_run: true\nlog: {level: info, format: json}\n", o.interval)
	if o.replicas > 1 {
		fmt.Fprintf(&b, "leader_election: {enabled: true, namespace: default, lease_name: benchfleet, shards: %d}\n", o.shards)
	}
	if o.history > 0 {
		fmt.Fprintf(&b, "decision_history: %d\n", o.history)
	}
	b.WriteString("scalers:\n")
	for i := range n {
		name := deployment(i)
		fmt.Fprintf(&b, "  - name: %s\n    target: {kind: log, log: {initial: 2}}\n    signals:\n", name)
		if o.grouped {
			fmt.Fprintf(&b, "      - name: rps\n        grouped: {query: 'sum by (deployment) (app_rps)', select: {deployment: %s}}\n", name)
		} else {
			fmt.Fprintf(&b, "      - {name: rps, query: 'sum(app_rps{deployment=\"%s\"})'}\n", name)
		}
		if o.policy == "predictive" {
			b.WriteString("    policies:\n      - {name: ahead, type: predictive, predictive: {signal: rps, capacity_per_replica: 50}}\n")
		} else {
			b.WriteString("    policies:\n      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 50}}\n")
		}
		b.WriteString("    bounds: {min: 1, max: 20}\n")
	}
	return b.Bytes()
}

func deployment(i int) string { return fmt.Sprintf("d%05d", i) }

// serveExporter serves n app_rps series, all 100, on a loopback port.
func serveExporter(n int) (net.Listener, error) {
	var page bytes.Buffer
	page.WriteString("# TYPE app_rps gauge\n")
	for i := range n {
		fmt.Fprintf(&page, "app_rps{deployment=%q} 100\n", deployment(i))
	}
	body := page.Bytes()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	return l, nil
}

func startPrometheus(ctx context.Context, o options, dir, addr, target string) (*process, error) {
	cfg := fmt.Sprintf("global:\n  scrape_interval: %s\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [%q]\n",
		o.interval, target)
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	bin, ready := o.prometheus, "/-/ready"
	args := []string{"--config.file=" + path, "--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + addr}
	if o.policy == "predictive" {
		// Keep the backfilled blocks: their samples are days old.
		args = append(args, "--storage.tsdb.retention.time=100y")
	}
	if o.backend == "victoriametrics" {
		bin, ready = o.victoriametrics, "/health"
		args = []string{"-promscrape.config=" + path, "-storageDataPath=" + filepath.Join(dir, "data"), "-httpListenAddr=" + addr}
	}
	p, err := startProcess(ctx, filepath.Join(dir, o.backend+".log"), nil, bin, args...)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get("http://" + addr + ready)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not ready after 30s: %s", o.backend, p.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitSeries waits until Prometheus holds all n series of the exporter.
func waitSeries(ctx context.Context, promURL string, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		got, err := instant(promURL, "count(app_rps)")
		if err == nil && got == float64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("count(app_rps) = %v, want %d after %s (last error: %w)", got, n, within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func instant(promURL, expr string) (float64, error) {
	resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	var ans struct {
		Data struct {
			Result []struct {
				Value [2]json.RawMessage `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return 0, err
	}
	if len(ans.Data.Result) != 1 {
		return 0, fmt.Errorf("%d series", len(ans.Data.Result))
	}
	s, err := strconv.Unquote(string(ans.Data.Result[0].Value[1]))
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(s, 64)
}

// defaultVictoriaMetrics is where hack/victoriametrics/install.sh puts the
// binary at its default version.
func defaultVictoriaMetrics() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "scaled", "victoriametrics", "v1.151.0", "victoria-metrics")
}

// promQueries is how many query and query_range requests the server has
// answered: Prometheus' prometheus_http_requests_total or VictoriaMetrics'
// vm_http_requests_total.
func promQueries(promURL string) (float64, error) {
	page, err := get(promURL + "/metrics")
	if err != nil {
		return 0, err
	}
	var total float64
	for line := range strings.SplitSeq(string(page), "\n") {
		if strings.HasPrefix(line, `vm_http_requests_total{path="/api/v1/query"}`) ||
			strings.HasPrefix(line, `vm_http_requests_total{path="/api/v1/query_range"}`) {
			total += lastValue(line)
			continue
		}
		if !strings.HasPrefix(line, "prometheus_http_requests_total{") {
			continue
		}
		if strings.Contains(line, `handler="/api/v1/query"`) || strings.Contains(line, `handler="/api/v1/query_range"`) {
			total += lastValue(line)
		}
	}
	return total, nil
}

// snapshot is what one /metrics page of the binary says.
type snapshot struct {
	at     time.Time
	took   time.Duration // to fetch the page
	series int
	bytes  int
	heap   float64
	// goroutines and open file descriptors: a pile-up of queries shows
	// in both.
	goroutines, fds float64
	decisions       float64
	lags            []float64
	page            []byte
	// scalers is scaled_scalers: what the binary runs.
	scalers    float64
	shardsHeld float64
	// lastDecision is each scaler's scaled_last_decision_timestamp_seconds.
	lastDecision map[string]float64
	// histories and historyBytes are what the predictive policies' shared
	// histories hold.
	histories, historyBytes float64
}

func scrape(url string) (snapshot, error) {
	s := snapshot{at: time.Now(), lastDecision: map[string]float64{}}
	page, err := get(url)
	if err != nil {
		return s, err
	}
	s.took = time.Since(s.at)
	s.bytes = len(page)
	s.page = page
	// The series of one value each, by name.
	gauges := map[string]*float64{
		"go_memstats_heap_inuse_bytes": &s.heap,
		"go_goroutines":                &s.goroutines,
		"process_open_fds":             &s.fds,
		"scaled_scalers":               &s.scalers,
		"scaled_histories":             &s.histories,
		"scaled_history_bytes":         &s.historyBytes,
		"scaled_leader_shards_held":    &s.shardsHeld,
	}
	sc := bufio.NewScanner(bytes.NewReader(page))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s.series++
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		if g, ok := gauges[name]; ok {
			*g = lastValue(line)
			continue
		}
		switch name {
		case "scaled_decisions_total":
			s.decisions += lastValue(line)
		case "scaled_tick_lag_seconds":
			s.lags = append(s.lags, lastValue(line))
		case "scaled_last_decision_timestamp_seconds":
			if name, ok := label(line, "scaler"); ok {
				s.lastDecision[name] = lastValue(line)
			}
		}
	}
	return s, sc.Err()
}

// label is the value of one label of a series line (no escapes: the
// benchmark's names have none).
func label(line, name string) (string, bool) {
	_, rest, ok := strings.Cut(line, name+`="`)
	if !ok {
		return "", false
	}
	v, _, ok := strings.Cut(rest, `"`)
	return v, ok
}

func lastValue(line string) float64 {
	v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
	if err != nil {
		return 0
	}
	return v
}

func quantile(sorted []float64, q float64) float64 {
	return sorted[min(len(sorted)-1, int(math.Ceil(q*float64(len(sorted))))-1)]
}

// client waits long: a page of half a million series on a loaded machine
// takes minutes, and how long it takes is one of the figures.
var client = &http.Client{Timeout: 5 * time.Minute}

func get(url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// process is a child process whose output is counted and kept in a file.
type process struct {
	cmd    *exec.Cmd
	out    *countingWriter
	file   *os.File
	exited chan struct{}
}

func startProcess(ctx context.Context, logPath string, env []string, bin string, args ...string) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &process{out: &countingWriter{w: f}, file: f, exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.WaitDelay = 10 * time.Second
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	if err := p.cmd.Start(); err != nil {
		_ = f.Close()
		return nil, err
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// stop ends the process with SIGTERM, then SIGKILL after 10 s.
func (p *process) stop() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	_ = p.file.Close()
}

// tail is the end of the process's output, for an error message.
func (p *process) tail() string {
	b, err := os.ReadFile(p.file.Name())
	if err != nil {
		return err.Error()
	}
	return string(b[max(0, len(b)-2000):])
}

type countingWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n.Add(int64(len(p)))
	return c.w.Write(p)
}

// cpuSeconds is the user plus system CPU time of pid (/proc/PID/stat).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields are counted after its ')'.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks, nil
}

// procStatus reads one kB field of /proc/PID/status.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func sizeOf(bytesPerMin float64) string {
	switch {
	case bytesPerMin >= 1<<20:
		return fmt.Sprintf("%.1f MiB", bytesPerMin/(1<<20))
	case bytesPerMin >= 1<<10:
		return fmt.Sprintf("%.1f KiB", bytesPerMin/(1<<10))
	}
	return fmt.Sprintf("%.0f B", bytesPerMin)
}

func ms(s float64) string {
	if math.IsNaN(s) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f ms", s*1000)
}
