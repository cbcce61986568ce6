package leader

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
)

// view is what one replica knows when it balances: the live replicas and
// the holder of each shard as last seen. A holder that is not live counts as
// no holder (its Lease runs out). It is a pure value: the rules below read
// no clock and make no request.
//
// With N shards and M live replicas, q = N/M and r = N%M, balanced is r
// replicas holding q+1 shards and the others q: shares differ by at most
// one. The rules keep to it:
//   - take a free shard while holding fewer than q; at q, only while nobody
//     holds fewer than q and fewer than r hold more than q;
//   - release everything above the ceiling (q+1, or q when r = 0); and when
//     more than r replicas hold more than q (so someone holds fewer than
//     q), the first of them by identity, as many as are too many, release
//     one shard each.
//
// A replica below q is the only one that may take while it is below, so
// every release moves a shard from the fullest replicas to the emptiest, and
// a balanced view is a fixed point: nobody may take (nothing is free) and
// nobody releases. Views of different replicas may disagree for a retry
// period or two; the worst that does is a shard taken or released once too
// often, which the next round corrects. The Lease, not the view, keeps a
// shard to one holder.
type view struct {
	self    string
	live    []string // sorted; includes self
	holders []string // by shard; "" when free
}

// counts are the shards each live replica holds.
func (v view) counts() map[string]int {
	c := make(map[string]int, len(v.live))
	for _, id := range v.live {
		c[id] = 0
	}
	for _, h := range v.holders {
		if n, ok := c[h]; ok {
			c[h] = n + 1
		}
	}
	return c
}

// split is the balanced share: q shards each, one more for r replicas.
func (v view) split() (q, r int) {
	m := max(len(v.live), 1)
	return len(v.holders) / m, len(v.holders) % m
}

// mayTake says whether this replica may take one more shard.
func (v view) mayTake() bool {
	c := v.counts()
	q, r := v.split()
	switch h := c[v.self]; {
	case h < q:
		return true
	case h > q || r == 0:
		return false
	}
	above := 0
	for _, n := range c {
		if n < q {
			return false // it takes first
		}
		if n > q {
			above++
		}
	}
	return above < r
}

// toRelease are the shards this replica should release now, highest first.
func (v view) toRelease() []int {
	c := v.counts()
	q, r := v.split()
	ceiling := q
	if r > 0 {
		ceiling++
	}
	n := 0
	if h := c[v.self]; h > ceiling {
		n = h - ceiling
	} else if h > q {
		var full []string // in identity order, as every replica sees them
		for _, id := range v.live {
			if c[id] > q {
				full = append(full, id)
			}
		}
		if i := slices.Index(full, v.self); i < len(full)-r {
			n = 1
		}
	}
	var out []int
	for i := len(v.holders) - 1; i >= 0 && len(out) < n; i-- {
		if v.holders[i] == v.self {
			out = append(out, i)
		}
	}
	return out
}

// errAtShare refuses to take a shard's Lease: this replica holds its share.
var errAtShare = errors.New("this replica holds its share of the shards")

// balancer keeps one replica to its share: it is asked before any of the
// replica's electors takes a shard, and says which shards to release.
type balancer struct {
	self  string
	locks []*shardLock

	live atomic.Pointer[[]string] // sorted; nil until the replicas were first listed

	// mu serialises this replica's takings, so that two electors never
	// pass one check: each sees the other's shard as taken.
	mu sync.Mutex
}

func newBalancer(self string, locks []*shardLock) *balancer {
	b := &balancer{self: self, locks: locks}
	for _, l := range locks {
		l.take = b.take
	}
	return b
}

// setLive records the live replicas (with or without self).
func (b *balancer) setLive(ids []string) {
	live := append([]string{b.self}, ids...)
	slices.Sort(live)
	live = slices.Compact(live)
	b.live.Store(&live)
}

func (b *balancer) view() view {
	v := view{self: b.self, live: []string{b.self}, holders: make([]string, len(b.locks))}
	if l := b.live.Load(); l != nil {
		v.live = *l
	}
	for i, l := range b.locks {
		v.holders[i] = l.heldBy()
	}
	return v
}

// take writes a Lease that names this replica, if it may take one more.
func (b *balancer) take(write func() error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.view().mayTake() {
		return errAtShare
	}
	return write()
}
