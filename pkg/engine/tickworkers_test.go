package engine

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// blockingTick is a tick that holds its goroutine until released.
type blockingTick struct {
	started chan struct{}
	release chan struct{}
}

func (b blockingTick) tick() {
	b.started <- struct{}{}
	<-b.release
}

// A tick never waits for a goroutine, however many are busy; once they end,
// at most maxIdleTickWorkers wait for the next, and none after done.
func TestTickWorkersNeverMakeATickWait(t *testing.T) {
	done := make(chan struct{})
	w := newTickWorkers(done)
	before := runtime.NumGoroutine()
	const n = 3 * maxIdleTickWorkers
	b := blockingTick{started: make(chan struct{}), release: make(chan struct{})}
	for range n {
		w.run(b)
	}
	for i := range n {
		select {
		case <-b.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d ticks started: the others wait for a goroutine", i, n)
		}
	}
	close(b.release)
	waitFor(t, "the idle goroutines to be at most the cap", func() bool {
		return runtime.NumGoroutine()-before <= maxIdleTickWorkers && w.idle.Load() == maxIdleTickWorkers
	})
	// An idle goroutine takes the next tick: no new one.
	var wg sync.WaitGroup
	wg.Add(1)
	w.run(doneTick{&wg})
	wg.Wait()
	waitFor(t, "the goroutine back to idle", func() bool { return w.idle.Load() == maxIdleTickWorkers })
	if got := runtime.NumGoroutine() - before; got > maxIdleTickWorkers {
		t.Errorf("%d goroutines after a tick on an idle one, want at most %d", got, maxIdleTickWorkers)
	}
	close(done)
	waitFor(t, "the idle goroutines to end", func() bool { return runtime.NumGoroutine() <= before && w.idle.Load() == 0 })
}

type doneTick struct{ wg *sync.WaitGroup }

func (d doneTick) tick() { d.wg.Done() }
