package telemetry

import (
	"slices"
	"sync"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// DecisionLog keeps the last decisions of each scaler, for the HTTP API. It
// is safe for concurrent use. A nil *DecisionLog keeps nothing and knows no
// scaler.
type DecisionLog struct {
	size int

	mu    sync.RWMutex
	rings map[string]*ring
}

// ring holds up to len(buf) decisions; next is where the next one goes.
type ring struct {
	buf  []scaling.Decision
	next int
	n    int
}

// NewDecisionLog keeps the last n decisions per scaler; n < 1 keeps one.
func NewDecisionLog(n int) *DecisionLog {
	return &DecisionLog{size: max(n, 1), rings: make(map[string]*ring)}
}

// Size is how many decisions per scaler the log keeps.
func (l *DecisionLog) Size() int {
	if l == nil {
		return 0
	}
	return l.size
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
		r = &ring{buf: make([]scaling.Decision, l.size)}
		l.rings[scaler] = r
	}
	return r
}

// Add keeps d under d.Scaler, dropping that scaler's oldest decision when
// full. It copies d's slices, so the caller may reuse them afterwards.
func (l *DecisionLog) Add(d scaling.Decision) {
	if l == nil {
		return
	}
	d.Signals = slices.Clone(d.Signals)
	d.Recommendations = slices.Clone(d.Recommendations)
	d.Adjustments = slices.Clone(d.Adjustments)

	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.ringLocked(d.Scaler)
	r.buf[r.next] = d
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// Last returns up to n of a scaler's decisions, newest first; n < 1 returns
// all it keeps. It returns nil for a scaler it does not know. The decisions
// share their slices with the log: read them, do not modify them.
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
		out[i] = r.buf[(r.next-1-i+len(r.buf))%len(r.buf)]
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
