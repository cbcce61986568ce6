package controller

import (
	"sync"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// fairQueue is the controller's queue of Scaler keys (namespace/name). It
// is a workqueue (a key waits once however often it is added, and a key
// added while a worker holds it waits until Done), that hands keys out
// namespace by namespace in turn, and lets no namespace hold more than
// perNamespace workers at once. So the Scalers of one namespace, however
// many and however costly to check, leave a worker to every other
// namespace, whose next key is the next one handed out.
type fairQueue struct {
	perNamespace int
	limiter      workqueue.TypedRateLimiter[string]
	clock        clock.WithTicker

	mu   sync.Mutex
	cond *sync.Cond
	// waiting keys by namespace, first in first out; turn lists the
	// namespaces with a key waiting, the next to be served first.
	waiting map[string][]string
	turn    []string
	queued  map[string]bool // waiting
	held    map[string]bool // handed to a worker, not yet Done
	again   map[string]bool // added while held: wait again on Done
	active  map[string]int  // held keys by namespace
	stop    chan struct{}
	stopped bool
}

func newFairQueue(perNamespace int, limiter workqueue.TypedRateLimiter[string], clk clock.WithTicker) *fairQueue {
	q := &fairQueue{
		perNamespace: max(perNamespace, 1), limiter: limiter, clock: clk,
		waiting: map[string][]string{}, queued: map[string]bool{}, held: map[string]bool{},
		again: map[string]bool{}, active: map[string]int{}, stop: make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// namespaceOf is the namespace of a key ("" for a key without one).
func namespaceOf(key string) string {
	ns, _, _ := cache.SplitMetaNamespaceKey(key)
	return ns
}

// Add makes key wait, unless it already does; a key a worker holds waits
// again once the worker is done with it.
func (q *fairQueue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return
	}
	if q.held[key] {
		q.again[key] = true
		return
	}
	q.pushLocked(key)
}

func (q *fairQueue) pushLocked(key string) {
	if q.queued[key] {
		return
	}
	q.queued[key] = true
	ns := namespaceOf(key)
	if len(q.waiting[ns]) == 0 {
		q.turn = append(q.turn, ns)
	}
	q.waiting[ns] = append(q.waiting[ns], key)
	q.cond.Signal()
}

// AddRateLimited adds key after the limiter's delay for it.
func (q *fairQueue) AddRateLimited(key string) {
	d := q.limiter.When(key)
	go func() {
		t := q.clock.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C():
			q.Add(key)
		case <-q.stop:
		}
	}()
}

// Forget clears the limiter's count of failures for key.
func (q *fairQueue) Forget(key string) { q.limiter.Forget(key) }

// Get blocks until a key may be handed out, and hands out the first key of
// the first namespace in turn that holds fewer than perNamespace workers;
// that namespace then goes last. quit is true once the queue is shut down.
func (q *fairQueue) Get() (key string, quit bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.stopped {
			return "", true
		}
		for i, ns := range q.turn {
			if q.active[ns] >= q.perNamespace {
				continue
			}
			keys := q.waiting[ns]
			key = keys[0]
			q.turn = append(q.turn[:i:i], q.turn[i+1:]...)
			if len(keys) == 1 {
				delete(q.waiting, ns)
			} else {
				q.waiting[ns] = keys[1:]
				q.turn = append(q.turn, ns)
			}
			delete(q.queued, key)
			q.held[key] = true
			q.active[ns]++
			return key, false
		}
		q.cond.Wait()
	}
}

// Done gives key back: another worker of its namespace may start, and the
// key waits again if it was added meanwhile.
func (q *fairQueue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.held, key)
	ns := namespaceOf(key)
	if q.active[ns]--; q.active[ns] <= 0 {
		delete(q.active, ns)
	}
	if q.again[key] {
		delete(q.again, key)
		if !q.stopped {
			q.pushLocked(key)
		}
	}
	q.cond.Broadcast()
}

// Len is the number of keys waiting.
func (q *fairQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued)
}

// setPerNamespace sets how many workers one namespace may hold at once.
func (q *fairQueue) setPerNamespace(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.perNamespace = max(n, 1)
	q.cond.Broadcast()
}

// ShutDown makes every Get return quit, now and after.
func (q *fairQueue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.stopped {
		q.stopped = true
		close(q.stop)
	}
	q.cond.Broadcast()
}
