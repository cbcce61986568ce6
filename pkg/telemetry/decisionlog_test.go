package telemetry

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// desiredOf lists the Desired field of ds, which the tests use as an id.
func desiredOf(ds []scaling.Decision) []int32 {
	out := []int32{}
	for _, d := range ds {
		out = append(out, d.Desired)
	}
	return out
}

func TestDecisionLogRing(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		added int // decisions 1..added, in order
		limit int
		want  []int32
	}{
		{name: "empty", size: 3, added: 0, limit: 0, want: []int32{}},
		{name: "partly filled, all", size: 3, added: 2, limit: 0, want: []int32{2, 1}},
		{name: "full", size: 3, added: 3, limit: 0, want: []int32{3, 2, 1}},
		{name: "wrapped drops the oldest", size: 3, added: 7, limit: 0, want: []int32{7, 6, 5}},
		{name: "limit below kept", size: 3, added: 7, limit: 2, want: []int32{7, 6}},
		{name: "limit above kept", size: 3, added: 2, limit: 10, want: []int32{2, 1}},
		{name: "negative limit is all", size: 3, added: 4, limit: -1, want: []int32{4, 3, 2}},
		{name: "size below one keeps one", size: 0, added: 3, limit: 0, want: []int32{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewDecisionLog(tt.size)
			l.Track("web")
			for i := 1; i <= tt.added; i++ {
				l.Add(scaling.Decision{Scaler: "web", Desired: int32(i)})
				l.Add(scaling.Decision{Scaler: "other", Desired: int32(100 + i)})
			}
			if diff := cmp.Diff(tt.want, desiredOf(l.Last("web", tt.limit))); diff != "" {
				t.Errorf("Last(web, %d) (-want +got):\n%s", tt.limit, diff)
			}
		})
	}
}

func TestDecisionLogScalersAndForget(t *testing.T) {
	l := NewDecisionLog(2)
	l.Add(scaling.Decision{Scaler: "web"})
	l.Add(scaling.Decision{Scaler: "api"})
	l.Track("batch")
	if diff := cmp.Diff([]string{"api", "batch", "web"}, l.Scalers()); diff != "" {
		t.Errorf("Scalers (-want +got):\n%s", diff)
	}
	if !l.Known("batch") || l.Last("batch", 0) == nil || len(l.Last("batch", 0)) != 0 {
		t.Errorf("tracked scaler: Known=%v Last=%#v, want known with an empty, non-nil history", l.Known("batch"), l.Last("batch", 0))
	}
	l.Forget("web")
	if l.Known("web") || l.Last("web", 0) != nil {
		t.Error("web is still known after Forget")
	}
	if diff := cmp.Diff([]string{"api", "batch"}, l.Scalers()); diff != "" {
		t.Errorf("Scalers after Forget (-want +got):\n%s", diff)
	}
}

func TestDecisionLogCopiesSlices(t *testing.T) {
	l := NewDecisionLog(2)
	d := scaling.Decision{
		Scaler:          "web",
		Signals:         []scaling.SignalValue{{Name: "rps", Value: 1}},
		Recommendations: []scaling.Recommendation{{Policy: "p", Replicas: 2}},
		Adjustments:     []scaling.Adjustment{{Guard: "bounds", From: 2, To: 3}},
	}
	l.Add(d)
	d.Signals[0].Value = 99
	d.Recommendations[0].Replicas = 99
	d.Adjustments[0].To = 99
	got := l.Last("web", 1)[0]
	if got.Signals[0].Value != 1 || got.Recommendations[0].Replicas != 2 || got.Adjustments[0].To != 3 {
		t.Errorf("the log shares slices with the caller: %+v", got)
	}
}

func TestNilDecisionLog(t *testing.T) {
	var l *DecisionLog
	l.Add(scaling.Decision{Scaler: "web"})
	l.Track("web")
	l.Forget("web")
	if l.Last("web", 1) != nil || l.Scalers() != nil || l.Known("web") || l.Size() != 0 {
		t.Error("a nil log is not empty")
	}
}

// TestDecisionLogConcurrent is meant for -race: writers per scaler, readers
// and a forgetter at once, and each reader checks that what it sees is
// newest first.
func TestDecisionLogConcurrent(t *testing.T) {
	l := NewDecisionLog(16)
	const writers, perWriter = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			name := fmt.Sprintf("s%d", w)
			for i := range perWriter {
				l.Add(scaling.Decision{Scaler: name, Desired: int32(i), Time: t0.Add(time.Duration(i) * time.Second)})
			}
		})
	}
	errs := make(chan string, writers)
	for r := range writers {
		wg.Go(func() {
			name := fmt.Sprintf("s%d", r)
			for range perWriter {
				ds := l.Last(name, 0)
				for i := 1; i < len(ds); i++ {
					if ds[i].Desired != ds[i-1].Desired-1 {
						errs <- fmt.Sprintf("%s: not newest first and contiguous: %v", name, desiredOf(ds))
						return
					}
				}
				_ = l.Scalers()
			}
		})
	}
	wg.Go(func() {
		for range perWriter {
			l.Forget("gone")
			l.Add(scaling.Decision{Scaler: "gone"})
		}
	})
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for w := range writers {
		got := desiredOf(l.Last(fmt.Sprintf("s%d", w), 3))
		if diff := cmp.Diff([]int32{perWriter - 1, perWriter - 2, perWriter - 3}, got); diff != "" {
			t.Errorf("s%d newest (-want +got):\n%s", w, diff)
		}
	}
}
