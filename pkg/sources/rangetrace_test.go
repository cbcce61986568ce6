package sources

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

func TestTraceFromRange(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC().Truncate(time.Minute)
	at := func(min int, v float64) scaling.Sample {
		return scaling.Sample{Time: t0.Add(time.Duration(min) * time.Minute), Value: v}
	}
	// Nothing at 0 and 1; 4 and 5 missing.
	q := fakes.Samples(at(2, 1), at(3, 2.5), at(6, 0.5), at(7, 4))
	rt, err := TraceFromRange(context.Background(), q, "rps", t0, t0.Add(7*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Each rate becomes the count of the minute that ends at its sample.
	want := []scaling.Sample{at(1, 60), at(2, 150), at(3, 150), at(4, 150), at(5, 30), at(6, 240)}
	if diff := cmp.Diff(want, rt.Samples); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
	if rt.Step != time.Minute || rt.Wanted != 8 || rt.Leading != 2 || rt.Missing != 2 {
		t.Errorf("step %s wanted %d leading %d missing %d: want 1m, 8, 2, 2", rt.Step, rt.Wanted, rt.Leading, rt.Missing)
	}
}

func TestTraceFromRangeRefuses(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC().Truncate(time.Minute)
	at := func(min int, v float64) scaling.Sample {
		return scaling.Sample{Time: t0.Add(time.Duration(min) * time.Minute), Value: v}
	}
	for _, tc := range []struct {
		name    string
		samples []scaling.Sample
		end     int
		step    time.Duration
		want    string
	}{
		{"empty", nil, 10, time.Minute, `"rps": no data between`},
		{"negative", []scaling.Sample{at(0, 1), at(1, -2)}, 1, time.Minute, `"rps": value -2 at`},
		{"holes", []scaling.Sample{at(0, 1), at(9, 1)}, 9, time.Minute, `"rps": 8 of 10 steps of 1m`},
		{"one step", []scaling.Sample{at(3, 1)}, 3, time.Minute, "one step of data"},
		{"step", []scaling.Sample{at(0, 1)}, 3, 1500 * time.Millisecond, "step: 1.5s: must be a whole number of seconds"},
		{"range", []scaling.Sample{at(0, 1)}, 0, time.Minute, "must span at least one step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TraceFromRange(context.Background(), fakes.Samples(tc.samples...), "rps", t0, t0.Add(time.Duration(tc.end)*time.Minute), tc.step)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
