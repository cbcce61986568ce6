package sources

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promconfig "github.com/prometheus/common/config"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// MaxRangePoints is the most points per series one range request may ask
// for. Prometheus refuses a range query when (end-start)/step exceeds 11,000;
// QueryRange pages longer ranges into requests of at most this many points.
const MaxRangePoints = 11000

// DefaultMaxResponseBytes is the most bytes of one answer a Prometheus source
// reads. A usable answer is one series: a few hundred bytes for an instant
// query, about 350 KB for a page of MaxRangePoints points. A query that
// lacks its aggregation can answer with hundreds of thousands of series
// (tens of MB); reading stops at this limit and the signal fails with the
// kind too_large, so that one such query costs a few MiB, not hundreds.
const DefaultMaxResponseBytes = 4 << 20

// maxRetryAfter bounds how long a Retry-After header can keep a source quiet:
// a server asking for an hour must not blind every scaler for an hour.
const maxRetryAfter = 5 * time.Minute

// Prometheus reads signals from a Prometheus-compatible HTTP API
// (Prometheus, Thanos, Mimir).
//
// What Sample.Time means here: the timestamp the answer carries for the
// value. Prometheus stamps every instant-query result with the evaluation
// time, not with the time the underlying sample was scraped, so for
// Prometheus itself Query returns Sample.Time == ts; a compatible back end
// that stamps the sample's own time makes Sample.Time older, and QueryMaxAge
// then sees it. Prometheus itself drops a series whose newest sample is older
// than its lookback delta (--query.lookback-delta, 5m by default) or that got
// a staleness marker (its target vanished). A tighter max age needs
// QueryMaxAge.
//
// Answers are decoded as they arrive, never held whole: reading stops at the
// response size limit (too_large), at the first value that makes the answer
// unusable (a matrix or a string for an instant query), and a series beyond
// the first is counted and, for the first two, described by a bounded
// excerpt of its labels. Error texts are bounded too, so that what one
// signal costs in memory and in log volume does not depend on what the
// server sends.
//
// A 429, or a 503 with a Retry-After header, is the kind throttled; while the
// time Retry-After named (at most five minutes) has not passed, queries fail
// as throttled without being sent.
//
// Its own load on the server is bounded (PrometheusConfig's
// max_concurrent_queries and max_queries_per_second): a request waits for
// its turn until its context's deadline, and one that cannot get it by then
// fails at once as throttled without being sent, so that waiting never
// piles up beyond one request per signal.
type Prometheus struct {
	client    *http.Client
	base      *url.URL
	timeout   time.Duration
	maxBytes  int64
	onWarning func(expr string, warnings []string)
	clock     clock.PassiveClock
	// quietUntil is the Unix time in nanoseconds before which no query is
	// sent, as the server's last Retry-After asked; 0 for none.
	quietUntil atomic.Int64
	limits     *limits // limits.go
	// plain is whether queries go through plainTransport
	// (prometheus_conn.go) rather than net/http's Transport.
	plain bool

	// What every instant query sends but its expression and time, worked
	// out once (see instantForm): the endpoint's URL, the timeout
	// parameter, and whether the configured URL carries parameters of its own.
	queryURL   url.URL
	queryURLs  string
	timeoutArg string
	baseArgs   bool
}

var (
	_ Querier       = (*Prometheus)(nil)
	_ MaxAgeQuerier = (*Prometheus)(nil)
)

// PrometheusOption changes how a Prometheus source behaves.
type PrometheusOption func(*Prometheus)

// WithWarningHandler sets a function called with the warnings of a response
// that still carried a usable value. Such a value is returned as a success and
// the warnings go only to this handler (by default they are dropped). A
// response with warnings and no value fails with the kind warnings instead,
// and the warnings are in the error text.
func WithWarningHandler(f func(expr string, warnings []string)) PrometheusOption {
	return func(p *Prometheus) { p.onWarning = f }
}

// WithMaxResponseBytes sets the most bytes of one answer the source reads
// (DefaultMaxResponseBytes when n <= 0). A longer answer is the failure kind
// too_large, and reading stops there.
func WithMaxResponseBytes(n int64) PrometheusOption {
	return func(p *Prometheus) {
		if n > 0 {
			p.maxBytes = n
		}
	}
}

// WithClock sets the clock that times Retry-After (default: the real clock).
func WithClock(c clock.PassiveClock) PrometheusOption {
	return func(p *Prometheus) { p.clock = c }
}

// NewPrometheus builds a source from its configuration. The HTTP client comes
// from prometheus/common (bearer token or its file, basic auth, TLS, proxy,
// custom headers). QueryTimeout, when positive, bounds every request on top of
// the caller's context and is sent to the server as the query's timeout.
func NewPrometheus(cfg PrometheusConfig, opts ...PrometheusOption) (*Prometheus, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus.url: %q: want an absolute http:// or https:// URL", cfg.URL)
	}
	if cfg.QueryTimeout < 0 {
		return nil, fmt.Errorf("prometheus.query_timeout: %s: must be >= 0", durfmt.D(cfg.QueryTimeout))
	}
	if err := cfg.HTTP.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus.http_config: %w", err)
	}
	hc, err := promconfig.NewClientFromConfig(cfg.HTTP, "scaled")
	if err != nil {
		return nil, fmt.Errorf("prometheus.http_config: %w", err)
	}
	if cfg.MaxConcurrentQueries < 0 {
		return nil, fmt.Errorf("prometheus.max_concurrent_queries: %d: must be >= 0", cfg.MaxConcurrentQueries)
	}
	if cfg.MaxQueriesPerSecond < 0 {
		return nil, fmt.Errorf("prometheus.max_queries_per_second: %g: must be >= 0", cfg.MaxQueriesPerSecond)
	}
	if cfg.SigV4 != nil {
		rt, err := sigV4RoundTripper(cfg.SigV4, hc.Transport)
		if err != nil {
			return nil, fmt.Errorf("prometheus.sigv4: %w", err)
		}
		hc.Transport = rt
	}
	// Plain http:// without a proxy: the transport that reads on the
	// caller's goroutine (prometheus_conn.go), with the same headers.
	var plain bool
	if cfg.SigV4 == nil {
		if pc := plainClient(u, &cfg.HTTP); pc != nil {
			hc, plain = pc, true
		}
	}
	p := &Prometheus{
		client: hc, plain: plain, base: u, timeout: cfg.QueryTimeout, maxBytes: DefaultMaxResponseBytes, clock: clock.RealClock{},
		limits: newLimits(cfg.MaxConcurrentQueries, cfg.MaxQueriesPerSecond),
	}
	if cfg.MaxResponseBytes > 0 {
		p.maxBytes = cfg.MaxResponseBytes
	}
	p.queryURL = p.endpoint("/api/v1/query")
	p.queryURLs = p.queryURL.String()
	if p.timeout > 0 {
		p.timeoutArg = strconv.FormatFloat(p.timeout.Seconds(), 'f', -1, 64)
	}
	p.baseArgs = u.RawQuery != ""
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Query evaluates expr at ts. Sample.Time is the time the answer gives for
// the value (see the type's comment).
func (p *Prometheus) Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	return p.query(ctx, expr, ts)
}

// QueryMaxAge evaluates expr at ts and fails with the kind stale when the
// data behind it is older than maxAge. maxAge <= 0 means DefaultMaxAge,
// compared with the time the answer itself gives (the same single request as
// Query).
//
// With maxAge > 0, once an instant-vector selector
// (`queue_depth{queue="jobs"}`) yields a value that is not already too old,
// a second instant query evaluates timestamp(expr) at ts: the time of the
// newest raw sample, which becomes Sample.Time and is compared with maxAge.
// (Prometheus 2.42 ignores the lookback_delta query parameter, which came in
// 2.43, and where it is honoured it turns a stale series into an empty
// result and silently shrinks aggregations, so it is not used.) A computed
// expression (rate, sum, arithmetic, a scalar) gets no second query:
// Prometheus would answer timestamp() of it with the evaluation time, which
// the first answer gives already, so the check passes; the freshness of such
// a signal is bounded only by the ranges in the expression and by the
// lookback delta. VictoriaMetrics would answer it from a subquery at a
// 5-minute step: a time up to 5 minutes older than the data, or nothing for
// a series younger than the last 5-minute boundary.
func (p *Prometheus) QueryMaxAge(ctx context.Context, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	s, err := p.query(ctx, expr, ts)
	if err != nil {
		return s, err
	}
	limit := maxAge
	if limit <= 0 {
		limit = DefaultMaxAge
	}
	if err := futureError(expr, s.Time, ts); err != nil {
		return s, err
	}
	if age := ts.Sub(s.Time); age > limit {
		return s, staleError(expr, age, ts, limit)
	}
	if maxAge <= 0 || !isSelectorCached(expr) {
		return s, nil
	}
	at, err := p.query(ctx, "timestamp("+expr+")", ts)
	if err != nil {
		return scaling.Sample{}, err
	}
	s.Time = time.UnixMilli(int64(math.Round(at.Value * 1000))).UTC()
	if err := futureError(expr, s.Time, ts); err != nil {
		return s, err
	}
	if age := ts.Sub(s.Time); age > maxAge {
		return s, staleError(expr, age, ts, maxAge)
	}
	return s, nil
}

func (p *Prometheus) query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	a := instantAnswer{expr: expr}
	warnings, err := p.doForm(ctx, p.queryURL, p.queryURLs, p.instantForm(expr, ts), expr, &a)
	if err != nil {
		return scaling.Sample{}, err
	}
	s, err := a.sample(ts, warnings)
	if err == nil && len(warnings) > 0 && p.onWarning != nil {
		p.onWarning(expr, warnings)
	}
	return s, err
}

// QueryRange returns expr over [start, end] every step, paging the range into
// requests of at most MaxRangePoints points. Each Sample.Time is an
// evaluation step (start + k*step), as Prometheus reports it.
func (p *Prometheus) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	pages, err := rangePages(start, end, step, MaxRangePoints)
	if err != nil {
		return nil, err
	}
	ctx, cancel := p.bound(ctx)
	defer cancel()
	a := rangeAnswer{expr: expr}
	var allWarnings []string
	for _, r := range pages {
		args := url.Values{
			"query": {expr},
			"start": {formatTime(r.Start)},
			"end":   {formatTime(r.End)},
			"step":  {strconv.FormatFloat(r.Step.Seconds(), 'f', -1, 64)},
		}
		warnings, err := p.do(ctx, "/api/v1/query_range", args, expr, &a)
		if err != nil {
			return nil, err
		}
		allWarnings = append(allWarnings, warnings...)
	}
	if len(a.out) == 0 {
		if len(allWarnings) > 0 {
			return nil, scaling.Fail(scaling.FailureWarnings, "%s: no data, warnings: %s", quote(expr), joinWarnings(allWarnings))
		}
		return nil, scaling.Fail(scaling.FailureEmpty, "%s: no data between %s and %s", quote(expr),
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	if len(allWarnings) > 0 && p.onWarning != nil {
		p.onWarning(expr, allWarnings)
	}
	return a.out, nil
}

// rangePages splits [start, end] into ranges on the same step grid, each
// holding at most maxPoints points; consecutive pages do not overlap.
func rangePages(start, end time.Time, step time.Duration, maxPoints int) ([]promv1.Range, error) {
	if step <= 0 {
		return nil, scaling.Fail(scaling.FailureQuery, "range step %s: must be > 0", step)
	}
	if end.Before(start) {
		return nil, scaling.Fail(scaling.FailureQuery, "range end %s: must not be before start %s",
			end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	if maxPoints < 1 {
		return nil, fmt.Errorf("max points %d: must be >= 1", maxPoints)
	}
	steps := int64(end.Sub(start) / step) // whole steps after start
	var pages []promv1.Range
	for first := int64(0); first <= steps; first += int64(maxPoints) {
		last := min(first+int64(maxPoints)-1, steps)
		pages = append(pages, promv1.Range{
			Start: start.Add(time.Duration(first) * step),
			End:   start.Add(time.Duration(last) * step),
			Step:  step,
		})
	}
	return pages, nil
}

// bound is ctx bounded by the query timeout. A context whose own deadline
// comes first is already bounded: it is returned as it is, which saves a
// timer and a context on every query of a scaler whose tick has a deadline.
func (p *Prometheus) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.timeout <= 0 {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= p.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, p.timeout)
}

// endpoint is the URL of an API endpoint under the configured one, without
// the configured URL's parameters (they go in the form, see form).
func (p *Prometheus) endpoint(endpoint string) url.URL {
	u := *p.base
	u.Path = path.Join(u.Path, endpoint)
	u.RawQuery = ""
	return u
}

// form is the encoded form of a request: args, the query timeout, and the
// parameters written in the configured URL. Those go with every query, in
// the form as well (a GET retry sends only the form): Thanos'
// partial_response=false, for instance.
func (p *Prometheus) form(args url.Values) string {
	if p.timeout > 0 {
		args.Set("timeout", p.timeoutArg)
	}
	for k, vs := range p.base.Query() {
		if !args.Has(k) {
			args[k] = vs
		}
	}
	return args.Encode()
}

// instantForm is form(query=expr, time=ts), written without the map and the
// sorting of url.Values when the configured URL has no parameters: the
// same bytes in the same order (query, time, timeout).
func (p *Prometheus) instantForm(expr string, ts time.Time) string {
	if p.baseArgs {
		return p.form(url.Values{"query": {expr}, "time": {formatTime(ts)}})
	}
	q := url.QueryEscape(expr)
	var b strings.Builder
	b.Grow(len("query=&time=&timeout=") + len(q) + 24 + len(p.timeoutArg))
	b.WriteString("query=")
	b.WriteString(q)
	b.WriteString("&time=")
	var t [32]byte
	b.Write(appendTime(t[:0], ts))
	if p.timeoutArg != "" {
		b.WriteString("&timeout=")
		b.WriteString(p.timeoutArg)
	}
	return b.String()
}

// do sends one API request and decodes the answer's data into into. It
// returns the answer's warnings, and every failure as a *scaling.SignalError.
func (p *Prometheus) do(ctx context.Context, endpoint string, args url.Values, expr string, into dataDecoder) ([]string, error) {
	u := p.endpoint(endpoint)
	return p.doForm(ctx, u, u.String(), p.form(args), expr, into)
}

// doForm is do with the request's URL (as a url.URL and written out) and
// its encoded form.
func (p *Prometheus) doForm(ctx context.Context, u url.URL, us, form, expr string, into dataDecoder) ([]string, error) {
	if until := p.quietUntil.Load(); until != 0 {
		if now := p.clock.Now(); now.UnixNano() < until {
			return nil, notSent("%s: not sent: the server asked to wait until %s (Retry-After)",
				quote(expr), time.Unix(0, until).UTC().Format(time.RFC3339))
		}
		p.quietUntil.CompareAndSwap(until, 0)
	}
	if err := p.limits.wait(ctx, expr); err != nil {
		return nil, err
	}
	defer p.limits.release()
	resp, err := p.send(ctx, u, us, form)
	if err != nil {
		return nil, transportError(ctx, expr, err)
	}
	defer drain(resp)
	if resp.StatusCode/100 != 2 {
		return nil, p.statusError(ctx, expr, resp)
	}
	if resp.ContentLength > p.maxBytes {
		return nil, tooLarge(expr, p.maxBytes, fmt.Sprintf("the answer announced %d bytes", resp.ContentLength))
	}
	env, err := readAnswer(resp.Body, resp.ContentLength, p.maxBytes, into)
	if err != nil {
		return nil, decodeError(ctx, expr, p.maxBytes, into, err)
	}
	switch env.status {
	case "success":
		return env.warnings, nil
	case "error":
		return env.warnings, apiFailure(expr, env.errorType, env.errorMsg)
	}
	return nil, scaling.Fail(scaling.FailureQuery, "%s: not a Prometheus API answer: status %q, want success or error: %s",
		quote(expr), scaling.Clip(env.status, maxLabelText), scaling.Clip(strings.TrimSpace(env.raw), maxServerText))
}

// send posts the form, and sends it again as a GET when the server refuses
// POST, as Prometheus' own Go client does.
func (p *Prometheus) send(ctx context.Context, u url.URL, us, form string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, us, strings.NewReader(form))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A query changes nothing: let the transport retry it on a kept-alive
	// connection the server (or a proxy) closed, as it does a GET. A nil
	// value marks it so without sending the header.
	req.Header["Idempotency-Key"] = nil
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusMethodNotAllowed, http.StatusNotImplemented, http.StatusForbidden:
		drain(resp)
		u.RawQuery = form
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil); err != nil {
			return nil, err
		}
		return p.client.Do(req)
	}
	return resp, nil
}

// statusError reads what a non-2xx answer says: Prometheus' own error type
// and message when the body has them (400, 422, 503; 500 from some back
// ends), otherwise the status and an excerpt of the body (a proxy's page).
func (p *Prometheus) statusError(ctx context.Context, expr string, resp *http.Response) error {
	limit := min(p.maxBytes, maxErrorBody)
	env, derr := decodeAnswer(&capReader{r: resp.Body, left: limit}, nil)
	retry, hasRetry := retryAfter(resp.Header.Get("Retry-After"), p.clock.Now())
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || (resp.StatusCode == http.StatusServiceUnavailable && hasRetry):
		msg := fmt.Sprintf("%s: the server refused the query: HTTP %d", quote(expr), resp.StatusCode)
		if hasRetry {
			until := p.clock.Now().Add(retry)
			p.quietUntil.Store(until.UnixNano())
			msg += fmt.Sprintf("; Retry-After %s: not asking again before %s", durfmt.D(retry), until.UTC().Format(time.RFC3339))
		}
		if derr == nil && env.errorMsg != "" {
			msg += ": " + scaling.Clip(env.errorMsg, maxServerText)
		}
		return &scaling.SignalError{Kind: scaling.FailureThrottled, Err: errors.New(msg)}
	case derr == nil && env.status == "error":
		return apiFailure(expr, env.errorType, env.errorMsg)
	case ctx.Err() != nil:
		return transportError(ctx, expr, ctx.Err())
	}
	class := "server_error"
	if resp.StatusCode/100 == 4 {
		class = "client_error"
	}
	return scaling.Fail(scaling.FailureQuery, "%s: %s: HTTP %d: %s", quote(expr), class, resp.StatusCode, scaling.Clip(strings.TrimSpace(env.raw), maxServerText))
}

// apiError is Prometheus' own error type and message from an answer whose
// status is "error".
type apiError struct {
	Type string
	Msg  string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Msg }

func apiFailure(expr, typ, msg string) error {
	if typ == "" {
		typ = string(promv1.ErrServer)
	}
	typ, msg = statusErrorType(typ, msg)
	kind := scaling.FailureQuery
	if typ == string(promv1.ErrTimeout) || typ == string(promv1.ErrCanceled) {
		kind = scaling.FailureTimeout
	}
	return &scaling.SignalError{Kind: kind, Err: fmt.Errorf("%s: %w", quote(expr), &apiError{Type: typ, Msg: scaling.Clip(msg, maxServerText)})}
}

// statusErrorType names an error type given as an HTTP status, as
// VictoriaMetrics does ("errorType":"422"), with Prometheus' type for that
// status, and keeps the status in the message: a bad query is bad_data
// whatever the back end, and VictoriaMetrics' deadline ("timeout exceeded
// ...", 422) a timeout.
func statusErrorType(typ, msg string) (string, string) {
	code, err := strconv.Atoi(typ)
	if err != nil || code < 100 || code > 599 {
		return typ, msg
	}
	msg = "HTTP " + typ + ": " + msg
	switch {
	case strings.Contains(msg, "timeout exceeded"):
		return string(promv1.ErrTimeout), msg
	case code == http.StatusBadRequest:
		return string(promv1.ErrBadData), msg
	case code == http.StatusUnprocessableEntity:
		return string(promv1.ErrExec), msg
	case code/100 == 5:
		return string(promv1.ErrServer), msg
	}
	return string(promv1.ErrClient), msg
}

// transportError names a failed request: the caller's deadline or
// cancellation is a timeout; anything else (refused, reset, TLS) a query error.
func transportError(ctx context.Context, expr string, err error) error {
	kind := scaling.FailureQuery
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		kind = scaling.FailureTimeout
	}
	return &scaling.SignalError{Kind: kind, Err: fmt.Errorf("%s: %s", quote(expr), scaling.Clip(err.Error(), maxServerText))}
}

func tooLarge(expr string, limit int64, what string) error {
	return scaling.Fail(scaling.FailureTooLarge, "%s: answer larger than the %s limit: %s; want one series", quote(expr), formatBytes(limit), what)
}

// retryAfter reads a Retry-After header: a number of seconds or an HTTP
// date, capped at maxRetryAfter.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		d = time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

func formatTime(t time.Time) string {
	var b [32]byte
	return string(appendTime(b[:0], t))
}

// appendTime appends t as the API's time parameter: Unix seconds.
func appendTime(b []byte, t time.Time) []byte {
	return strconv.AppendFloat(b, float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', -1, 64)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// quote is expr quoted for an error text, clipped: an expression comes from
// the configuration and can be long, and it is repeated in every failure.
func quote(expr string) string {
	return strconv.Quote(scaling.Clip(expr, maxExprText))
}

func joinWarnings(w []string) string {
	return scaling.Clip(strings.Join(w, "; "), maxServerText)
}
