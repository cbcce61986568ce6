//go:build integration

package main

import (
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
	fromProm := tune(t, append(args, "--query", query, "--range", "3d", "--end", end.Format(time.RFC3339),
		"--prometheus.url", srv.URL(), "--out", promOut)...)

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
