//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/doctest"
	"github.com/scaled-dev/scaled/internal/promtest"
)

// recordedService is a day of what a web service and kube-state-metrics
// expose, every 15 s, as Prometheus would have scraped it: a request counter,
// a latency histogram, and the Deployment's requested and ready replicas. Each
// ready replica is an M/M/1 queue at mu requests/s; an HPA-like rule asks for
// ceil(rate / 7) replicas every minute, and a replica asked for is ready
// startup later.
type recordedService struct {
	mu      float64
	startup time.Duration
	end     time.Time
}

// buckets of the latency histogram, in seconds: fine where the p95 lives.
var latencyBuckets = []float64{0.05, 0.1, 0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3, 0.35, 0.4, 0.5, 0.75, 1, 2.5}

// openMetrics renders the history for promtool.
func (r recordedService) openMetrics() string {
	const step = 15 * time.Second
	const points = 24 * 3600 / 15
	start := r.end.Add(-time.Duration(points-1) * step)
	type pending struct {
		at time.Time
		n  int
	}
	var (
		requested, ready = 4, 4
		queue            []pending
		total, sum       float64
		cum              = make([]float64, len(latencyBuckets))
		counter, hist    strings.Builder
		spec, rdy        strings.Builder
	)
	counter.WriteString("# TYPE http_requests counter\n")
	hist.WriteString("# TYPE http_request_duration_seconds histogram\n")
	spec.WriteString("# TYPE kube_deployment_spec_replicas gauge\n")
	rdy.WriteString("# TYPE kube_deployment_status_replicas_ready gauge\n")
	for i := range points {
		t := start.Add(time.Duration(i) * step)
		h := float64(t.Sub(start)) / float64(24*time.Hour)
		rate := 32 + 26*math.Sin(2*math.Pi*h) + 6*math.Sin(2*math.Pi*h*29) // req/s: a daily cycle and faster swings
		// Replicas asked for earlier become ready now.
		for len(queue) > 0 && !queue[0].at.After(t) {
			ready += queue[0].n
			queue = queue[1:]
		}
		if i%4 == 0 { // every minute, on the last minute's load
			want := max(2, int(math.Ceil(rate/7)))
			switch {
			case want > requested:
				queue = append(queue, pending{at: t.Add(r.startup), n: want - requested})
			case want < requested:
				drop := requested - want
				for drop > 0 && len(queue) > 0 { // newest pending first
					last := &queue[len(queue)-1]
					k := min(drop, last.n)
					last.n -= k
					drop -= k
					if last.n == 0 {
						queue = queue[:len(queue)-1]
					}
				}
				ready -= drop
			}
			requested = want
		}
		x := rate / float64(ready)
		n := rate * step.Seconds()
		total += n
		sum += n / (r.mu - x) // mean sojourn of M/M/1
		for b, le := range latencyBuckets {
			cum[b] += n * (1 - math.Exp(-(r.mu-x)*le))
		}
		ts := strconv.FormatInt(t.Unix(), 10)
		fmt.Fprintf(&counter, "http_requests_total{job=\"web\"} %g %s\n", total, ts)
		for b, le := range latencyBuckets {
			fmt.Fprintf(&hist, "http_request_duration_seconds_bucket{job=\"web\",le=\"%g\"} %g %s\n", le, cum[b], ts)
		}
		fmt.Fprintf(&hist, "http_request_duration_seconds_bucket{job=\"web\",le=\"+Inf\"} %g %s\n", total, ts)
		fmt.Fprintf(&hist, "http_request_duration_seconds_count{job=\"web\"} %g %s\n", total, ts)
		fmt.Fprintf(&hist, "http_request_duration_seconds_sum{job=\"web\"} %g %s\n", sum, ts)
		fmt.Fprintf(&spec, "kube_deployment_spec_replicas{deployment=\"web\"} %d %s\n", requested, ts)
		fmt.Fprintf(&rdy, "kube_deployment_status_replicas_ready{deployment=\"web\"} %d %s\n", ready, ts)
	}
	return counter.String() + hist.String() + spec.String() + rdy.String() + "# EOF\n"
}

// calibrate reads a service's capacity and startup delay back from the
// metrics it and kube-state-metrics expose, through a real Prometheus, with
// the PromQL docs/calibration.md gives.
func TestCalibrateFromPrometheusHistory(t *testing.T) {
	svc := recordedService{mu: 20, startup: 90 * time.Second, end: time.Now().Add(-3 * time.Hour).Truncate(time.Minute)}
	prom := promtest.Start(t, promtest.WithOpenMetrics(svc.openMetrics()))
	out, stderr, code := runScaled(t, "calibrate", "--prometheus.url", prom.URL(), "--slo", "0.25",
		"--range", "23h", "--end", svc.end.Format(time.RFC3339), "--format", "json",
		"--requests", `sum(rate(http_requests_total{job="web"}[1m]))`,
		"--ready", `sum(kube_deployment_status_replicas_ready{deployment="web"})`,
		"--latency", `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[1m])))`,
		"--requested", `sum(kube_deployment_spec_replicas{deployment="web"})`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep calibrateReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	c, s := rep.Capacity, rep.Startup
	if c == nil || s == nil {
		t.Fatalf("report without capacity or startup:\n%s", out)
	}
	wantC := svc.mu - math.Log(20)/0.25 // 8.02 req/s per replica
	t.Logf("mu %.3f (%.3f..%.3f) c %.3f on %d of %d points, busiest %.2f..%.2f at %.2f x SLO; startup median %gs p90 %gs over %d",
		c.Mu, c.MuLow, c.MuHigh, c.C, c.Points, c.Usable, c.BusiestFrom, c.BusiestTo, c.BusiestP95OverSLO, s.MedianSeconds, s.P90Seconds, s.ScaleUps)
	// histogram_quantile interpolates linearly inside a bucket, and a 1m rate
	// mixes four scrapes: the fit is close, not exact.
	if math.Abs(c.Mu-svc.mu) > 0.05*svc.mu {
		t.Errorf("mu = %.3f, want %.1f within 5 %%", c.Mu, svc.mu)
	}
	if math.Abs(c.C-wantC) > 0.1*wantC {
		t.Errorf("capacity per replica = %.3f, want %.2f within 10 %%", c.C, wantC)
	}
	if s.MedianSeconds < 75 || s.MedianSeconds > 105 || s.ScaleUps < 10 {
		t.Errorf("startup median %gs over %d scale-ups, want 90 s within a step, from at least 10", s.MedianSeconds, s.ScaleUps)
	}
	flags := strings.Join(rep.SimulateFlags, " ")
	if !strings.Contains(flags, "--slo 0.25 --capacity-per-replica ") || !strings.Contains(flags, "--startup-delay ") {
		t.Errorf("simulate flags %q: want --slo, --capacity-per-replica and --startup-delay", flags)
	}

	// The text report ends with a simulate command that runs as printed.
	text, stderr, code := runScaled(t, "calibrate", "--prometheus.url", prom.URL(), "--slo", "0.25",
		"--range", "23h", "--end", svc.end.Format(time.RFC3339),
		"--requests", `sum(rate(http_requests_total{job="web"}[1m]))`,
		"--ready", `sum(kube_deployment_status_replicas_ready{deployment="web"})`,
		"--latency", `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[1m])))`,
		"--requested", `sum(kube_deployment_spec_replicas{deployment="web"})`)
	if code != 0 || !strings.Contains(text, "scaled simulate --config CONFIG --trace TRACE --slo 0.25 --capacity-per-replica") {
		t.Fatalf("text report: exit %d, %s\n%s", code, stderr, text)
	}
	t.Logf("report:\n%s", text)

	// The PromQL the docs give for measuring a service and comparing it with
	// its HPA runs on the same series: each query of every promql block of
	// docs/calibration.md and docs/migrating.md (a block is one query, or one
	// per line). The measuring queries find data.
	bs, err := doctest.Blocks("../..", "docs/calibration.md", "docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, b := range bs {
		if b.Lang != "promql" {
			continue
		}
		queries := []string{strings.Join(b.Lines, "\n")}
		if _, _, _, err := prom.API().Query(context.Background(), queries[0], svc.end); err != nil {
			queries = nil
			for _, l := range b.Lines {
				if strings.TrimSpace(l) != "" {
					queries = append(queries, l)
				}
			}
		}
		for _, q := range queries {
			v, _, _, err := prom.API().Query(context.Background(), q, svc.end)
			ran++
			if err != nil {
				t.Errorf("%s: %v\n%s", b.Where(0), err, q)
				continue
			}
			if b.File == "docs/calibration.md" && v.String() == "" {
				t.Errorf("%s: no data on the recorded service:\n%s", b.Where(0), q)
			}
		}
	}
	if ran < 10 {
		t.Errorf("ran %d queries from the docs, want the measuring and comparing ones (10 or more)", ran)
	}

	// Every scaled calibrate command the docs give runs as written on this
	// Prometheus (only its address put in) and reads the service back.
	all, err := doctest.Files("../..")
	if err != nil {
		t.Fatal(err)
	}
	if bs, err = doctest.Blocks("../..", all...); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(scaledBin, filepath.Join(bin, "scaled")); err != nil {
		t.Fatal(err)
	}
	calibrations := 0
	for _, b := range bs {
		script := strings.Join(b.Lines, "\n")
		if b.Needs != "prometheus" || !strings.Contains(script, "scaled calibrate") {
			continue
		}
		calibrations++
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.ReplaceAll(script, "http://localhost:9090", prom.URL()))
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--capacity-per-replica 7.9") {
			t.Errorf("%s: %v, want the capacity read back (7.9x req/s):\n%s", b.Where(0), err, out)
		}
	}
	if calibrations < 2 {
		t.Errorf("found %d scaled calibrate commands in the docs, want calibration.md's and latency-slo.md's", calibrations)
	}
	line := text[strings.Index(text, "scaled simulate"):]
	line = line[:strings.Index(line, "\n")]
	args := strings.Fields(strings.NewReplacer("CONFIG", "../../examples/simulate/reactive.yaml", "TRACE", smallTrace(t)).Replace(line))[1:]
	if _, stderr, code := runScaled(t, args...); code != 0 {
		t.Errorf("%s: exit %d: %s", line, code, stderr)
	}
}
