package sources

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// GroupQuerier answers a grouped query: every series of one instant vector,
// for many signals to pick their own from (Selection).
//
// QueryGroup evaluates expr at ts. It fails like Querier.Query, except that
// an answer of no series or of several is not a failure: which series a
// signal needs is the signal's to say (Group.Select). The answer is bounded
// like any other (too_large).
type GroupQuerier interface {
	QueryGroup(ctx context.Context, expr string, ts time.Time) (*Group, error)
}

// Group is the answer to a grouped query: its series, each with its labels
// and value. It is shared by every signal that selects from it, and never
// changed once built (its index is built under a lock).
type Group struct {
	expr   string
	at     time.Time
	series []groupSeries

	mu sync.Mutex
	// index maps a set of label names (see Selection.indexKey) to the
	// series of each combination of their values, built the first time a
	// selection of equalities on those names asks.
	index map[string]map[string][]int32
}

type groupSeries struct {
	labels map[string]string
	t      time.Time
	v      float64
	// unusable says why the series has no float value (a native
	// histogram), empty when it has one.
	unusable string
}

// Len is the number of series in the answer.
func (g *Group) Len() int { return len(g.series) }

// Select returns the value of the one series sel matches: none is the
// failure kind empty, several multiple_series. Sample.Time is the time the
// answer gives for the value (the evaluation time, for Prometheus).
func (g *Group) Select(sel *Selection) (scaling.Sample, error) {
	q := quote(g.expr)
	var hits []int32
	if key, values, ok := sel.equalities(); ok {
		hits = g.lookup(key, values)
	} else {
		for i := range g.series {
			if sel.matches(g.series[i].labels) {
				hits = append(hits, int32(i))
				if len(hits) > 2 {
					hits = hits[:2] // enough to describe; count the rest below
					n := 3
					for _, s := range g.series[i+1:] {
						if sel.matches(s.labels) {
							n++
						}
					}
					return scaling.Sample{}, scaling.Fail(scaling.FailureMultiple, "%s: %d series match %s, want 1: %s, ...",
						q, n, sel, g.describe(hits))
				}
			}
		}
	}
	switch len(hits) {
	case 0:
		return scaling.Sample{}, scaling.Fail(scaling.FailureEmpty, "%s: no series matches %s at %s (the answer has %d series)",
			q, sel, g.at.UTC().Format(time.RFC3339), len(g.series))
	case 1:
	default:
		more := ""
		if len(hits) > 2 {
			more = ", ..."
		}
		return scaling.Sample{}, scaling.Fail(scaling.FailureMultiple, "%s: %d series match %s, want 1: %s%s",
			q, len(hits), sel, g.describe(hits[:2]), more)
	}
	s := g.series[hits[0]]
	if s.unusable != "" {
		return scaling.Sample{}, scaling.Fail(scaling.FailureUnsupported, "%s: the series %s is %s: want a float sample", q, describeSeries(s.labels), s.unusable)
	}
	if math.IsNaN(s.v) || math.IsInf(s.v, 0) {
		return scaling.Sample{}, scaling.Fail(scaling.FailureNotFinite, "%s: value %v of %s", q, s.v, describeSeries(s.labels))
	}
	at := s.t
	if d := at.Sub(g.at); d > -time.Millisecond && d < time.Millisecond {
		at = g.at
	}
	return scaling.Sample{Time: at, Value: s.v}, nil
}

func (g *Group) describe(hits []int32) string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = describeSeries(g.series[h].labels)
	}
	return strings.Join(out, ", ")
}

// lookup returns the series whose labels names have values, from an index
// built once per set of names: a fleet of scalers each selecting its own
// workload costs one pass over the answer, not one per scaler.
func (g *Group) lookup(names []string, values string) []int32 {
	key := strings.Join(names, "\xff")
	g.mu.Lock()
	defer g.mu.Unlock()
	idx, ok := g.index[key]
	if !ok {
		idx = make(map[string][]int32, len(g.series))
		for i, s := range g.series {
			v := make([]string, len(names))
			for j, n := range names {
				v[j] = s.labels[n]
			}
			k := strings.Join(v, "\xff")
			idx[k] = append(idx[k], int32(i))
		}
		if g.index == nil {
			g.index = map[string]map[string][]int32{}
		}
		g.index[key] = idx
	}
	return idx[values]
}

// QueryGroup implements GroupQuerier: one request, every series of the
// answer read (up to the response size limit).
func (p *Prometheus) QueryGroup(ctx context.Context, expr string, ts time.Time) (*Group, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	args := map[string][]string{"query": {expr}, "time": {formatTime(ts)}}
	a := groupAnswer{g: &Group{expr: expr, at: ts}}
	warnings, err := p.do(ctx, "/api/v1/query", args, expr, &a)
	if err != nil {
		return nil, err
	}
	if !a.hasResult && len(warnings) > 0 {
		return nil, scaling.Fail(scaling.FailureWarnings, "%s: no data, warnings: %s", quote(expr), joinWarnings(warnings))
	}
	if len(warnings) > 0 && p.onWarning != nil {
		p.onWarning(expr, warnings)
	}
	return a.g, nil
}

// groupAnswer reads an instant vector whole, series by series.
type groupAnswer struct {
	g         *Group
	hasResult bool
}

func (a *groupAnswer) setType(rt string) error {
	if rt == "vector" {
		return nil
	}
	return scaling.Fail(scaling.FailureUnsupported, "%s: result of type %s: a grouped query must return an instant vector", quote(a.g.expr), scaling.Clip(rt, maxLabelText))
}

func (a *groupAnswer) result(dec *json.Decoder) error {
	a.hasResult = true
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		var s series
		if err := dec.Decode(&s); err != nil {
			return err
		}
		gs := groupSeries{labels: s.Metric}
		switch {
		case s.histogram():
			gs.unusable = "a native histogram"
		case s.Value == nil:
			gs.unusable = "without a value"
		default:
			gs.t, gs.v = s.Value.t, s.Value.v
		}
		a.g.series = append(a.g.series, gs)
	}
	return expectDelim(dec, ']')
}

func (a *groupAnswer) progress() string {
	return fmt.Sprintf("stopped reading after %d series", len(a.g.series))
}

// groupedQuerier answers one grouped signal: its series of the shared answer.
type groupedQuerier struct {
	src GroupQuerier
	sel *Selection
}

var (
	_ Querier       = (*groupedQuerier)(nil)
	_ MaxAgeQuerier = (*groupedQuerier)(nil)
)

func (q *groupedQuerier) Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	s, _, err := q.query(ctx, expr, ts)
	return s, err
}

// query also returns the answer's evaluation time.
func (q *groupedQuerier) query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, time.Time, error) {
	g, err := q.src.QueryGroup(ctx, expr, ts)
	if err != nil {
		return scaling.Sample{}, time.Time{}, err
	}
	s, err := g.Select(q.sel)
	return s, g.at, err
}

// QueryMaxAge compares the time the answer gives for the series with ts. A
// grouped query computes its series (sum by, rate), so that time is the
// evaluation time: the check bounds how far the grid lags the tick, and
// the freshness of the data itself is bounded by the ranges in the query
// and by Prometheus' lookback delta.
func (q *groupedQuerier) QueryMaxAge(ctx context.Context, expr string, ts time.Time, maxAge time.Duration) (scaling.Sample, error) {
	s, at, err := q.query(ctx, expr, ts)
	if err != nil {
		return s, err
	}
	return checkAge(q, expr, s, ts, maxAge, ts.Sub(at))
}

// QueryRange fails: a grouped signal has no history of its own (a policy
// that reads one needs a query of its own workload).
func (q *groupedQuerier) QueryRange(_ context.Context, expr string, _, _ time.Time, _ time.Duration) ([]scaling.Sample, error) {
	return nil, scaling.Fail(scaling.FailureUnsupported, "%s: a grouped signal has no history: give a policy that reads history a query of its own", quote(expr))
}

// selectionNames is sorted label names, for messages and index keys.
func selectionNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
