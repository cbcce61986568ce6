package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	promconfig "github.com/prometheus/common/config"
)

// plainTransport is an HTTP/1.1 client transport for plain http:// servers
// reached without a proxy. It writes the request and reads the answer on
// the calling goroutine: a query costs one wait on the network, where
// net/http's Transport hands the request to a connection's write loop and
// the answer back from its read loop, a goroutine switch each, which at
// hundreds of small queries a second is most of what a query costs.
//
// It keeps connections alive, at most maxIdle idle per host and none idle
// longer than idleTimeout. A request sent on a kept connection that the
// server had closed is sent once more on a new connection, when nothing of
// the answer had come back: scaled's queries change nothing. The request's
// context bounds the whole exchange, the body's reading included: its
// deadline is the connection's, and its cancellation closes the
// connection. A connection goes back to the pool only once its answer was
// read to the end, and when the server did not ask to close it.
type plainTransport struct {
	dialer         net.Dialer
	maxIdle        int
	idleTimeout    time.Duration
	maxHeaderBytes int64

	mu    sync.Mutex
	idle  map[string][]*plainConn // by address; the most recently used last
	timer *time.Timer             // closes the connections idle too long
}

const (
	plainMaxIdle        = 1000 // per host, as prometheus/common's Transport
	plainIdleTimeout    = 5 * time.Minute
	plainMaxHeaderBytes = 1 << 20
)

func newPlainTransport() *plainTransport {
	return &plainTransport{
		dialer:         net.Dialer{KeepAlive: 30 * time.Second},
		maxIdle:        plainMaxIdle,
		idleTimeout:    plainIdleTimeout,
		maxHeaderBytes: plainMaxHeaderBytes,
		idle:           map[string][]*plainConn{},
	}
}

// plainConn is one connection and its buffered reader.
type plainConn struct {
	t      *plainTransport
	addr   string
	conn   net.Conn
	br     *bufio.Reader
	limit  int64 // bytes left to read before the answer's headers are too long
	read   int64 // bytes read of the current answer
	idleAt time.Time
	// deadline is whether the connection carries a deadline from an
	// earlier request, to be cleared for one without.
	deadline bool
}

func (c *plainConn) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, errHeadersTooLong
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.conn.Read(p)
	c.read += int64(n)
	c.limit -= int64(n)
	return n, err
}

var (
	errHeadersTooLong = errors.New("the answer's headers are longer than 1 MiB")
	errNotPlain       = errors.New("not a plain http:// request")
)

// RoundTrip sends req and reads the answer's status and headers; the body
// is read as the caller reads it.
func (t *plainTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := requestBody(req)
	if err != nil {
		return nil, err
	}
	if req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" {
		return nil, errNotPlain
	}
	buf := writeBufs.Get().(*[]byte)
	defer writeBufs.Put(buf)
	*buf, err = appendRequest((*buf)[:0], req, body)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	addr := hostPort(req.URL)
	for attempt := 0; ; attempt++ {
		var c *plainConn
		reused := false
		if attempt == 0 {
			c, reused = t.get(addr)
		}
		if c == nil {
			if c, err = t.dial(ctx, addr); err != nil {
				return nil, err
			}
		}
		resp, err := c.exchange(ctx, req, *buf)
		if err == nil {
			return resp, nil
		}
		// A kept connection the server closed while it was idle fails at
		// once, before any of an answer: send the query once more on a
		// new connection.
		if reused && attempt == 0 && c.read == 0 && ctx.Err() == nil && closedByPeer(err) {
			continue
		}
		return nil, err
	}
}

// requestBody reads the request's body, which scaled's queries keep small
// (an encoded form), and closes it as a RoundTripper must.
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	if req.ContentLength < 0 || req.ContentLength > 1<<20 {
		return nil, fmt.Errorf("request body of %d bytes: want a known length of at most 1 MiB", req.ContentLength)
	}
	b := make([]byte, req.ContentLength)
	if _, err := io.ReadFull(req.Body, b); err != nil {
		return nil, fmt.Errorf("reading the request's body: %w", err)
	}
	return b, nil
}

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// closedByPeer is whether err is what writing to or reading from a
// connection the server closed gives.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// exchange writes the request on c and reads the answer's head. On an error
// c is closed.
func (c *plainConn) exchange(ctx context.Context, req *http.Request, wire []byte) (*http.Response, error) {
	stop, err := c.bind(ctx)
	if err != nil {
		c.close()
		return nil, err
	}
	fail := func(err error) (*http.Response, error) {
		stop()
		c.close()
		return nil, contextError(ctx, err)
	}
	c.read, c.limit = 0, c.t.maxHeaderBytes
	if _, err := c.conn.Write(wire); err != nil {
		return fail(err)
	}
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode == http.StatusSwitchingProtocols || resp.StatusCode >= 200 || resp.StatusCode < 100 {
			break
		}
		// 1xx: informational, the answer follows.
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("the server switched protocols, which was not asked"))
	}
	c.limit = math.MaxInt64
	keep := !resp.Close && (resp.ContentLength >= 0 || slices.Contains(resp.TransferEncoding, "chunked"))
	resp.Body = &plainBody{c: c, ctx: ctx, body: resp.Body, stop: stop, keep: keep}
	return resp, nil
}

// bind applies ctx to the connection: its deadline as the connection's,
// its cancellation by closing it. stop undoes the latter and says whether
// the connection can still be used.
func (c *plainConn) bind(ctx context.Context) (stop func() bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		if err := c.conn.SetDeadline(d); err != nil {
			return nil, err
		}
		c.deadline = true
	} else if c.deadline {
		if err := c.conn.SetDeadline(time.Time{}); err != nil {
			return nil, err
		}
		c.deadline = false
	}
	if ctx.Done() == nil {
		return func() bool { return true }, nil
	}
	conn := c.conn
	return context.AfterFunc(ctx, func() { _ = conn.Close() }), nil
}

// contextError is err, or the context's own error when the context ended
// (its deadline is the connection's, so a read past it fails with
// os.ErrDeadlineExceeded, maybe before the context's own timer fired).
func contextError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			return context.DeadlineExceeded
		}
	}
	return err
}

// plainBody is an answer's body: read to its end it gives the connection
// back to the pool, closed before that it closes the connection.
type plainBody struct {
	c    *plainConn
	ctx  context.Context
	body io.ReadCloser
	stop func() bool
	keep bool
	done bool
}

func (b *plainBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.finish(b.keep)
	case err != nil:
		b.finish(false)
		err = contextError(b.ctx, err)
	}
	return n, err
}

func (b *plainBody) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

// finish ends the exchange: the connection goes back to the pool when keep
// and nothing is left to read on it and the context's cancellation did not
// close it, and is closed otherwise.
func (b *plainBody) finish(keep bool) {
	b.done = true
	if b.stop() && keep && b.c.br.Buffered() == 0 {
		b.c.t.put(b.c)
		return
	}
	b.c.close()
}

func (c *plainConn) close() { _ = c.conn.Close() }

func (t *plainTransport) dial(ctx context.Context, addr string) (*plainConn, error) {
	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &plainConn{t: t, addr: addr, conn: conn}
	c.br = bufio.NewReaderSize(c, 4<<10)
	return c, nil
}

// get takes the most recently used idle connection to addr, if any.
func (t *plainTransport) get(addr string) (*plainConn, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cs := t.idle[addr]
	if len(cs) == 0 {
		return nil, false
	}
	c := cs[len(cs)-1]
	cs[len(cs)-1] = nil
	t.idle[addr] = cs[:len(cs)-1]
	return c, true
}

func (t *plainTransport) put(c *plainConn) {
	c.idleAt = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	cs := t.idle[c.addr]
	if len(cs) >= t.maxIdle {
		c.close()
		return
	}
	t.idle[c.addr] = append(cs, c)
	if t.timer == nil {
		t.timer = time.AfterFunc(t.idleTimeout, t.prune)
	}
}

// prune closes the connections idle for idleTimeout or longer, and comes
// back when the oldest of the others will be.
func (t *plainTransport) prune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	var oldest time.Time
	for addr, cs := range t.idle {
		i := 0
		for i < len(cs) && now.Sub(cs[i].idleAt) >= t.idleTimeout {
			cs[i].close()
			cs[i] = nil
			i++
		}
		cs = cs[i:]
		if len(cs) == 0 {
			delete(t.idle, addr)
			continue
		}
		t.idle[addr] = cs
		if oldest.IsZero() || cs[0].idleAt.Before(oldest) {
			oldest = cs[0].idleAt
		}
	}
	if oldest.IsZero() {
		t.timer = nil
		return
	}
	t.timer = time.AfterFunc(oldest.Add(t.idleTimeout).Sub(now), t.prune)
}

// CloseIdleConnections closes the connections waiting in the pool.
func (t *plainTransport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for addr, cs := range t.idle {
		for _, c := range cs {
			c.close()
		}
		delete(t.idle, addr)
	}
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// appendRequest appends req as HTTP/1.1 puts it on the wire, with the
// headers net/http's Transport would send: Host, User-Agent (Go's unless
// the request has its own), Content-Length, then the request's headers in
// the order of their names. A header with no value is not sent. An invalid
// header name or value is an error, as in net/http.
func appendRequest(b []byte, req *http.Request, body []byte) ([]byte, error) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validHeaderValue(host) {
		return b, fmt.Errorf("invalid Host %q", host)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, req.URL.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if _, ok := req.Header["User-Agent"]; !ok {
		b = append(b, "User-Agent: Go-http-client/1.1\r\n"...)
	}
	if len(body) > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	var names [16]string
	keys := names[:0]
	for k, vs := range req.Header {
		if len(vs) == 0 {
			continue
		}
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !validHeaderName(k) {
			return b, fmt.Errorf("invalid header field name %q", k)
		}
		for _, v := range req.Header[k] {
			if !validHeaderValue(v) {
				return b, fmt.Errorf("invalid header field value for %q", k)
			}
			v = strings.TrimSpace(v)
			if k == "User-Agent" && v == "" {
				continue
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	return append(b, body...), nil
}

// validHeaderName is whether s is an HTTP token (RFC 7230 section 3.2.6).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue is whether s holds no control character but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// plainClient is an HTTP client on plainTransport for the configured URL,
// with the headers prometheus/common's client would add (authorization,
// basic auth, http_headers), or nil when the
// configuration needs what only net/http's Transport does: https, a proxy
// (proxy_url, or proxy_from_environment naming one for this URL),
// follow_redirects (a redirect may lead to https or to another host),
// OAuth 2, secrets by reference, or a host name that is not ASCII.
func plainClient(u *url.URL, cfg *promconfig.HTTPClientConfig) *http.Client {
	switch {
	case u.Scheme != "http":
		return nil
	case cfg.FollowRedirects:
		return nil
	case cfg.OAuth2 != nil:
		return nil
	}
	for i := 0; i < len(u.Host); i++ {
		if u.Host[i] >= 0x80 {
			return nil
		}
	}
	if proxy := cfg.Proxy(); proxy != nil {
		p, err := proxy(&http.Request{URL: u})
		if err != nil || p != nil {
			return nil
		}
	}
	var rt http.RoundTripper = newPlainTransport()
	if a := cfg.Authorization; a != nil {
		if a.CredentialsRef != "" {
			return nil
		}
		rt = promconfig.NewAuthorizationCredentialsRoundTripper(a.Type, secret(a.Credentials, a.CredentialsFile), rt)
	}
	if cfg.BearerToken != "" || cfg.BearerTokenFile != "" {
		rt = promconfig.NewAuthorizationCredentialsRoundTripper("Bearer", secret(cfg.BearerToken, cfg.BearerTokenFile), rt)
	}
	if a := cfg.BasicAuth; a != nil {
		if a.UsernameRef != "" || a.PasswordRef != "" {
			return nil
		}
		rt = promconfig.NewBasicAuthRoundTripper(secret(promconfig.Secret(a.Username), a.UsernameFile), secret(a.Password, a.PasswordFile), rt)
	}
	if cfg.HTTPHeaders != nil {
		rt = promconfig.NewHeadersRoundTripper(cfg.HTTPHeaders, rt)
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// secret is prometheus/common's secret from text or a file, as its client
// makes it (nil for neither).
func secret(text promconfig.Secret, file string) promconfig.SecretReader {
	switch {
	case text != "":
		return promconfig.NewInlineSecret(string(text))
	case file != "":
		return promconfig.NewFileSecret(file)
	}
	return nil
}
