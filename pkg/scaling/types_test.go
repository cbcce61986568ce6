package scaling

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want FailureKind
	}{
		{"nil is no failure", nil, ""},
		{"a signal error", Fail(FailureEmpty, "no series"), FailureEmpty},
		{"wrapped", fmt.Errorf("history: %w", Fail(FailureStale, "old")), FailureStale},
		{"any other error is a query error", errors.New("connection refused"), FailureQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.want {
				t.Errorf("KindOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
	if got := Fail(FailureTimeout, "after %s", "1s").Error(); got != "timeout: after 1s" {
		t.Errorf("message %q", got)
	}
}

func TestDirectionOf(t *testing.T) {
	if DirectionOf(3, 5) != DirectionUp || DirectionOf(5, 3) != DirectionDown || DirectionOf(4, 4) != DirectionNone {
		t.Error("DirectionOf compares desired with current")
	}
}
