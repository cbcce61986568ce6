package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/daemontest"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// `make demo` as a new user sees it: the shipped examples/demo.yaml, run as
// written (only the listen address moved off the fixed port). Its first
// decision reads a value, not an empty replay, and the in-memory target
// follows the morning ramp instead of sitting at its initial capacity.
func TestDemoReadsFromTheFirstTickAndMovesCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for about 20 s of wall time")
	}
	addr := daemontest.FreeAddr(t)
	d := spawnDaemon(t, addr, "run", "--config", "../../examples/demo.yaml", "--listen", addr)
	// One tick per wall second: 40 decisions are the trace's first 40 minutes.
	const ticks = 40
	var got []scaling.Decision
	waitUntil(t, 3*time.Minute, "40 decisions of the demo", func() bool {
		if d.Healthy(time.Second) != nil {
			return false
		}
		got = d.decisions(t, "web", ticks)
		return len(got) >= ticks
	})
	first := got[len(got)-1] // newest first
	for _, s := range first.Signals {
		if s.Failed != "" {
			t.Errorf("first decision (%s): signal %s failed (%s): %s", first.Time.Format(time.RFC3339), s.Name, s.Failed, s.Error)
		}
	}
	if first.Outcome == scaling.OutcomeFailed {
		t.Errorf("first decision failed: %s", first.Error)
	}
	applied, ups, highest := 0, 0, int32(0)
	for _, dec := range got {
		highest = max(highest, dec.Desired)
		if dec.DryRun {
			t.Fatalf("decision at %s is a dry run: the demo acts on its in-memory target", dec.Time.Format(time.RFC3339))
		}
		if dec.Outcome == scaling.OutcomeApplied {
			applied++
			if dec.Direction == scaling.DirectionUp {
				ups++
			}
		}
	}
	if applied < 3 || ups < 2 {
		t.Errorf("in the demo's first %d ticks capacity changed %d times (%d up), want at least 3 changes and 2 rises on the morning ramp", ticks, applied, ups)
	}
	if highest < 5 {
		t.Errorf("highest capacity in the first %d minutes of the morning ramp is %d, want at least 5 (from 3)", ticks, highest)
	}
	// The demo logs for a terminal: a short line per change, not every
	// decision's fields.
	out := d.Output()
	if changes := consoleChangeRE.FindAllString(out, -1); len(changes) < applied {
		t.Errorf("%d console lines of the form \"web 3 -> 5: ...\" for %d changes:\n%s", len(changes), applied, out)
	}
	if strings.Contains(out, `"recommendations"`) {
		t.Errorf("the console shows a decision's fields:\n%s", out)
	}
	// One line per change: the target does not say it again.
	if n := strings.Count(out, "log target set"); n > 0 {
		t.Errorf("%d lines of the log target beside the %d changes' own:\n%s", n, applied, out)
	}
}

var consoleChangeRE = regexp.MustCompile(`(?m)\tINFO\tweb \d+ -> \d+: requests-per-replica: `)
