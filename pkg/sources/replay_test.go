package sources

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// replayTrace has three one-minute steps with values 60, 120 and 30.
func replayTrace(t *testing.T) *Trace {
	t.Helper()
	tr, err := ReadTrace(strings.NewReader("timestamp,value\n0,60\n60,120\n120,30\n"))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var replayStart = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestReplayQuery(t *testing.T) {
	tr := replayTrace(t)
	at := func(d time.Duration) time.Time { return replayStart.Add(d) }
	for _, tc := range []struct {
		name  string
		speed float64
		loop  bool
		expr  string
		ts    time.Time
		want  scaling.Sample
		kind  scaling.FailureKind
	}{
		{name: "before start", speed: 1, ts: at(-time.Second), kind: scaling.FailureEmpty},
		{name: "first step still running", speed: 1, ts: at(59 * time.Second), kind: scaling.FailureEmpty},
		{name: "first step just ended", speed: 1, expr: "value", ts: at(time.Minute), want: scaling.Sample{Time: at(time.Minute), Value: 60}},
		{name: "held until the next step ends", speed: 1, expr: "value", ts: at(119 * time.Second), want: scaling.Sample{Time: at(time.Minute), Value: 60}},
		{name: "second step", speed: 1, expr: "value", ts: at(2 * time.Minute), want: scaling.Sample{Time: at(2 * time.Minute), Value: 120}},
		{name: "rate is per second", speed: 1, expr: "rate", ts: at(2 * time.Minute), want: scaling.Sample{Time: at(2 * time.Minute), Value: 2}},
		{name: "scaled rate", speed: 1, expr: " rate * 0.5 ", ts: at(2 * time.Minute), want: scaling.Sample{Time: at(2 * time.Minute), Value: 1}},
		{name: "divided value", speed: 1, expr: "value/4", ts: at(2 * time.Minute), want: scaling.Sample{Time: at(2 * time.Minute), Value: 30}},
		{name: "other expressions get the raw value", speed: 1, expr: `sum(rate(http_requests_total[1m]))`, ts: at(3 * time.Minute), want: scaling.Sample{Time: at(3 * time.Minute), Value: 30}},
		{name: "last step answers for one step", speed: 1, ts: at(3*time.Minute + 59*time.Second), want: scaling.Sample{Time: at(3 * time.Minute), Value: 30}},
		{name: "then the trace has ended", speed: 1, ts: at(4 * time.Minute), kind: scaling.FailureEmpty},
		{name: "loop starts over", speed: 1, loop: true, ts: at(4 * time.Minute), want: scaling.Sample{Time: at(4 * time.Minute), Value: 60}},
		{name: "loop second round", speed: 1, loop: true, ts: at(8*time.Minute + time.Second), want: scaling.Sample{Time: at(8 * time.Minute), Value: 120}},
		{name: "60x: one trace minute per second", speed: 60, ts: at(2 * time.Second), want: scaling.Sample{Time: at(2 * time.Second), Value: 120}},
		{name: "60x: step not yet ended", speed: 60, ts: at(1999 * time.Millisecond), want: scaling.Sample{Time: at(time.Second), Value: 60}},
		{name: "fractional speed", speed: 0.5, ts: at(2*time.Minute - time.Nanosecond), kind: scaling.FailureEmpty},
		{name: "fractional speed, ended", speed: 0.5, ts: at(2 * time.Minute), want: scaling.Sample{Time: at(2 * time.Minute), Value: 60}},
		{name: "bad factor", speed: 1, expr: "rate * x", ts: at(time.Hour), kind: scaling.FailureQuery},
		{name: "division by zero", speed: 1, expr: "value / 0", ts: at(time.Hour), kind: scaling.FailureQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReplay(tr, replayStart, tc.speed, tc.loop)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Query(context.Background(), tc.expr, tc.ts)
			if k := scaling.KindOf(err); k != tc.kind {
				t.Fatalf("kind %q (%v), want %q", k, err, tc.kind)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("sample (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReplayQueryRange(t *testing.T) {
	r, err := NewReplay(replayTrace(t), replayStart, 60, true)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) time.Time { return replayStart.Add(d) }
	got, err := r.QueryRange(context.Background(), "rate", at(-time.Second), at(4*time.Second), 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := []scaling.Sample{
		{Time: at(1 * time.Second), Value: 1}, {Time: at(1500 * time.Millisecond), Value: 1},
		{Time: at(2 * time.Second), Value: 2}, {Time: at(2500 * time.Millisecond), Value: 2},
		{Time: at(3 * time.Second), Value: 0.5}, {Time: at(3500 * time.Millisecond), Value: 0.5},
		{Time: at(4 * time.Second), Value: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("range (-want +got):\n%s", diff)
	}

	if _, err := r.QueryRange(context.Background(), "rate", at(-time.Hour), at(-time.Minute), time.Second); scaling.KindOf(err) != scaling.FailureEmpty {
		t.Errorf("range before start: got %v, want empty", err)
	}
	if _, err := r.QueryRange(context.Background(), "rate", at(0), at(time.Hour), 0); scaling.KindOf(err) != scaling.FailureQuery {
		t.Errorf("zero step: got %v, want query_error", err)
	}
	if _, err := r.QueryRange(context.Background(), "rate", at(0), at(1000*time.Hour), time.Millisecond); scaling.KindOf(err) != scaling.FailureQuery {
		t.Errorf("too many points: got %v, want query_error", err)
	}
}

func TestReplayMaxAge(t *testing.T) {
	r, err := NewReplay(replayTrace(t), replayStart, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	ts := replayStart.Add(time.Minute + 50*time.Second)
	if s, err := QueryMaxAge(context.Background(), r, "value", ts, time.Minute); err != nil || s.Value != 60 {
		t.Errorf("50s old with max age 1m: got %v, %v; want 60, nil", s, err)
	}
	if _, err := QueryMaxAge(context.Background(), r, "value", ts, 30*time.Second); scaling.KindOf(err) != scaling.FailureStale {
		t.Errorf("50s old with max age 30s: got %v, want stale", err)
	}
}

func TestReplayCancelledContext(t *testing.T) {
	r, err := NewReplay(replayTrace(t), replayStart, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Query(ctx, "value", replayStart.Add(time.Hour)); scaling.KindOf(err) != scaling.FailureTimeout {
		t.Errorf("cancelled: got %v, want timeout", err)
	}
}

func TestNewReplayRefusesBadInput(t *testing.T) {
	tr := replayTrace(t)
	for _, tc := range []struct {
		name  string
		tr    *Trace
		speed float64
		want  string
	}{
		{"nil trace", nil, 1, "replay trace"},
		{"zero speed", tr, 0, "replay speed: 0: must be a finite number > 0"},
		{"negative speed", tr, -2, "replay speed: -2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReplay(tc.tr, replayStart, tc.speed, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
