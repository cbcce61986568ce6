package controller

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
)

// The queue hands keys out namespace by namespace in turn, each key once
// however often it is added, and again after Done when added meanwhile.
func TestFairQueueTakesNamespacesInTurn(t *testing.T) {
	q := newFairQueue(2, workqueue.DefaultTypedControllerRateLimiter[string](), clocktesting.NewFakeClock(time.Now()))
	for _, k := range []string{"a/1", "a/2", "a/3", "a/1", "b/1", "c/1", "b/2"} {
		q.Add(k)
	}
	var got []string
	for range 6 {
		k, quit := q.Get()
		if quit {
			t.Fatal("quit")
		}
		got = append(got, k)
		if k != "a/1" {
			q.Done(k)
		}
	}
	// a/1 is held: a may hold one more, then waits.
	want := "a/1 b/1 c/1 a/2 b/2 a/3"
	if strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
	q.Add("a/1") // held: waits again after Done
	if q.Len() != 0 {
		t.Errorf("a held key waits before its Done: len %d", q.Len())
	}
	q.Done("a/1")
	if k, _ := q.Get(); k != "a/1" {
		t.Errorf("after Done, Get = %s, want a/1 again", k)
	}
	q.ShutDown()
	if _, quit := q.Get(); !quit {
		t.Error("Get after ShutDown did not quit")
	}
}
