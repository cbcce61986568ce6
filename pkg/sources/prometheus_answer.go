package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Bounds on the texts a failure carries (see scaling.Clip).
const (
	maxErrorBody  = 64 << 10 // bytes of a non-2xx answer read for its message
	maxServerText = 512      // a server's error message, warnings, a transport error
	maxExprText   = 256      // the query, quoted in every failure
	maxLabelText  = 64       // one label value of a series excerpt
	maxLabels     = 8        // labels named in a series excerpt
	maxSeriesText = 256      // one series excerpt
	maxWarnings   = 5        // warnings kept from one answer
	headBytes     = 512      // bytes of an answer kept to quote one that is not JSON
)

// errTooLarge stops reading an answer at the size limit.
var errTooLarge = errors.New("answer too large")

// capReader reads at most left bytes from r and fails with errTooLarge on
// the first read past them. It keeps the first headBytes bytes, to quote an
// answer that is not JSON.
type capReader struct {
	r    io.Reader
	left int64
	n    int64
	head []byte
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := io.ReadFull(c.r, one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.n += int64(n)
	if len(c.head) < headBytes {
		c.head = append(c.head, p[:min(n, headBytes-len(c.head))]...)
	}
	return n, err
}

// drain closes a response body after reading a little of what is left, so
// that a short remainder does not cost the connection; a long one is not
// read at all.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}

// envelope is the part of an API answer around its data.
type envelope struct {
	status, errorType, errorMsg string
	warnings                    []string
	raw                         string // the answer's first bytes, when it is not JSON
}

// dataDecoder decodes an answer's data as it is read. setType is called
// when data.resultType is read and may refuse it, which stops reading;
// result is called at data.result with the decoder positioned before it.
// Either may come first.
type dataDecoder interface {
	setType(resultType string) error
	result(dec *json.Decoder) error
	// progress says what was read before reading stopped, for a too_large failure.
	progress() string
}

// decodeAnswer reads a Prometheus API answer from r, handing its data to
// into (nil: the data is skipped).
func decodeAnswer(r *capReader, into dataDecoder) (envelope, error) {
	var env envelope
	dec := json.NewDecoder(r)
	err := func() error {
		if err := expectDelim(dec, '{'); err != nil {
			return err
		}
		for dec.More() {
			key, err := stringToken(dec)
			if err != nil {
				return err
			}
			switch key {
			case "status":
				env.status, err = stringToken(dec)
			case "errorType":
				env.errorType, err = stringToken(dec)
			case "error":
				env.errorMsg, err = stringToken(dec)
			case "warnings":
				env.warnings, err = decodeWarnings(dec)
			case "data":
				if into == nil {
					err = skipValue(dec)
				} else {
					err = decodeData(dec, into)
				}
			default:
				err = skipValue(dec)
			}
			if err != nil {
				return err
			}
		}
		return expectDelim(dec, '}')
	}()
	env.raw = string(r.head)
	return env, err
}

func decodeData(dec *json.Decoder, into dataDecoder) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return err
		}
		switch key {
		case "resultType":
			var rt string
			if rt, err = stringToken(dec); err == nil {
				err = into.setType(rt)
			}
		case "result":
			err = into.result(dec)
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

// decodeWarnings keeps the first few warnings, each clipped, and counts the rest.
func decodeWarnings(dec *json.Decoder) ([]string, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	var out []string
	n := 0
	for dec.More() {
		w, err := stringToken(dec)
		if err != nil {
			return nil, err
		}
		if n < maxWarnings {
			out = append(out, scaling.Clip(w, maxServerText))
		}
		n++
	}
	if n > maxWarnings {
		out = append(out, fmt.Sprintf("and %d more warnings", n-maxWarnings))
	}
	return out, expectDelim(dec, ']')
}

// decodeError names why an answer could not be read.
func decodeError(ctx context.Context, expr string, limit int64, into dataDecoder, err error) error {
	var se *scaling.SignalError
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, errTooLarge):
		return tooLarge(expr, limit, into.progress())
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return transportError(ctx, expr, err)
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return scaling.Fail(scaling.FailureQuery, "%s: malformed answer: %s", quote(expr), scaling.Clip(err.Error(), maxServerText))
}

// point is one [time, "value"] pair.
type point struct {
	t time.Time
	v float64
}

func (p *point) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	ts, err := strconv.ParseFloat(string(pair[0]), 64)
	if err != nil {
		return fmt.Errorf("sample time %s: want a number", scaling.Clip(string(pair[0]), maxLabelText))
	}
	var s string
	if err := json.Unmarshal(pair[1], &s); err != nil {
		return fmt.Errorf("sample value %s: want a string", scaling.Clip(string(pair[1]), maxLabelText))
	}
	if p.v, err = strconv.ParseFloat(s, 64); err != nil {
		return fmt.Errorf("sample value %q: want a number", scaling.Clip(s, maxLabelText))
	}
	p.t = sampleTime(ts)
	return nil
}

// series is one element of a vector or a matrix.
type series struct {
	Metric     map[string]string `json:"metric"`
	Value      *point            `json:"value"`
	Values     []point           `json:"values"`
	Histogram  json.RawMessage   `json:"histogram"`
	Histograms json.RawMessage   `json:"histograms"`
}

func (s *series) histogram() bool { return s.Histogram != nil || s.Histograms != nil }

// seriesList reads a vector or a matrix one series at a time: the first
// series whole, the second for its labels, and the rest only to count them,
// in one reused buffer.
type seriesList struct {
	n        int
	excerpts []string
	raw      json.RawMessage
}

func (l *seriesList) describe() string {
	out := strings.Join(l.excerpts, ", ")
	if l.n > len(l.excerpts) {
		out += ", ..."
	}
	return out
}

// next reads the next element, whose start is already in l.raw when
// haveRaw; it returns the series for the first two elements and nil for the
// others.
func (l *seriesList) next(dec *json.Decoder, haveRaw bool) (*series, error) {
	if !haveRaw {
		if err := dec.Decode(&l.raw); err != nil {
			return nil, err
		}
	}
	l.n++
	if l.n > 2 {
		return nil, nil
	}
	var s series
	if err := json.Unmarshal(l.raw, &s); err != nil {
		return nil, err
	}
	l.excerpts = append(l.excerpts, describeSeries(s.Metric))
	return &s, nil
}

// describeSeries is a bounded excerpt of a label set, in PromQL's notation:
// at most maxLabels labels, each value clipped, maxSeriesText bytes in all.
func describeSeries(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(scaling.Clip(m["__name__"], maxLabelText))
	b.WriteByte('{')
	for i, k := range keys {
		if i == maxLabels {
			fmt.Fprintf(&b, ", …+%d labels", len(keys)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(scaling.Clip(k, maxLabelText))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(scaling.Clip(m[k], maxLabelText)))
	}
	b.WriteByte('}')
	return scaling.Clip(b.String(), maxSeriesText)
}

// instantAnswer is the data of an instant query.
type instantAnswer struct {
	expr       string
	resultType string
	hasResult  bool
	scalar     *point // a [time, "value"] result: scalar or string
	series     seriesList
	first      *series
	// Where scan puts the one series or scalar of a small answer.
	one      series
	onePoint point
}

func (a *instantAnswer) setType(rt string) error {
	a.resultType = rt
	switch rt {
	case "scalar", "vector":
		return nil
	}
	// Stop reading: nothing in the rest can make it usable.
	return scaling.Fail(scaling.FailureUnsupported, "%s: result of type %s: want a scalar or an instant vector", quote(a.expr), scaling.Clip(rt, maxLabelText))
}

func (a *instantAnswer) result(dec *json.Decoder) error {
	a.hasResult = true
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	if !dec.More() {
		return expectDelim(dec, ']')
	}
	if err := dec.Decode(&a.series.raw); err != nil {
		return err
	}
	if len(a.series.raw) > 0 && a.series.raw[0] != '{' {
		// [time, "value"]: a scalar or a string.
		ts, err := strconv.ParseFloat(string(a.series.raw), 64)
		if err != nil {
			return fmt.Errorf("result element %s: want a series or a sample time", scaling.Clip(string(a.series.raw), maxLabelText))
		}
		v, err := stringToken(dec)
		if err != nil {
			return err
		}
		p := point{t: sampleTime(ts), v: math.NaN()}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			p.v = f
		}
		a.scalar = &p
		return expectDelim(dec, ']')
	}
	for haveRaw := true; ; haveRaw = false {
		if !haveRaw && !dec.More() {
			return expectDelim(dec, ']')
		}
		s, err := a.series.next(dec, haveRaw)
		if err != nil {
			return err
		}
		if a.first == nil && s != nil {
			a.first = s
		}
	}
}

func (a *instantAnswer) progress() string {
	if a.series.n == 0 {
		return "stopped reading"
	}
	return fmt.Sprintf("stopped reading after %d series: %s", a.series.n, a.series.describe())
}

// sample turns the answer into one value, or the failure it is.
func (a *instantAnswer) sample(ts time.Time, warnings []string) (scaling.Sample, error) {
	noData := func(what string) error {
		if len(warnings) > 0 {
			return scaling.Fail(scaling.FailureWarnings, "%s: no data, warnings: %s", quote(a.expr), joinWarnings(warnings))
		}
		return scaling.Fail(scaling.FailureEmpty, "%s: %s", quote(a.expr), what)
	}
	var p point
	switch {
	case !a.hasResult:
		return scaling.Sample{}, noData("no result")
	case a.scalar != nil:
		if a.resultType != "" && a.resultType != "scalar" {
			return scaling.Sample{}, scaling.Fail(scaling.FailureUnsupported, "%s: result of type %s: want a scalar or an instant vector", quote(a.expr), a.resultType)
		}
		p = *a.scalar
	case a.series.n == 0:
		return scaling.Sample{}, noData("no series at " + ts.UTC().Format(time.RFC3339))
	case a.series.n > 1:
		return scaling.Sample{}, scaling.Fail(scaling.FailureMultiple, "%s: %d series, want 1: %s", quote(a.expr), a.series.n, a.series.describe())
	case a.first.histogram():
		return scaling.Sample{}, scaling.Fail(scaling.FailureUnsupported, "%s: a native histogram: want a float sample", quote(a.expr))
	case a.first.Value == nil:
		return scaling.Sample{}, scaling.Fail(scaling.FailureUnsupported, "%s: a series without a value: want an instant vector", quote(a.expr))
	default:
		p = *a.first.Value
	}
	if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
		return scaling.Sample{}, scaling.Fail(scaling.FailureNotFinite, "%s: value %v", quote(a.expr), p.v)
	}
	at := p.t
	if d := at.Sub(ts); d > -time.Millisecond && d < time.Millisecond {
		at = ts // the evaluation time, which the answer carries to the millisecond
	}
	return scaling.Sample{Time: at, Value: p.v}, nil
}

// rangeAnswer collects the pages of a range query of one series.
type rangeAnswer struct {
	expr   string
	out    []scaling.Sample
	metric map[string]string // the series, to tell another one on a later page
	page   seriesList
}

func (a *rangeAnswer) setType(rt string) error {
	if rt == "matrix" {
		return nil
	}
	return scaling.Fail(scaling.FailureUnsupported, "%s: range result of type %s: want a matrix", quote(a.expr), scaling.Clip(rt, maxLabelText))
}

func (a *rangeAnswer) result(dec *json.Decoder) error {
	a.page = seriesList{raw: a.page.raw[:0]}
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		s, err := a.page.next(dec, false)
		if err != nil {
			return err
		}
		if s == nil || a.page.n > 1 {
			continue
		}
		if s.histogram() {
			return scaling.Fail(scaling.FailureUnsupported, "%s: native histograms: want float samples", quote(a.expr))
		}
		if a.metric != nil && !maps.Equal(a.metric, s.Metric) {
			return scaling.Fail(scaling.FailureMultiple, "%s: 2 series across the range, want 1: %s, %s", quote(a.expr), describeSeries(a.metric), describeSeries(s.Metric))
		}
		a.metric = s.Metric
		for _, p := range s.Values {
			if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
				return scaling.Fail(scaling.FailureNotFinite, "%s: value %v at %s", quote(a.expr), p.v, p.t.Format(time.RFC3339))
			}
			a.out = append(a.out, scaling.Sample{Time: p.t, Value: p.v})
		}
	}
	if a.page.n > 1 {
		return scaling.Fail(scaling.FailureMultiple, "%s: %d series, want 1: %s", quote(a.expr), a.page.n, a.page.describe())
	}
	return expectDelim(dec, ']')
}

func (a *rangeAnswer) progress() string {
	if a.page.n <= 1 {
		return fmt.Sprintf("stopped reading after %d points", len(a.out))
	}
	return fmt.Sprintf("stopped reading after %d series: %s", a.page.n, a.page.describe())
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("got %v, want %q", clipToken(tok), string(d))
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("got %v, want a string", clipToken(tok))
	}
	return s, nil
}

func clipToken(tok json.Token) string {
	return scaling.Clip(fmt.Sprint(tok), maxLabelText)
}

// skipValue reads past one value without keeping it.
func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}
