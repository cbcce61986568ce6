package actuators

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

func TestLogRecordsWhatItIsAskedToSet(t *testing.T) {
	ctx := context.Background()
	l := NewLog(3, nil)
	for _, n := range []int32{5, 5, 2} {
		if err := l.Set(ctx, n, "test"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(scaling.Capacity{Current: 2, Ready: 2}, got); diff != "" {
		t.Errorf("capacity (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int32{5, 2}, l.History()); diff != "" {
		t.Errorf("history, a repeated set is a no-op (-want +got):\n%s", diff)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Set(cctx, 9, "cancelled"); err == nil {
		t.Error("Set with a cancelled context succeeded")
	}
}
