package telemetry

import (
	"slices"
	"sync"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// DecisionLog keeps the last decisions of each scaler, for the HTTP API. It
// is safe for concurrent use. A nil *DecisionLog keeps nothing and knows no
// scaler.
//
// A fleet keeps scalers x decisions of them, so a decision is kept as a
// compact record (record.go): no scaler name, times as integers, direction
// and outcome as bytes, and every text equal to the one of the scaler's
// previous decision shared with it rather than copied (a steady scaler's
// reasons repeat tick after tick). Besides the count per scaler, the log
// bounds the bytes it keeps over all scalers: each scaler may keep its
// share of the budget, and drops its oldest decisions beyond it (always
// keeping its newest).
type DecisionLog struct {
	size     int
	maxBytes int64

	mu    sync.RWMutex
	rings map[string]*ring
}

// ring holds up to the log's size of records: n of them from buf[start]
// on, wrapping around; bytes is what they cost (record.cost). buf grows as
// decisions come rather than at once: a scaler that keeps few decisions
// (a young one, or one the byte bound trims) takes room for few.
type ring struct {
	buf   []record
	start int
	n     int
	bytes int64
}

// at is the i-th newest record (0: the newest).
func (r *ring) at(i int) *record {
	return &r.buf[(r.start+r.n-1-i)%len(r.buf)]
}

// push adds rec as the newest, dropping the oldest when the ring holds size.
// share, when positive, is the bytes the ring may keep: it grows to hold
// about as many records as fit in it and no more, as room it never fills
// would be memory the log does not count.
func (r *ring) push(rec record, size int, share int64) {
	if r.n >= size {
		r.dropOldest()
	}
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = rec
	} else {
		room := min(size, max(4, 2*r.n))
		if share > 0 {
			mean := (r.bytes + rec.cost) / int64(r.n+1)
			room = min(room, max(r.n+1, int(share/max(mean, 1))+1))
		}
		grown := make([]record, r.n, room)
		for i := range r.n {
			grown[i] = r.buf[(r.start+i)%len(r.buf)]
		}
		r.buf, r.start = append(grown, rec), 0
	}
	r.n++
	r.bytes += rec.cost
}

// NewDecisionLog keeps the last n decisions per scaler; n < 1 keeps one.
func NewDecisionLog(n int) *DecisionLog {
	return &DecisionLog{size: max(n, 1), rings: make(map[string]*ring)}
}

// WithMaxBytes bounds what the log keeps over all scalers to about b bytes
// (b <= 0: no bound beyond the count) and returns l.
func (l *DecisionLog) WithMaxBytes(b int64) *DecisionLog {
	if l != nil {
		l.maxBytes = b
	}
	return l
}

// Size is how many decisions per scaler the log keeps.
func (l *DecisionLog) Size() int {
	if l == nil {
		return 0
	}
	return l.size
}

// Bytes is about how many bytes the kept decisions take.
func (l *DecisionLog) Bytes() int64 {
	if l == nil {
		return 0
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	var b int64
	for _, r := range l.rings {
		b += r.bytes
	}
	return b
}

// Track makes a scaler known before its first decision, so that the API
// answers with an empty history rather than "unknown scaler".
func (l *DecisionLog) Track(scaler string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ringLocked(scaler)
}

func (l *DecisionLog) ringLocked(scaler string) *ring {
	r, ok := l.rings[scaler]
	if !ok {
		r = &ring{}
		l.rings[scaler] = r
	}
	return r
}

// Add keeps d under d.Scaler, dropping that scaler's oldest decisions when
// it holds the count, or more than its share of the bytes. It copies what
// it keeps of d, so the caller may reuse d's slices afterwards.
func (l *DecisionLog) Add(d scaling.Decision) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.ringLocked(d.Scaler)
	var prev *record
	if r.n > 0 {
		prev = r.at(0)
	}
	var share int64
	if l.maxBytes > 0 {
		share = l.maxBytes / int64(len(l.rings))
	}
	r.push(compact(&d, prev), l.size, share)
	for share > 0 && r.n > 1 && r.bytes > share {
		r.dropOldest()
	}
}

func (r *ring) dropOldest() {
	r.bytes -= r.buf[r.start].cost
	r.buf[r.start] = record{}
	r.start = (r.start + 1) % len(r.buf)
	r.n--
}

// Last returns up to n of a scaler's decisions, newest first; n < 1 returns
// all it keeps. It returns nil for a scaler it does not know. The decisions
// are the caller's.
func (l *DecisionLog) Last(scaler string, n int) []scaling.Decision {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.rings[scaler]
	if !ok {
		return nil
	}
	if n < 1 || n > r.n {
		n = r.n
	}
	out := make([]scaling.Decision, n)
	for i := range n {
		out[i] = r.at(i).decision(scaler)
	}
	return out
}

// Known reports whether the log holds (or tracks) a scaler.
func (l *DecisionLog) Known(scaler string) bool {
	if l == nil {
		return false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.rings[scaler]
	return ok
}

// Forget drops a scaler and its decisions.
func (l *DecisionLog) Forget(scaler string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.rings, scaler)
}

// Scalers returns the names of the scalers the log knows, sorted.
func (l *DecisionLog) Scalers() []string {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	names := make([]string, 0, len(l.rings))
	for name := range l.rings {
		names = append(names, name)
	}
	l.mu.RUnlock()
	slices.Sort(names)
	return names
}
