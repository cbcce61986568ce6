package telemetry

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

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

// A kept decision reads back as it was added, whatever it holds.
func TestDecisionLogRoundTrip(t *testing.T) {
	full := decision()
	full.Signals[0].Time = t0.Add(-time.Second)
	full.Adjustments = []scaling.Adjustment{{Guard: "bounds", From: 7, To: 6, Reason: "bounds.max 6"}}
	full.DryRun = true
	full.Error = "target: degraded"
	empty := scaling.Decision{Scaler: "web", Signals: []scaling.SignalValue{}, Recommendations: []scaling.Recommendation{}, Adjustments: []scaling.Adjustment{}}
	bare := scaling.Decision{Scaler: "web", Outcome: scaling.OutcomeFailed, Error: "read target: timeout"}
	for _, d := range []scaling.Decision{full, empty, bare} {
		l := NewDecisionLog(3)
		l.Add(d)
		l.Add(d)
		for _, got := range l.Last("web", 0) {
			if diff := cmp.Diff(d, got); diff != "" {
				t.Errorf("read back (-added +got):\n%s", diff)
			}
		}
	}
}

// A steady scaler's texts repeat: the log keeps one copy of each, and a
// repeated decision costs only its fixed part.
func TestDecisionLogSharesRepeatedTexts(t *testing.T) {
	l := NewDecisionLog(10)
	d := decision()
	l.Add(d)
	first := l.Bytes()
	again := decision()
	again.Recommendations[0].Reason = strings.Clone(d.Recommendations[0].Reason) // equal, not the same bytes
	l.Add(again)
	second := l.Bytes() - first
	if second >= first {
		t.Errorf("a repeated decision cost %d bytes, the first %d: texts are not shared", second, first)
	}
	ds := l.Last("web", 2)
	if unsafe.StringData(ds[0].Recommendations[0].Reason) != unsafe.StringData(ds[1].Recommendations[0].Reason) {
		t.Error("two equal reasons are kept as two copies")
	}
}

// The byte bound: each scaler keeps its share, dropping its oldest
// decisions, and always keeps its newest.
func TestDecisionLogBoundedInBytes(t *testing.T) {
	one := func(i int) scaling.Decision {
		d := decision()
		d.Desired = int32(i)
		d.Recommendations[0].Reason = fmt.Sprintf("reason %d %s", i, strings.Repeat("x", 200))
		return d
	}
	probe := NewDecisionLog(1)
	probe.Add(one(1))
	per := probe.Bytes()

	l := NewDecisionLog(100).WithMaxBytes(2 * 10 * per) // two scalers, about ten decisions each
	for i := 1; i <= 50; i++ {
		l.Add(one(i))
		d := one(i)
		d.Scaler = "api"
		l.Add(d)
	}
	got := desiredOf(l.Last("web", 0))
	if len(got) < 8 || len(got) > 12 || got[0] != 50 {
		t.Errorf("kept %v, want about the newest ten, newest first", got)
	}
	if b := l.Bytes(); b > 2*10*per {
		t.Errorf("log holds %d bytes, bound %d", b, 2*10*per)
	}

	tiny := NewDecisionLog(100).WithMaxBytes(1)
	tiny.Add(one(1))
	tiny.Add(one(2))
	if diff := cmp.Diff([]int32{2}, desiredOf(tiny.Last("web", 0))); diff != "" {
		t.Errorf("below one decision's bytes (-want +got):\n%s", diff)
	}
}

// BenchmarkDecisionLogBytesPerScaler fills the history of 1,000 scalers
// with realistic decisions (one signal, one target-tracking policy, a
// reason that repeats while the load is steady) and reports the heap it
// takes per scaler, against what the log counts: with the count bounding
// (100 decisions each), and with the bytes bounding, at the share 10,000
// scalers get of the default decision_history_mib (64 MiB).
func BenchmarkDecisionLogBytesPerScaler(b *testing.B) {
	b.Run("count", func(b *testing.B) { benchDecisionLogBytes(b, 0) })
	b.Run("share-of-64MiB-at-10000", func(b *testing.B) { benchDecisionLogBytes(b, 64<<20/10000*1000) })
}

func benchDecisionLogBytes(b *testing.B, maxBytes int64) {
	const history = 100
	benchHeapPerScaler(b, 1000, func(names []string) *DecisionLog {
		l := NewDecisionLog(history).WithMaxBytes(maxBytes)
		for tick := range history + 10 {
			for _, name := range names {
				d := scaling.Decision{
					Scaler: name, Time: t0.Add(time.Duration(tick) * 15 * time.Second),
					Signals:         []scaling.SignalValue{{Name: "rps", Value: 100, Time: t0}},
					Recommendations: []scaling.Recommendation{{Policy: "rps", Replicas: 2, Reason: fmt.Sprintf("total %.2f / (target 50.00 x 2 current) = ratio 1.00 within tolerance -> 2", 100.0)}},
					Winner:          "rps", Recommended: 2, Current: 2, Ready: 2, Desired: 2,
					Direction: scaling.DirectionNone, Outcome: scaling.OutcomeUnchanged, DryRun: true,
				}
				l.Add(d)
			}
		}
		return l
	}, func(l *DecisionLog) (float64, string) { return float64(l.Bytes()), "counted-B/scaler" })
}

// A scaler whose share grows (another scaler is forgotten) keeps more
// again, newest first, after the bound trimmed it.
func TestDecisionLogGrowsAfterTrimming(t *testing.T) {
	probe := NewDecisionLog(1)
	probe.Add(scaling.Decision{Scaler: "web", Desired: 1})
	per := probe.Bytes()
	l := NewDecisionLog(8).WithMaxBytes(2 * 3 * per)
	l.Track("other")
	for i := 1; i <= 10; i++ {
		l.Add(scaling.Decision{Scaler: "web", Desired: int32(i)})
	}
	if diff := cmp.Diff([]int32{10, 9, 8}, desiredOf(l.Last("web", 0))); diff != "" {
		t.Errorf("trimmed to its share (-want +got):\n%s", diff)
	}
	l.Forget("other")
	for i := 11; i <= 14; i++ {
		l.Add(scaling.Decision{Scaler: "web", Desired: int32(i)})
	}
	if diff := cmp.Diff([]int32{14, 13, 12, 11, 10, 9}, desiredOf(l.Last("web", 0))); diff != "" {
		t.Errorf("after its share doubled (-want +got):\n%s", diff)
	}
}

// A ring bounded by its byte share grows to about what the share holds,
// not to the next power of two: room it never fills is heap the log does
// not count.
func TestDecisionLogRingGrowsToItsShare(t *testing.T) {
	probe := NewDecisionLog(1)
	probe.Add(scaling.Decision{Scaler: "web", Desired: 1})
	per := probe.Bytes()
	l := NewDecisionLog(100).WithMaxBytes(2 * 20 * per) // 20 decisions each for two scalers
	l.Track("other")
	for i := 1; i <= 200; i++ {
		l.Add(scaling.Decision{Scaler: "web", Desired: int32(i)})
	}
	r := l.rings["web"]
	if r.n != 20 {
		t.Errorf("keeps %d decisions, want the 20 of its share", r.n)
	}
	if c := cap(r.buf); c > 21 {
		t.Errorf("ring capacity %d for a share of 20 decisions, want at most 21", c)
	}
}
