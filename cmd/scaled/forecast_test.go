package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeTrace writes days of a daily sine at step seconds.
func writeTrace(t *testing.T, step, days int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	perDay := 86400 / step
	for i := range days * perDay {
		v := 100 + 50*math.Sin(2*math.Pi*float64(i)/float64(perDay))
		fmt.Fprintf(&b, "%d,%d\n", 1700000000+i*step, int(math.Round(v)))
	}
	path := filepath.Join(t.TempDir(), "trace.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestForecastWritesEveryStepAfterWarmup(t *testing.T) {
	trace := writeTrace(t, 3600, 10)
	out := filepath.Join(t.TempDir(), "forecast.csv")
	stdout, stderr, code := runScaled(t, "forecast", "--trace", trace, "--horizon", "2h", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != "time,target_time,forecast,lower,upper,model" {
		t.Errorf("header %q", lines[0])
	}
	// 240 hourly points, a 24 h warm-up: one forecast after each of the last 217 points.
	if got, want := len(lines)-1, 240-24+1; got != want {
		t.Errorf("%d rows: want %d", got, want)
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		origin, _ := strconv.ParseInt(f[0], 10, 64)
		target, _ := strconv.ParseInt(f[1], 10, 64)
		point, _ := strconv.ParseFloat(f[2], 64)
		lo, _ := strconv.ParseFloat(f[3], 64)
		hi, _ := strconv.ParseFloat(f[4], 64)
		if target-origin != 2*3600 || lo > point || point > hi || f[5] == "" {
			t.Fatalf("row %q: want target 2h after time and lower <= forecast <= upper", l)
		}
	}
	// A clean daily sine: every model beats "same time yesterday" only by
	// rounding, so the score must at least be printed for both.
	for _, want := range []string{"seasonal naive (daily)", "MASE", "sMAPE", "auto "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
}

func TestForecastRefusesBadFlags(t *testing.T) {
	trace := writeTrace(t, 3600, 3)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--horizon", "5m"}, "--horizon: 5m: shorter than the trace's step (1h)"},
		{[]string{"--horizon", "90m"}, "--horizon: 1h30m: must be a multiple of the trace's step (1h)"},
		{[]string{"--model", "arima"}, `--model: "arima": must be one of auto`},
		{[]string{"--quantile", "1"}, "--quantile: 1: must be in [0.5, 1)"},
	} {
		_, stderr, code := runScaled(t, append([]string{"forecast", "--trace", trace}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q: want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// forecastConfig is a scaler whose predictive policy replays trace, with
// settings that differ from the command's defaults.
func forecastConfig(t *testing.T, trace string) string {
	t.Helper()
	return writeConfig(t, fmt.Sprintf(`
scalers:
  - name: web
    target: {kind: log}
    startup_delay: 50m
    signals: [{name: load, replay: {trace: %s}}]
    policies:
      - name: plan
        type: predictive
        predictive: {signal: load, capacity_per_replica: 10, model: hw_add_daily, quantile: 0.8, lead: 20m, min_history: 48h, history: 72h, refit_every: 3h}
    bounds: {max: 50}
  - name: api
    target: {kind: log}
    signals: [{name: load, replay: {trace: %s}}]
    policies:
      - {name: load, type: target_tracking, target_tracking: {signal: load, target_type: average_value, target: 10}}
    bounds: {max: 50}
`, trace, trace))
}

// With --config, forecast takes the scaler's predictive policy: its
// model, quantile, history, min_history, refit_every, a horizon of its
// startup delay plus lead (rounded up to the trace's step) and its trace.
func TestForecastTakesAScalersPredictivePolicy(t *testing.T) {
	trace := writeTrace(t, 3600, 8)
	cfg := forecastConfig(t, trace)
	stdout, stderr, code := runScaled(t, "forecast", "--config", cfg, "--out", filepath.Join(t.TempDir(), "f.csv"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"(scaler web, policy plan)",
		"step 1h, horizon 2h (2 steps), model hw_add_daily, refit every 3h on at most 72h, first forecast after 48h",
		"hw_add_daily ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	// A flag given on the command line wins over the config.
	stdout, stderr, code = runScaled(t, "forecast", "--config", cfg, "--scaler", "web", "--horizon", "1h", "--model", "auto", "--out", filepath.Join(t.TempDir(), "f.csv"))
	if code != 0 || !strings.Contains(stdout, "horizon 1h (1 steps), model auto,") {
		t.Errorf("flags over the config: exit %d, %s\n%s", code, stderr, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scaler", "api"}, `--scaler: "api": no scaler of that name with a predictive policy`},
		{[]string{"--scaler", "nope"}, `--scaler: "nope": no scaler of that name with a predictive policy`},
	} {
		_, stderr, code := runScaled(t, append([]string{"forecast", "--config", cfg}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q: want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// The flags are named after the predictive policy's keys; the old names
// still work, with a note, and --help shows only the new ones.
func TestForecastFlagsAreNamedLikeConfigKeys(t *testing.T) {
	trace := writeTrace(t, 3600, 4)
	stdout, stderr, code := runScaled(t, "forecast", "--trace", trace, "--horizon", "1h", "--warmup", "30h", "--window", "50h", "--refit", "2h")
	if code != 0 {
		t.Fatalf("old names: exit %d: %s", code, stderr)
	}
	for _, note := range []string{"--warmup has been deprecated, use --min-history", "--window has been deprecated, use --history", "--refit has been deprecated, use --refit-every"} {
		if !strings.Contains(stderr+stdout, note) {
			t.Errorf("no note %q:\n%s", note, stderr)
		}
	}
	if !strings.Contains(stderr, "refit every 2h on at most 50h, first forecast after 30h") {
		t.Errorf("the old names did not set the values:\n%s", stderr)
	}
}
