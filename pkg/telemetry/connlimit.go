package telemetry

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// idleGrace is how long a connection may stay open without sending a
// request before it counts as idle: a client sends its request at once.
const idleGrace = time.Second

// connLimiter caps the connections a server holds open. When a connection
// arrives at the cap, the connection idle the longest (kept alive between
// requests, or open without a request for idleGrace) is closed to make room,
// else the oldest that has sent no request yet, and only when every
// connection is in a request is the new one refused. So
// connections that do nothing cannot keep a probe or a scrape out, and the
// process never runs out of file descriptors for its own clients.
type connLimiter struct {
	net.Listener
	max int
	now func() time.Time

	mu    sync.Mutex
	conns map[net.Conn]*connInfo
}

type connInfo struct {
	state http.ConnState
	since time.Time
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, now: time.Now, conns: map[net.Conn]*connInfo{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.conns) >= l.max && !l.evictLocked() {
			l.mu.Unlock()
			_ = c.Close() // every connection is busy: refuse rather than queue
			continue
		}
		l.conns[c] = &connInfo{state: http.StateNew, since: l.now()}
		l.mu.Unlock()
		return c, nil
	}
}

// evictLocked closes the connection idle the longest, if any; else the
// oldest connection that has not sent a request yet, however young: a
// flood of connections that send nothing (or send slowly) then gives way
// to each newer client, and a probe, which sends its request at once, gets
// in at any rate of connections. Only connections that are in a request
// keep their place.
func (l *connLimiter) evictLocked() bool {
	now := l.now()
	var victim, waiting net.Conn
	var oldest, oldestWaiting time.Time
	for c, info := range l.conns {
		idle := info.state == http.StateIdle || (info.state == http.StateNew && now.Sub(info.since) >= idleGrace)
		if idle && (victim == nil || info.since.Before(oldest)) {
			victim, oldest = c, info.since
		}
		if info.state == http.StateNew && (waiting == nil || info.since.Before(oldestWaiting)) {
			waiting, oldestWaiting = c, info.since
		}
	}
	if victim == nil {
		victim = waiting
	}
	if victim == nil {
		return false
	}
	delete(l.conns, victim)
	_ = victim.Close()
	return true
}

// track is the server's ConnState hook.
func (l *connLimiter) track(c net.Conn, state http.ConnState) {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn() // TLS: the connection Accept returned
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	info, ok := l.conns[c]
	if !ok {
		return
	}
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		info.state, info.since = state, l.now()
	}
}
