package engine

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// limitedActuator takes at most got and reports a status.
type limitedActuator struct {
	got    int32
	status string
	asked  []int32
}

func (l *limitedActuator) Read(context.Context) (scaling.Capacity, error) {
	return scaling.Capacity{Current: 4, Ready: 4}, nil
}

func (l *limitedActuator) Set(_ context.Context, n int32, _ string) error {
	l.asked = append(l.asked, n)
	return &actuators.LimitedError{Asked: n, Got: l.got, Reason: "account limit"}
}

func (l *limitedActuator) Status() string { return l.status }

func TestTargetLimitAndStatus(t *testing.T) {
	type seen struct {
		Desired   int32
		Direction scaling.Direction
		Outcome   scaling.Outcome
		Error     string
		Last      scaling.Adjustment
	}
	for _, tc := range []struct {
		name   string
		act    *limitedActuator
		want   seen
		failed int
	}{
		{
			name: "clamped raise is applied as far as it went",
			act:  &limitedActuator{got: 6},
			want: seen{Desired: 6, Direction: scaling.DirectionUp, Outcome: scaling.OutcomeApplied,
				Error: "set target: limited to 6 of 8: account limit",
				Last:  scaling.Adjustment{Guard: "target_limit", From: 8, To: 6, Reason: "account limit"}},
		},
		{
			name: "clamped to the current capacity changes nothing",
			act:  &limitedActuator{got: 4},
			want: seen{Desired: 4, Direction: scaling.DirectionNone, Outcome: scaling.OutcomeUnchanged,
				Error: "set target: limited to 4 of 8: account limit",
				Last:  scaling.Adjustment{Guard: "target_limit", From: 8, To: 4, Reason: "account limit"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rec := newTestScaler(t, &fakes.Source{Value: 1}, tc.act, false, 0)
			d := s.Tick(context.Background(), t0)
			got := seen{Desired: d.Desired, Direction: d.Direction, Outcome: d.Outcome, Error: d.Error}
			if n := len(d.Adjustments); n > 0 {
				got.Last = d.Adjustments[n-1]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int32{8}, tc.act.asked); diff != "" {
				t.Errorf("asked (-want +got):\n%s", diff)
			}
			if rec.Count() != 1 {
				t.Errorf("recorded %d decisions, want 1", rec.Count())
			}
		})
	}

	t.Run("a status reaches the decision", func(t *testing.T) {
		act := &limitedActuator{got: 4, status: "provisioned concurrency FAILED: init error"}
		s, _ := newTestScaler(t, &fakes.Source{Value: 0.5}, act, false, 0) // 4 at target: no Set
		d := s.Tick(context.Background(), t0)
		if d.Outcome != scaling.OutcomeUnchanged || d.Error != "target: provisioned concurrency FAILED: init error" {
			t.Errorf("outcome %q error %q", d.Outcome, d.Error)
		}
		if len(act.asked) != 0 {
			t.Errorf("Set called with %v at target", act.asked)
		}
	})
}
