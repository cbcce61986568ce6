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
		{[]string{"--horizon", "5m"}, "--horizon: 5m0s: shorter than the trace's step (1h0m0s)"},
		{[]string{"--horizon", "90m"}, "--horizon: 1h30m0s: must be a multiple of the trace's step (1h0m0s)"},
		{[]string{"--model", "arima"}, `--model: "arima": must be one of auto`},
		{[]string{"--quantile", "1"}, "--quantile: 1: must be in [0.5, 1)"},
	} {
		_, stderr, code := runScaled(t, append([]string{"forecast", "--trace", trace}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q: want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
