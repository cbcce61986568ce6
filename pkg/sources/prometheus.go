package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// MaxRangePoints is the most points per series one range request may ask
// for. Prometheus refuses a range query when (end-start)/step exceeds 11,000;
// QueryRange pages longer ranges into requests of at most this many points.
const MaxRangePoints = 11000

// Prometheus reads signals from a Prometheus-compatible HTTP API
// (Prometheus, Thanos, Mimir).
//
// What Sample.Time means here: Prometheus stamps every instant-query result
// with the evaluation time, not with the time the underlying sample was
// scraped, so Query returns Sample.Time == ts. Prometheus itself drops a
// series whose newest sample is older than its lookback delta
// (--query.lookback-delta, 5m by default) or that got a staleness marker
// (its target vanished). A tighter max age needs QueryMaxAge.
type Prometheus struct {
	api       promv1.API
	timeout   time.Duration
	onWarning func(expr string, warnings []string)
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
		return nil, fmt.Errorf("prometheus.query_timeout: %s: must be >= 0", cfg.QueryTimeout)
	}
	if err := cfg.HTTP.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus.http_config: %w", err)
	}
	hc, err := promconfig.NewClientFromConfig(cfg.HTTP, "scaled")
	if err != nil {
		return nil, fmt.Errorf("prometheus.http_config: %w", err)
	}
	c, err := api.NewClient(api.Config{Address: cfg.URL, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("prometheus.url: %q: %w", cfg.URL, err)
	}
	p := &Prometheus{api: promv1.NewAPI(c), timeout: cfg.QueryTimeout}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Query evaluates expr at ts. Sample.Time is ts (see the type's comment).
func (p *Prometheus) Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	return p.query(ctx, expr, ts)
}

// QueryMaxAge evaluates expr at ts and fails with the kind stale when the
// newest raw sample behind it is older than maxAge (maxAge <= 0: no check,
// same as Query).
//
// Prometheus 2.42 ignores the lookback_delta query parameter (it came in
// 2.43), and where it is honoured it turns a stale series into an empty
// result and silently shrinks aggregations, so it is not used. Instead, once
// expr yields a value, a second instant query evaluates timestamp(expr) at
// ts. For an instant-vector selector (`queue_depth{queue="jobs"}`) that is the
// time of the newest raw sample, which becomes Sample.Time and is compared
// with maxAge. For any computed expression (rate, sum, arithmetic) Prometheus
// answers with the evaluation time, so Sample.Time stays ts and the check
// always passes: the freshness of such a signal is bounded only by the ranges
// in the expression and by Prometheus' lookback delta. For a scalar
// expression timestamp() is a type error, and Sample.Time stays ts too.
func (p *Prometheus) QueryMaxAge(ctx context.Context, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	s, err := p.query(ctx, expr, ts)
	if err != nil || maxAge <= 0 {
		return s, err
	}
	at, err := p.query(ctx, "timestamp("+expr+")", ts)
	if err != nil {
		var perr *promv1.Error
		if errors.As(err, &perr) && perr.Type == promv1.ErrBadData {
			return s, nil // scalar expression: computed at ts
		}
		return scaling.Sample{}, err
	}
	s.Time = time.UnixMilli(int64(math.Round(at.Value * 1000))).UTC()
	if age := ts.Sub(s.Time); age > maxAge {
		return s, staleError(expr, age, ts, maxAge)
	}
	return s, nil
}

func (p *Prometheus) query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	v, warnings, _, err := p.api.Query(ctx, expr, ts, p.apiOptions()...)
	if err != nil {
		return scaling.Sample{}, classify(ctx, expr, err)
	}
	s, err := instantValue(expr, v, ts, warnings)
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
	var out []scaling.Sample
	var allWarnings promv1.Warnings
	var series model.Metric
	for _, r := range pages {
		v, warnings, _, err := p.api.QueryRange(ctx, expr, r, p.apiOptions()...)
		if err != nil {
			return nil, classify(ctx, expr, err)
		}
		allWarnings = append(allWarnings, warnings...)
		m, ok := v.(model.Matrix)
		if !ok {
			return nil, scaling.Fail(scaling.FailureUnsupported, "%q: range result of type %s: want a matrix", expr, v.Type())
		}
		switch {
		case len(m) > 1:
			return nil, scaling.Fail(scaling.FailureMultiple, "%q: %d series, want 1: %s", expr, len(m), firstTwo(len(m), m[0].Metric, m[1].Metric))
		case len(m) == 0:
			continue
		case series != nil && !series.Equal(m[0].Metric):
			return nil, scaling.Fail(scaling.FailureMultiple, "%q: 2 series across the range, want 1: %s", expr, firstTwo(2, series, m[0].Metric))
		}
		series = m[0].Metric
		for _, sp := range m[0].Values {
			f := float64(sp.Value)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, scaling.Fail(scaling.FailureNotFinite, "%q: value %v at %s", expr, f, sp.Timestamp.Time().UTC().Format(time.RFC3339))
			}
			out = append(out, scaling.Sample{Time: sp.Timestamp.Time().UTC(), Value: f})
		}
	}
	if len(out) == 0 {
		if len(allWarnings) > 0 {
			return nil, scaling.Fail(scaling.FailureWarnings, "%q: no data, warnings: %s", expr, strings.Join(allWarnings, "; "))
		}
		return nil, scaling.Fail(scaling.FailureEmpty, "%q: no data between %s and %s", expr,
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	if len(allWarnings) > 0 && p.onWarning != nil {
		p.onWarning(expr, allWarnings)
	}
	return out, nil
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

func (p *Prometheus) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.timeout > 0 {
		return context.WithTimeout(ctx, p.timeout)
	}
	return context.WithCancel(ctx)
}

func (p *Prometheus) apiOptions() []promv1.Option {
	if p.timeout > 0 {
		return []promv1.Option{promv1.WithTimeout(p.timeout)}
	}
	return nil
}

// instantValue turns an instant-query result into one sample.
func instantValue(expr string, v model.Value, ts time.Time, warnings promv1.Warnings) (scaling.Sample, error) {
	var f float64
	switch r := v.(type) {
	case *model.Scalar:
		f = float64(r.Value)
	case model.Vector:
		switch len(r) {
		case 0:
			if len(warnings) > 0 {
				return scaling.Sample{}, scaling.Fail(scaling.FailureWarnings, "%q: no data, warnings: %s", expr, strings.Join(warnings, "; "))
			}
			return scaling.Sample{}, scaling.Fail(scaling.FailureEmpty, "%q: no series at %s", expr, ts.UTC().Format(time.RFC3339))
		case 1:
			f = float64(r[0].Value)
		default:
			return scaling.Sample{}, scaling.Fail(scaling.FailureMultiple, "%q: %d series, want 1: %s", expr, len(r), firstTwo(len(r), r[0].Metric, r[1].Metric))
		}
	case nil:
		if len(warnings) > 0 {
			return scaling.Sample{}, scaling.Fail(scaling.FailureWarnings, "%q: no data, warnings: %s", expr, strings.Join(warnings, "; "))
		}
		return scaling.Sample{}, scaling.Fail(scaling.FailureEmpty, "%q: no result", expr)
	default:
		return scaling.Sample{}, scaling.Fail(scaling.FailureUnsupported, "%q: result of type %s: want a scalar or an instant vector", expr, v.Type())
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return scaling.Sample{}, scaling.Fail(scaling.FailureNotFinite, "%q: value %v", expr, f)
	}
	return scaling.Sample{Time: ts, Value: f}, nil
}

// classify maps a client or server error to a failure kind. The caller's own
// deadline or cancellation is a timeout, as is Prometheus' own query timeout;
// a result type the client cannot decode (string) is unsupported_type;
// everything else (transport, HTTP status, PromQL) is a query error that keeps
// Prometheus' error type and message.
func classify(ctx context.Context, expr string, err error) error {
	kind := scaling.FailureQuery
	var perr *promv1.Error
	if errors.As(err, &perr) {
		err = serverError(perr)
		errors.As(err, &perr)
	}
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		kind = scaling.FailureTimeout
	case perr != nil && (perr.Type == promv1.ErrTimeout || perr.Type == promv1.ErrCanceled):
		kind = scaling.FailureTimeout
	case perr != nil && perr.Type == promv1.ErrBadResponse && strings.Contains(perr.Msg, "unexpected value type"):
		kind = scaling.FailureUnsupported
	}
	return &scaling.SignalError{Kind: kind, Err: fmt.Errorf("%q: %w", expr, err)}
}

// serverError recovers Prometheus' own error type and message from a
// response whose status code the client does not read as an API error (503
// for a query timeout, 500 for an internal error): the client then reports
// only "server error: 503" and keeps the body as Detail.
func serverError(perr *promv1.Error) error {
	if perr.Type != promv1.ErrServer && perr.Type != promv1.ErrClient {
		return perr
	}
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal([]byte(perr.Detail), &body) != nil || body.Status != "error" || body.ErrorType == "" {
		return perr
	}
	return &promv1.Error{Type: promv1.ErrorType(body.ErrorType), Msg: body.Error}
}

// firstTwo names the first two of n label sets.
func firstTwo(n int, a, b model.Metric) string {
	s := a.String() + ", " + b.String()
	if n > 2 {
		s += ", ..."
	}
	return s
}
