//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// historyLoad is three days of a workload's request rate at one-minute
// steps: a daily cycle with a lunchtime burst. Rates are multiples of 1/4,
// so that a count per minute (rate x 60) is exact in a CSV.
func historyLoad(start time.Time, minutes int) []scaling.Sample {
	out := make([]scaling.Sample, minutes)
	for i := range out {
		r := 40 + 30*math.Sin(2*math.Pi*float64(i)/1440)
		if m := i % 1440; m >= 720 && m < 760 {
			r *= 2.5
		}
		out[i] = scaling.Sample{Time: start.Add(time.Duration(i) * time.Minute), Value: math.Round(r*4) / 4}
	}
	return out
}

// recordedHistory backfills minutes of shop_request_rate{service="web"}
// into a real Prometheus, ending two hours ago, and writes the same history
// as a trace file: the sample at t is the rate over the minute that ends at
// t, the trace's count for the minute that starts at t-1m.
func recordedHistory(t *testing.T, minutes int) (srv *promtest.Server, end time.Time, tracePath string) {
	t.Helper()
	end = time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)
	load := historyLoad(end.Add(-time.Duration(minutes-1)*time.Minute), minutes)
	srv = promtest.Start(t, promtest.WithHistory("shop_request_rate", map[string]string{"service": "web"}, load))
	var csv strings.Builder
	csv.WriteString("timestamp,value\n")
	for _, s := range load {
		fmt.Fprintf(&csv, "%d,%g\n", s.Time.Add(-time.Minute).Unix(), s.Value*60)
	}
	tracePath = filepath.Join(t.TempDir(), "web.csv")
	if err := os.WriteFile(tracePath, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, end, tracePath
}

// TestSimulateReadsHistoryFromPrometheus backfills three days of a request
// rate into the real Prometheus and simulates the recommended config on it
// through --query: the score is, to the last digit, the one of the same
// history written as a trace file; at 15 s steps the range is read in
// pages of at most 11,000 points.
func TestSimulateReadsHistoryFromPrometheus(t *testing.T) {
	srv, end, tracePath := recordedHistory(t, 3*1440)

	cfg := "../../examples/simulate/recommended.yaml"
	score := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, code := runScaled(t, append([]string{"simulate", "-c", cfg, "--startup-delay", "3m", "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("scaled simulate %v: exit %d: %s", args, code, stderr)
		}
		var rep map[string]any
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("scaled simulate %v: %v: %s", args, err, out)
		}
		return rep
	}
	fromFile := score("--trace", tracePath)
	query := `shop_request_rate{service="web"}`
	fromProm := score("--query", query, "--range", "3d", "--end", end.Format(time.RFC3339), "--prometheus.url", srv.URL(), "--median-replicas", "10")
	for _, key := range []string{"scaled", "hpa_reference", "oracle", "model", "demand"} {
		if diff := cmp.Diff(fromFile[key], fromProm[key]); diff != "" {
			t.Errorf("%s differs between the trace file and --query (-file +query):\n%s", key, diff)
		}
	}
	if got := fromProm["trace"]; !strings.HasPrefix(fmt.Sprint(got), query+" over 72h to ") {
		t.Errorf("trace %q: want the query and its range", got)
	}

	// Without --median-replicas the history keeps its own rate: the model
	// needs the capacity of a replica, and with it the replicas are the
	// service's own.
	_, stderr, code := runScaled(t, "simulate", "-c", cfg, "--query", query, "--range", "3d",
		"--end", end.Format(time.RFC3339), "--prometheus.url", srv.URL())
	if code != 2 || !strings.Contains(stderr, "--query: keeps the service's own request rate") || !strings.Contains(stderr, "give --capacity-per-replica") {
		t.Errorf("--query without a capacity: exit %d, stderr %q: want a refusal asking for --capacity-per-replica", code, stderr)
	}
	own := score("--query", query, "--range", "3d", "--end", end.Format(time.RFC3339), "--prometheus.url", srv.URL(), "--capacity-per-replica", "7")
	model := own["model"].(map[string]any)
	if own["demand"] != "own" || math.Abs(model["demand_scale"].(float64)-1) > 1e-9 || fromFile["demand"] != "rescaled" {
		t.Errorf("own scale: demand %v, demand_scale %v (the file: %v): want own at 1, the file rescaled", own["demand"], model["demand_scale"], fromFile["demand"])
	}
	// The oracle holds max(1, ceil(rate/7)) replicas every minute of the
	// recorded rate: its replica-hours are the service's own.
	want := 0.0
	for _, s := range historyLoad(end, 3*1440) {
		want += max(1, math.Ceil(s.Value/7-1e-9)) / 60
	}
	got := own["oracle"].(map[string]any)["cost_replica_hours"].(float64)
	if math.Abs(got-want) > 0.01*want {
		t.Errorf("own scale: the oracle costs %.1f replica-hours, want %.1f: one replica per 7 req/s of the recorded rate", got, want)
	}
	text, _, code := runScaled(t, "simulate", "-c", cfg, "--query", query, "--range", "3d", "--end", end.Format(time.RFC3339),
		"--prometheus.url", srv.URL(), "--capacity-per-replica", "7")
	if code != 0 || !strings.Contains(text, "demand: the service's own rate, not rescaled") {
		t.Errorf("own scale, text: exit %d, want it said:\n%s", code, text)
	}

	// At 15 s steps the range needs two pages of at most 11,000 points:
	// every step from the first sample on (Prometheus looks back to the
	// minute's sample), 4 x 4,319 + 1 of them.
	_, stderr, code = runScaled(t, "simulate", "-c", cfg, "--query", query, "--range", "3d",
		"--end", end.Format(time.RFC3339), "--step", "15s", "--prometheus.url", srv.URL(), "--median-replicas", "10")
	if want := "17277 steps of 15s"; code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("15s steps: exit %d, stderr %q: want %q", code, stderr, want)
	}

	// Nothing there: an error naming the query and the range.
	_, stderr, code = runScaled(t, "simulate", "-c", cfg, "--query", "absent_metric", "--range", "1d",
		"--end", end.Format(time.RFC3339), "--prometheus.url", srv.URL(), "--capacity-per-replica", "7")
	if code == 0 || !strings.Contains(stderr, `"absent_metric": no data between`) {
		t.Errorf("absent series: exit %d, stderr %q: want a no-data error naming the query", code, stderr)
	}
}

const checkHistoryConfig = `
prometheus: {url: %s, query_timeout: 20s}
scalers:
  - name: web
    target: {kind: log}
    signals:
      - name: demand
        query: max(shop_request_rate{service="web"})
        max_age: 2m
    policies:
      - name: forecast
        type: predictive
        predictive: {signal: demand, capacity_per_replica: 7, smooth: 5m}
    bounds: {min: 1, max: 100}
`

// TestCheckSaysHowMuchHistoryAPredictivePolicyFinds: three days of
// backfilled history and a live series behind one query; check --query
// reads the 14-day window the policy will fetch and says it finds three
// days, enough for its min_history of a day and for the daily models, and
// when the weekly ones will join.
func TestCheckSaysHowMuchHistoryAPredictivePolicyFinds(t *testing.T) {
	const minutes = 3 * 1440
	end := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)
	load := historyLoad(end.Add(-(minutes-1)*time.Minute), minutes)
	srv := promtest.Start(t, promtest.WithHistory("shop_request_rate", map[string]string{"service": "web"}, load))
	srv.Gauge("shop_request_rate", "service").WithLabelValues("web").Set(50)
	srv.WaitFor(t, `max(shop_request_rate{service="web"})`, 50, 30*time.Second)

	cfg := filepath.Join(t.TempDir(), "scaled.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(checkHistoryConfig, srv.URL())), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runScaled(t, "check", "--query", "-c", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	for _, want := range []string{
		"web/demand = 50 (at ",
		// Three days, five minutes of Prometheus' lookback after them, and
		// the live series when a minute step has seen it already.
		"web/forecast: history of demand: 72h",
		"of 336h at 1m (4",
		"); forecasts (min_history 24h) with snaive_daily, hw_add_daily, hw_mul_daily, harmonic, holt; " +
			"later snaive_weekly at 192h, hw_add_weekly at 234h, hw_mul_weekly at 234h\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check --query output lacks %q:\n%s", want, out)
		}
	}
}

const youngHistoryConfig = `
prometheus: {url: %s, query_timeout: 20s}
scalers:
  - name: %s
    target: {kind: log}
    signals:
      - {name: load, query: 'max(shop_load{service="%s"})'}
    policies:
      - name: forecast
        type: predictive
        predictive: {signal: load, capacity_per_replica: 1, smooth: 5m, min_history: %s, model: holt}
    bounds: {min: 1, max: 100}
`

// check --query says what the loop's first tick will do with the history
// Prometheus holds, by asking the policy itself: with 30 minutes and a
// min_history of 1h it abstains until then; with 30 minutes past a
// min_history of 10m, still too few 5-minute points for holt, it abstains
// with the run's own reason (it used to say "forecasts"); with 3 hours it
// forecasts.
func TestCheckSaysWhatRunDoesWithAYoungHistory(t *testing.T) {
	end := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	young := historyLoad(end.Add(-29*time.Minute), 30)
	older := historyLoad(end.Add(-179*time.Minute), 180)
	srv := promtest.Start(t,
		promtest.WithHistory("shop_load", map[string]string{"service": "young"}, young),
		promtest.WithHistory("shop_load", map[string]string{"service": "older"}, older))
	for _, tc := range []struct {
		name, service, minHistory, want string
	}{
		{"young", "young", "1h", "); abstains until it has min_history 1h; later holt at "},
		{"early", "young", "10m", "); abstains: history too short to forecast: "},
		{"older", "older", "1h", "); forecasts (min_history 1h) with holt\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "scaled.yaml")
			if err := os.WriteFile(cfg, []byte(fmt.Sprintf(youngHistoryConfig, srv.URL(), tc.name, tc.service, tc.minHistory)), 0o644); err != nil {
				t.Fatal(err)
			}
			// The history ended an hour ago, so the instant query finds
			// nothing now (exit 1); the history is what is checked.
			out, stderr, code := runScaled(t, "check", "--query", "-c", cfg)
			if code == 2 || !strings.Contains(out, tc.name+"/forecast: history of load: ") || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %q in:\n%s%s", code, tc.want, out, stderr)
			}
		})
	}
}

// TestTuneReadsHistoryFromPrometheus backfills three days of a request
// rate into the real Prometheus and tunes on it through --query: every
// candidate, the choice, both parts' scores and the emitted config are
// those of the same history written as a trace file.
func TestTuneReadsHistoryFromPrometheus(t *testing.T) {
	srv, end, tracePath := recordedHistory(t, 3*1440)
	args := []string{"--startup-delay", "3m", "--max-evaluations", "16", "--budget", "10m", "--seed", "3"}
	fileOut, promOut := filepath.Join(t.TempDir(), "tuned.yaml"), filepath.Join(t.TempDir(), "tuned.yaml")
	fromFile := tune(t, append(args, "--trace", tracePath, "--out", fileOut)...)
	query := `shop_request_rate{service="web"}`
	// --median-replicas rescales the history as a trace file is.
	fromProm := tune(t, append(args, "--query", query, "--range", "3d", "--end", end.Format(time.RFC3339),
		"--prometheus.url", srv.URL(), "--median-replicas", "10", "--out", promOut)...)

	if diff := cmp.Diff(fromFile, fromProm, cmpopts.IgnoreUnexported(tuneCandidate{}), cmp.AllowUnexported(tuneChosen{}),
		cmpopts.IgnoreFields(tuneReport{}, "Trace", "Seconds", "Out")); diff != "" {
		t.Errorf("tune differs between the trace file and --query (-file +query):\n%s", diff)
	}
	if fromFile.Evaluated < 10 {
		t.Errorf("%d candidates evaluated, want at least 10", fromFile.Evaluated)
	}
	a, err := os.ReadFile(fileOut)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(promOut)
	if err != nil {
		t.Fatal(err)
	}
	// The files differ in the history they name, and nowhere else.
	strip := func(data []byte) string {
		var keep []string
		for _, l := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(l, "# History: ") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if diff := cmp.Diff(strip(a), strip(b)); diff != "" {
		t.Errorf("the emitted configs differ (-file +query):\n%s", diff)
	}
	if !strings.Contains(string(b), "# History: "+query+" over 72h to ") {
		t.Errorf("the config tuned on --query does not name the query as its history:\n%s", b)
	}
}

// TestTuneKeepsAQueryHistoryAtItsOwnRate: without --median-replicas a
// --query history is tuned at the rate the service had, as simulate takes
// it, so the model needs what one replica serves; every part's demand is
// the recorded rate.
func TestTuneKeepsAQueryHistoryAtItsOwnRate(t *testing.T) {
	srv, end, _ := recordedHistory(t, 3*1440)
	args := []string{"tune", "--startup-delay", "3m", "--max-evaluations", "8", "--budget", "10m", "--seed", "3", "--allow-worse",
		"--query", `shop_request_rate{service="web"}`, "--range", "3d", "--end", end.Format(time.RFC3339), "--prometheus.url", srv.URL()}
	_, stderr, code := runScaled(t, args...)
	if code != 2 || !strings.Contains(stderr, "--capacity-per-replica") || !strings.Contains(stderr, "own request rate") {
		t.Fatalf("without a capacity: exit %d, want 2 asking for --capacity-per-replica: %s", code, stderr)
	}
	rep := tune(t, append(args[1:], "--capacity-per-replica", "7")...)
	if rep.Demand != "own" || math.Abs(rep.Model.DemandScale-1) > 1e-9 {
		t.Errorf("demand %q at scale %g, want own at 1", rep.Demand, rep.Model.DemandScale)
	}
	text, _, code := runScaled(t, append(args, "--capacity-per-replica", "7")...)
	if code != 0 || !strings.Contains(text, "demand: the service's own rate") {
		t.Errorf("exit %d; the report does not say the demand is the service's own:\n%s", code, text)
	}
}
