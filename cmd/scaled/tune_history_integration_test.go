//go:build integration

package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

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
