package main

import (
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/actuators"
)

type timings struct{ n int }

func (t *timings) ObserveTarget(string, time.Duration, string) { t.n++ }

type warned struct {
	timings
	got []string
}

func (w *warned) ObserveWarning(reason, message string) { w.got = append(w.got, reason+": "+message) }

// A Scaler object's target observers take its target's warnings to the
// one that records Events, and skip those that only time calls.
func TestTargetObserversPassWarningsOn(t *testing.T) {
	metrics, events := &timings{}, &warned{}
	var obs actuators.TargetObserver = targetObservers{metrics, events}
	w, ok := obs.(actuators.WarningObserver)
	if !ok {
		t.Fatal("a Scaler object's target observers take no warnings")
	}
	w.ObserveWarning(actuators.WarningReaderDied, "reader r died")
	if len(events.got) != 1 || events.got[0] != "ReaderDiedOnCreation: reader r died" {
		t.Errorf("warnings %q", events.got)
	}
}
