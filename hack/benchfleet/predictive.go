package main

// A predictive fleet (--policy predictive): every scaler forecasts its own
// series with the predictive policy at its defaults (14 days of history at
// one minute, model auto, refit every hour), from a real Prometheus
// backfilled with 14 days of a daily cycle by promtool, behind a proxy
// that counts what the range queries ask and what Prometheus read for them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// backfillStep is the resolution of the backfilled history: a sample every
// 5 minutes, which Prometheus' 5-minute lookback answers at every minute a
// range query asks, in a fifth of the promtool time of one a minute
// (20 million samples take promtool minutes of CPU for 1,000 series).
const backfillStep = 5 * time.Minute

// backfillDays is the history written: the predictive default's 14 days.
const backfillDays = 14

// cycle is series i's load at t: a daily cycle of 100 +- 50 around an offset
// of its own, plus a slower wave that no day repeats (a load that repeats
// to the last digit gives the seasonal naive forecast no error to scale by),
// the same in the backfill and from the exporter.
func cycle(i int, t time.Time) float64 {
	day := float64(t.Unix()%86400) / 86400
	return 100 + float64(i%10) + 50*math.Sin(2*math.Pi*day) + 5*math.Sin(float64(t.Unix())/3671)
}

// backfill writes n series of backfillDays up to end into dir/data with
// promtool, as the integration tests record history.
func backfill(ctx context.Context, o options, dir string, n int, end time.Time) error {
	path := filepath.Join(dir, "history.om")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = w.WriteString("# TYPE app_rps gauge\n")
	end = end.Truncate(backfillStep)
	start := end.Add(-backfillDays * 24 * time.Hour)
	for i := range n {
		name := deployment(i)
		for t := start; !t.After(end); t = t.Add(backfillStep) {
			fmt.Fprintf(w, "app_rps{deployment=%q} %.3f %d\n", name, cycle(i, t), t.Unix())
		}
	}
	_, _ = w.WriteString("# EOF\n")
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "nice", o.promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", path, filepath.Join(dir, "data"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("promtool: %w: %s", err, lastLines(out, 5))
	}
	return os.Remove(path)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// serveCycleExporter serves n app_rps series, each its cycle at the time
// of the scrape.
func serveCycleExporter(n int) (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			now := time.Now()
			var page bytes.Buffer
			page.WriteString("# TYPE app_rps gauge\n")
			for i := range n {
				fmt.Fprintf(&page, "app_rps{deployment=%q} %.3f\n", deployment(i), cycle(i, now))
			}
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write(page.Bytes())
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	return l, nil
}

// rangeCounter is a reverse proxy to Prometheus that asks it for the
// statistics of every range query (stats=all) and counts the queries, the
// points they asked for and the samples Prometheus read for them, then
// hands scaled the answer without the statistics, as Prometheus gives it.
type rangeCounter struct {
	queries, points, samples atomic.Int64
}

func startRangeCounter(promURL string) (*rangeCounter, string, func(), error) {
	target, err := url.Parse(promURL)
	if err != nil {
		return nil, "", nil, err
	}
	rc := &rangeCounter{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	direct := proxy.Director
	proxy.Director = func(r *http.Request) {
		direct(r)
		if !strings.HasSuffix(r.URL.Path, "/api/v1/query_range") {
			return
		}
		if err := r.ParseForm(); err != nil {
			return
		}
		start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
		end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
		step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
		rc.queries.Add(1)
		if step > 0 {
			rc.points.Add(int64(math.Floor((end-start)/step)) + 1)
		}
		if r.Method == http.MethodPost {
			form := r.PostForm
			form.Set("stats", "all")
			body := form.Encode()
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		} else {
			q := r.URL.Query()
			q.Set("stats", "all")
			r.URL.RawQuery = q.Encode()
		}
	}
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/api/v1/query_range") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		b = rc.takeStats(b)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return rc, "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}

// takeStats counts the samples of the answer's "stats" (the last key of
// its data) and returns the answer without them.
func (rc *rangeCounter) takeStats(b []byte) []byte {
	i := bytes.LastIndex(b, []byte(`,"stats":`))
	if i < 0 {
		return b
	}
	dec := json.NewDecoder(bytes.NewReader(b[i+len(`,"stats":`):]))
	var st struct {
		Samples struct {
			TotalQueryableSamples int64 `json:"totalQueryableSamples"`
		} `json:"samples"`
	}
	if err := dec.Decode(&st); err != nil {
		return b
	}
	rc.samples.Add(st.Samples.TotalQueryableSamples)
	end := i + len(`,"stats":`) + int(dec.InputOffset())
	return append(b[:i:i], b[end:]...)
}

// rangeCounts is what a rangeCounter counted so far.
type rangeCounts struct{ queries, points, samples int64 }

func (rc *rangeCounter) counts() rangeCounts {
	return rangeCounts{rc.queries.Load(), rc.points.Load(), rc.samples.Load()}
}

// historyLine says what the predictive fleet's history reads cost, from
// the proxy's counts at the start of the binaries, the start and the end of
// the run, and the binary's own history metrics at the end.
func historyLine(n int, boot, start, end rangeCounts, took time.Duration, after snapshot) string {
	perMin := func(v int64) float64 { return float64(v) / took.Minutes() }
	return fmt.Sprintf("Predictive fleet of %s: first reads (binary start to run start) %s range queries, %s points asked, %s samples read by Prometheus; "+
		"during the run, per minute: %.0f range queries, %.0f points asked (%.2f per scaler), %.0f samples read by Prometheus; "+
		"the binary holds %.0f histories in %.1f MiB (scaled_history_bytes).",
		thousands(n), thousands(int(start.queries-boot.queries)), thousands(int(start.points-boot.points)), thousands(int(start.samples-boot.samples)),
		perMin(end.queries-start.queries), perMin(end.points-start.points), perMin(end.points-start.points)/float64(n), perMin(end.samples-start.samples),
		after.histories, after.historyBytes/(1<<20))
}
