// Package faultproxy is a TCP proxy on loopback that puts network faults
// between a client under test and a real server: latency, connection
// resets, a peer that accepts and never answers, answers cut short, and a
// bandwidth limit. It works below TLS and HTTP, so the client's own
// transport, timeouts and retries meet the fault as they would in a
// network. It is for tests only.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Kind names a fault.
type Kind string

const (
	None      Kind = "none"      // pass everything through
	Latency   Kind = "latency"   // delay every chunk of the answer by Fault.Delay
	Reset     Kind = "reset"     // accept, then reset the connection (RST) at once
	Blackhole Kind = "blackhole" // accept, read the request, never answer (a hung server)
	Truncate  Kind = "truncate"  // pass Fault.Bytes bytes of the answer, then hang up
	Bandwidth Kind = "bandwidth" // pass the answer at Fault.BytesPerSecond
)

// Fault is what the proxy does to connections.
type Fault struct {
	Kind           Kind
	Delay          time.Duration // Latency
	Bytes          int64         // Truncate
	BytesPerSecond int64         // Bandwidth
}

func (f Fault) String() string {
	switch f.Kind {
	case Latency:
		return "latency " + f.Delay.String()
	case Truncate:
		return "truncated after " + strconv.FormatInt(f.Bytes, 10) + " bytes"
	case Bandwidth:
		return "bandwidth " + strconv.FormatInt(f.BytesPerSecond, 10) + " B/s"
	case "":
		return string(None)
	}
	return string(f.Kind)
}

// Proxy forwards connections from its own loopback address to upstream,
// with the fault set last.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu     sync.Mutex
	fault  Fault
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on a free loopback port and forwards to upstream
// (host:port) until the test ends.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, upstream: upstream, fault: Fault{Kind: None}, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set makes f the fault of every connection from now on, and closes the
// connections open now, so that a client's kept-alive connections meet the
// new fault at once.
func (p *Proxy) Set(f Fault) {
	if f.Kind == "" {
		f.Kind = None
	}
	p.mu.Lock()
	p.fault = f
	open := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		open = append(open, c)
	}
	p.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.Set(Fault{Kind: None})
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		f := p.fault
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c, f)
		}()
	}
}

func (p *Proxy) handle(client net.Conn, f Fault) {
	if !p.track(client) {
		_ = client.Close()
		return
	}
	defer p.untrack(client)
	switch f.Kind {
	case Reset:
		reset(client)
		return
	case Blackhole:
		_, _ = io.Copy(io.Discard, client) // until the client gives up or Set closes it
		return
	}
	server, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		reset(client)
		return
	}
	if !p.track(server) {
		_ = server.Close()
		return
	}
	defer p.untrack(server)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(server, client)
		if tc, ok := server.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	p.answer(client, server, f)
	<-done
}

// answer copies the server's answer to the client through the fault.
func (p *Proxy) answer(client, server net.Conn, f Fault) {
	buf := make([]byte, 16<<10)
	var sent int64
	for {
		chunk := buf
		if f.Kind == Bandwidth && f.BytesPerSecond > 0 {
			chunk = buf[:min(int64(len(buf)), max(f.BytesPerSecond/10, 1))]
		}
		n, err := server.Read(chunk)
		if n > 0 {
			out := chunk[:n]
			switch f.Kind {
			case Latency:
				time.Sleep(f.Delay)
			case Bandwidth:
				if f.BytesPerSecond > 0 {
					time.Sleep(time.Duration(int64(n) * int64(time.Second) / f.BytesPerSecond))
				}
			case Truncate:
				if left := f.Bytes - sent; int64(n) >= left {
					// Hang up mid-answer, as a proxy or a server cut short does.
					_, _ = client.Write(out[:max(left, 0)])
					_ = client.Close()
					_ = server.Close()
					return
				}
			}
			if _, werr := client.Write(out); werr != nil {
				_ = server.Close()
				return
			}
			sent += int64(n)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				reset(client)
				return
			}
			if tc, ok := client.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}

// reset closes c with a TCP RST rather than a FIN: the peer reads
// "connection reset by peer".
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
