package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// rangeRecorder answers every range query with one point per step, valued
// the point's unix minute (pointValue), refusing more than Prometheus' 11,000 points.
type rangeRecorder struct {
	calls [][2]time.Time
	fail  bool
}

func (r *rangeRecorder) Query(context.Context, string, time.Time) (scaling.Sample, error) {
	return scaling.Sample{}, errors.New("not used")
}

func (r *rangeRecorder) QueryRange(_ context.Context, _ string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	r.calls = append(r.calls, [2]time.Time{start, end})
	if r.fail {
		return nil, scaling.Fail(scaling.FailureTimeout, "down")
	}
	if n := end.Sub(start)/step + 1; n > sources.MaxRangePoints {
		return nil, scaling.Fail(scaling.FailureQuery, "%d points: too many", n)
	}
	var out []scaling.Sample
	for t := start; !t.After(end); t = t.Add(step) {
		out = append(out, scaling.Sample{Time: t, Value: pointValue(t)})
	}
	return out, nil
}

// pointValue is the value rangeRecorder gives the point at t: its unix
// minute, within float32's exact integers.
func pointValue(t time.Time) float64 { return float64(t.Unix() / 60 % 10_000_000) }

func TestHistoryCacheFetchesTheTailOnly(t *testing.T) {
	day := 24 * time.Hour
	now := time.Date(2024, 5, 1, 12, 0, 30, 0, time.UTC)
	c := newHistoryCache(policy.HistoryNeed{Signal: "rps", Window: 14 * day, Step: time.Minute}, scaling.DefaultRange, nil)
	q := &rangeRecorder{}
	ctx := context.Background()

	check := func(now time.Time, wantCalls [][2]time.Time) {
		t.Helper()
		q.calls = nil
		h, err := c.refresh(ctx, q, "x", now)
		if err != nil {
			t.Fatal(err)
		}
		got := h.Samples()
		if diff := cmp.Diff(wantCalls, q.calls); diff != "" {
			t.Errorf("queries at %s (-want +got):\n%s", now, diff)
		}
		end := now.Truncate(time.Minute)
		if len(got) != 14*24*60+1 || !got[0].Time.Equal(end.Add(-14*day)) || !got[len(got)-1].Time.Equal(end) {
			t.Fatalf("history at %s: %d points from %s to %s: want 20,161 from %s to %s",
				now, len(got), got[0].Time, got[len(got)-1].Time, end.Add(-14*day), end)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Time.Sub(got[i-1].Time) != time.Minute || got[i].Value != pointValue(got[i].Time) {
				t.Fatalf("history at %s: point %d %+v after %+v: want one per minute, each its own", now, i, got[i], got[i-1])
			}
		}
	}
	end := now.Truncate(time.Minute)
	start := end.Add(-14 * day)
	// First: the whole window in pages of at most 11,000 points.
	check(now, [][2]time.Time{
		{start, start.Add(10999 * time.Minute)},
		{start.Add(11000 * time.Minute), end},
	})
	// 15 s later: no new minute, no query.
	check(now.Add(15*time.Second), nil)
	// The next minute: the last point again and the new one.
	check(now.Add(45*time.Second), [][2]time.Time{{end, end.Add(time.Minute)}})
	// Ten minutes on: the tail only (from the last point fetched), and the window slides.
	check(now.Add(10*time.Minute+45*time.Second), [][2]time.Time{{end.Add(time.Minute), end.Add(11 * time.Minute)}})
}

func TestHistoryCacheKeepsItsSamplesOnAnError(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	c := newHistoryCache(policy.HistoryNeed{Signal: "rps", Window: time.Hour, Step: time.Minute}, scaling.DefaultRange, nil)
	q := &rangeRecorder{}
	if _, err := c.refresh(context.Background(), q, "x", now); err != nil {
		t.Fatal(err)
	}
	q.fail = true
	if _, err := c.refresh(context.Background(), q, "x", now.Add(5*time.Minute)); scaling.KindOf(err) != scaling.FailureTimeout {
		t.Fatalf("err = %v: want the source's timeout", err)
	}
	q.fail, q.calls = false, nil
	got, err := c.refresh(context.Background(), q, "x", now.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// The failed tail is fetched again, from the last good point.
	if diff := cmp.Diff([][2]time.Time{{now, now.Add(5 * time.Minute)}}, q.calls); diff != "" {
		t.Errorf("queries after an error (-want +got):\n%s", diff)
	}
	if got.Len() != 61 {
		t.Errorf("%d points: want 61", got.Len())
	}
}

// failSecondPage answers range queries as rangeRecorder does, but the one
// that starts after the first page of its read fails once.
type failSecondPage struct {
	rangeRecorder
	failed bool
}

func (f *failSecondPage) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	if len(f.calls) == 1 && !f.failed {
		f.failed = true
		f.calls = append(f.calls, [2]time.Time{start, end})
		return nil, scaling.Fail(scaling.FailureThrottled, "not sent: too many in flight")
	}
	return f.rangeRecorder.QueryRange(ctx, expr, start, end, step)
}

// TestHistoryCacheKeepsThePagesItRead: when the second page of a window's
// first read fails, the tick fails (its policy holds), and the next read
// goes on from the last point of the first page instead of reading it
// again.
func TestHistoryCacheKeepsThePagesItRead(t *testing.T) {
	day := 24 * time.Hour
	now := time.Date(2024, 5, 1, 12, 0, 30, 0, time.UTC)
	end := now.Truncate(time.Minute)
	start := end.Add(-14 * day)
	c := newHistoryCache(policy.HistoryNeed{Signal: "rps", Window: 14 * day, Step: time.Minute}, scaling.DefaultRange, nil)
	q := &failSecondPage{}
	if _, err := c.refresh(context.Background(), q, "x", now); scaling.KindOf(err) != scaling.FailureThrottled {
		t.Fatalf("err = %v: want the second page's failure", err)
	}
	q.calls = nil
	h, err := c.refresh(context.Background(), q, "x", now.Add(15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	pageEnd := start.Add(10999 * time.Minute)
	if diff := cmp.Diff([][2]time.Time{{pageEnd, end}}, q.calls); diff != "" {
		t.Errorf("the read after the failed page (-want +got):\n%s", diff)
	}
	if h.Len() != 20161 || h.Missing() != 0 || !h.Time(0).Equal(start) {
		t.Errorf("history: %d points from %s, %d missing: want the 20,161 of the window", h.Len(), h.Time(0), h.Missing())
	}
}
