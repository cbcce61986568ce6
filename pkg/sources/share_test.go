package sources

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// countingQuerier answers every query with the evaluation time as its
// sample's time and counts the calls per evaluation time; while gate is
// open (non-nil), a call waits for it to close.
type countingQuerier struct {
	mu    sync.Mutex
	calls map[time.Time]int
	gate  chan struct{}
	err   error
}

func (q *countingQuerier) Query(ctx context.Context, _ string, ts time.Time) (scaling.Sample, error) {
	q.mu.Lock()
	if q.calls == nil {
		q.calls = map[time.Time]int{}
	}
	q.calls[ts]++
	gate, err := q.gate, q.err
	q.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return scaling.Sample{}, transportError(ctx, "q", ctx.Err())
		}
	}
	return scaling.Sample{Time: ts, Value: 42}, err
}

func (q *countingQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) ([]scaling.Sample, error) {
	return nil, errors.New("not used")
}

func (q *countingQuerier) count(ts time.Time) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls[ts]
}

func TestSharingSendsOneQueryPerGridStep(t *testing.T) {
	next := &countingQuerier{}
	s := NewSharing(next)
	view := s.Every(15 * time.Second)
	grid := time.Unix(1_800_000_000, 0).UTC() // a multiple of 15 s
	// 100 scalers at staggered phases within one interval, then the next.
	for step := range 2 {
		for i := range 100 {
			tick := grid.Add(time.Duration(step)*15*time.Second + time.Duration(i)*150*time.Millisecond)
			got, err := QueryMaxAge(context.Background(), view, "sum(x)", tick, 0)
			if err != nil {
				t.Fatalf("tick %s: %v", tick, err)
			}
			if want := tick.Truncate(15 * time.Second); !got.Time.Equal(want) {
				t.Fatalf("tick %s: evaluated at %s, want the grid time %s", tick, got.Time, want)
			}
		}
	}
	for step := range 2 {
		at := grid.Add(time.Duration(step) * 15 * time.Second)
		if n := next.count(at); n != 1 {
			t.Errorf("queries evaluated at %s: %d, want 1", at, n)
		}
	}
	if st := s.Stats(); st.Asked != 200 || st.Shared != 198 {
		t.Errorf("stats %+v, want 200 asked and 198 shared", st)
	}
}

func TestSharingJoinsAQueryInFlight(t *testing.T) {
	next := &countingQuerier{gate: make(chan struct{})}
	view := NewSharing(next).Every(time.Minute)
	at := time.Unix(1_800_000_000, 0).UTC()
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range 50 {
		wg.Go(func() {
			if _, err := view.Query(context.Background(), "sum(x)", at.Add(time.Duration(i)*time.Second)); err == nil {
				ok.Add(1)
			}
		})
	}
	for next.count(at) == 0 {
		time.Sleep(time.Millisecond)
	}
	close(next.gate)
	wg.Wait()
	if n := next.count(at); n != 1 || ok.Load() != 50 {
		t.Errorf("%d queries sent, %d answers; want 1 and 50", n, ok.Load())
	}
}

func TestSharingAsksAgainWhenTheSenderGivesUp(t *testing.T) {
	next := &countingQuerier{gate: make(chan struct{})}
	view := NewSharing(next).Every(time.Minute)
	at := time.Unix(1_800_000_000, 0).UTC()
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := view.Query(ctx, "sum(x)", at)
		first <- err
	}()
	for next.count(at) == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() {
		_, err := view.Query(context.Background(), "sum(x)", at.Add(time.Second))
		second <- err
	}()
	cancel() // the scaler that sent it is stopped: its failure is its own
	if err := <-first; scaling.KindOf(err) != scaling.FailureTimeout {
		t.Fatalf("cancelled sender: %v, want a timeout", err)
	}
	close(next.gate)
	if err := <-second; err != nil {
		t.Errorf("the other signal: %v, want its own answer", err)
	}
	if n := next.count(at); n != 2 {
		t.Errorf("%d queries sent, want 2 (the second asks again)", n)
	}
}

func TestSharingSharesAServerFailure(t *testing.T) {
	next := &countingQuerier{err: scaling.Fail(scaling.FailureQuery, "bad_data: parse error")}
	view := NewSharing(next).Every(time.Minute)
	at := time.Unix(1_800_000_000, 0).UTC()
	for i := range 10 {
		if _, err := view.Query(context.Background(), "sum(x", at.Add(time.Duration(i)*time.Second)); scaling.KindOf(err) != scaling.FailureQuery {
			t.Fatalf("got %v, want the server's query_error", err)
		}
	}
	if n := next.count(at); n != 1 {
		t.Errorf("%d queries sent to a server that refuses it, want 1 per grid step", n)
	}
}

func TestSharingCountsTheGridInTheAge(t *testing.T) {
	view := NewSharing(&countingQuerier{}).Every(time.Minute)
	grid := time.Unix(1_800_000_000, 0).UTC()
	if _, err := QueryMaxAge(context.Background(), view, "up", grid.Add(20*time.Second), 30*time.Second); err != nil {
		t.Errorf("20 s after the grid, max age 30 s: %v", err)
	}
	s, err := QueryMaxAge(context.Background(), view, "up", grid.Add(40*time.Second), 30*time.Second)
	if scaling.KindOf(err) != scaling.FailureStale || !s.Time.Equal(grid) {
		t.Errorf("40 s after the grid, max age 30 s: %v at %s, want stale with the grid's sample", err, s.Time)
	}
}

func TestSharingKeepsTwoGridStepsAtMost(t *testing.T) {
	s := NewSharing(&countingQuerier{})
	view := s.Every(15 * time.Second)
	grid := time.Unix(1_800_000_000, 0).UTC()
	for step := range 100 {
		for q := range 10 {
			_, _ = view.Query(context.Background(), string(rune('a'+q)), grid.Add(time.Duration(step)*15*time.Second))
		}
	}
	s.mu.Lock()
	n := len(s.calls)
	s.mu.Unlock()
	if n != 20 {
		t.Errorf("%d answers kept for 10 queries, want those of the last two grid steps (20)", n)
	}
}

// The default max age guards against back ends that pass off old samples:
// the grid's own lag does not count against it, whatever the interval.
func TestSharingDefaultMaxAgeIgnoresTheGrid(t *testing.T) {
	view := NewSharing(&countingQuerier{}).Every(10 * time.Minute)
	grid := time.Unix(1_800_000_000, 0).UTC().Truncate(10 * time.Minute)
	if _, err := QueryMaxAge(context.Background(), view, "up", grid.Add(9*time.Minute), 0); err != nil {
		t.Errorf("9 minutes after the grid of a 10-minute interval, default max age: %v", err)
	}
}

func TestSharingExactAsksForTheTimeGiven(t *testing.T) {
	next := &countingQuerier{}
	view := NewSharing(next).Exact()
	at := time.Unix(1_800_000_007, 0).UTC()
	for range 3 {
		if s, err := view.Query(context.Background(), "up", at); err != nil || !s.Time.Equal(at) {
			t.Fatalf("got %v at %s, want the time asked, %s", err, s.Time, at)
		}
	}
	if n := next.count(at); n != 1 {
		t.Errorf("%d queries for one time, want 1", n)
	}
}
