//go:build integration

package sources

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// historyMinutes is 14 days of one-minute samples: more than two pages of
// MaxRangePoints at a one-minute step.
const historyMinutes = 14 * 24 * 60

// TestPrometheusAgainstRealServer runs the source against the real
// Prometheus (2.42) with a driven exporter and 14 days of backfilled history.
// The subtests share one server and run in order; the last one stops it.
func TestPrometheusAgainstRealServer(t *testing.T) {
	testAgainstRealServer(t, promtest.Prometheus)
}

// TestVictoriaMetricsAgainstRealServer runs the same against VictoriaMetrics
// single-node (v1.151.0): same queries, its own answers where they differ.
// It refuses answers of more than 2,000 series here, to show that error.
func TestVictoriaMetricsAgainstRealServer(t *testing.T) {
	testAgainstRealServer(t, promtest.VictoriaMetrics, promtest.WithFlags("-search.maxResponseSeries=2000"))
}

func testAgainstRealServer(t *testing.T, b promtest.Backend, opts ...promtest.Option) {
	vm := b == promtest.VictoriaMetrics
	histEnd := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	histStart := histEnd.Add(-(historyMinutes - 1) * time.Minute)
	history := make([]scaling.Sample, historyMinutes)
	for i := range history {
		history[i] = scaling.Sample{Time: histStart.Add(time.Duration(i) * time.Minute), Value: float64(i)}
	}
	began := time.Now()
	s := promtest.StartBackend(t, b, append(opts, promtest.WithHistory("recorded_load", map[string]string{"app": "shop"}, history))...)
	t.Logf("backfilled %d samples and started in %s", historyMinutes, time.Since(began))

	p, err := NewPrometheus(PrometheusConfig{URL: s.URL(), QueryTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Gauge("queue_depth").WithLabelValues().Set(17)
	pods := s.Gauge("requests_in_flight", "pod")
	pods.WithLabelValues("a").Set(1)
	pods.WithLabelValues("b").Set(2)
	s.WaitFor(t, `count(queue_depth) + count(requests_in_flight)`, 3, 20*time.Second)

	t.Run("driven gauge", func(t *testing.T) {
		now := time.Now()
		got, err := p.Query(ctx, `queue_depth{job="test"}`, now)
		if err != nil || got.Value != 17 || !got.Time.Equal(now) {
			t.Fatalf("got %v, %v; want 17 at the evaluation time %s", got, err, now)
		}
		s.Gauge("queue_depth").WithLabelValues().Set(23)
		s.WaitFor(t, "queue_depth", 23, 10*time.Second)
		if got, err := p.Query(ctx, "queue_depth", time.Now()); err != nil || got.Value != 23 {
			t.Fatalf("after the change: got %v, %v; want 23", got, err)
		}
		if !vm {
			return
		}
		// VictoriaMetrics' default -search.latencyOffset (30s; 1s in the
		// harness) evaluates a query at the current time 30s earlier: the
		// change is not seen yet (the old value, or nothing that early).
		lagged, err := NewPrometheus(PrometheusConfig{URL: s.URL() + "?latency_offset=30s", QueryTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := lagged.Query(ctx, "queue_depth", time.Now()); err == nil && got.Value == 23 {
			t.Fatalf("with the default latency offset: got 23 at once, want the value from 30s before")
		}
	})

	type outcome struct {
		want     float64
		kind     scaling.FailureKind
		errParts []string
	}
	kinds := []struct {
		name     string
		expr     string
		want     float64
		kind     scaling.FailureKind
		errParts []string
		onVM     *outcome // VictoriaMetrics' answer, where it differs
	}{
		{name: "scalar", expr: "scalar(queue_depth) * 2", want: 46},
		{name: "aggregation", expr: "sum(requests_in_flight)", want: 3},
		{name: "several series", expr: "requests_in_flight", kind: scaling.FailureMultiple,
			errParts: []string{"2 series, want 1", `pod="a"`, `pod="b"`}},
		{name: "syntax error", expr: "sum(queue_depth", kind: scaling.FailureQuery,
			errParts: []string{"bad_data", "parse error"},
			onVM:     &outcome{kind: scaling.FailureQuery, errParts: []string{"bad_data: HTTP 400", "unexpected token"}}},
		{name: "unknown function", expr: "nosuch(queue_depth)", kind: scaling.FailureQuery,
			errParts: []string{"bad_data", `unknown function with name "nosuch"`},
			onVM:     &outcome{kind: scaling.FailureQuery, errParts: []string{"bad_data: HTTP 400", `unsupported function "nosuch"`}}},
		// A MetricsQL extension: VictoriaMetrics answers what Prometheus refuses.
		{name: "MetricsQL median", expr: "median(requests_in_flight)", kind: scaling.FailureQuery,
			errParts: []string{"bad_data"}, onVM: &outcome{want: 1.5}},
		{name: "empty", expr: `queue_depth{job="nosuch"}`, kind: scaling.FailureEmpty},
		// VictoriaMetrics drops NaN from its answers: no sample either way.
		{name: "NaN vector", expr: "queue_depth * 0 / 0", kind: scaling.FailureNotFinite,
			onVM: &outcome{kind: scaling.FailureEmpty}},
		{name: "Inf scalar", expr: "1 / 0", kind: scaling.FailureNotFinite},
		{name: "matrix", expr: "queue_depth[1m]", kind: scaling.FailureUnsupported},
		// VictoriaMetrics answers a string literal with an empty vector.
		{name: "string", expr: `"text"`, kind: scaling.FailureUnsupported, onVM: &outcome{kind: scaling.FailureEmpty}},
	}
	for _, tc := range kinds {
		t.Run(tc.name, func(t *testing.T) {
			if vm && tc.onVM != nil {
				tc.want, tc.kind, tc.errParts = tc.onVM.want, tc.onVM.kind, tc.onVM.errParts
			}
			got, err := p.Query(ctx, tc.expr, time.Now())
			if k := scaling.KindOf(err); k != tc.kind {
				t.Fatalf("kind %q (%v), want %q", k, err, tc.kind)
			}
			for _, part := range tc.errParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			if err == nil && got.Value != tc.want {
				t.Errorf("got %v, want %v", got.Value, tc.want)
			}
		})
	}

	t.Run("max age", func(t *testing.T) {
		const sel = `recorded_load{app="shop"}`
		ts := histEnd.Add(2 * time.Minute) // the newest sample is 2m old
		last := float64(historyMinutes - 1)
		got, err := p.Query(ctx, sel, ts)
		if err != nil || got.Value != last || !got.Time.Equal(ts) {
			t.Fatalf("Query: got %v, %v; want %v stamped with the evaluation time", got, err, last)
		}
		got, err = p.QueryMaxAge(ctx, sel, ts, 5*time.Minute)
		if err != nil || got.Value != last || !got.Time.Equal(histEnd) {
			t.Fatalf("max age 5m: got %v, %v; want %v at the sample time %s", got, err, last, histEnd)
		}
		got, err = p.QueryMaxAge(ctx, sel, ts, time.Minute)
		if scaling.KindOf(err) != scaling.FailureStale || !got.Time.Equal(histEnd) || !strings.Contains(err.Error(), "2m old") {
			t.Fatalf("max age 1m: got %v, %v; want stale, 2m old", got, err)
		}
		// A computed expression is stamped with the evaluation time: its age
		// cannot be seen (documented on QueryMaxAge), on either back end
		// (VictoriaMetrics' own timestamp() of one is its 5-minute subquery
		// step, which QueryMaxAge does not ask for).
		got, err = p.QueryMaxAge(ctx, sel+" * 2", ts, time.Minute)
		if err != nil || got.Value != 2*last || !got.Time.Equal(ts) {
			t.Fatalf("computed: got %v, %v; want %v stamped %s", got, err, 2*last, ts)
		}
		if got, err := p.QueryMaxAge(ctx, "vector(1) + 1", ts, time.Minute); err != nil || got.Value != 2 {
			t.Fatalf("computed vector: got %v, %v; want 2", got, err)
		}
		if got, err := p.QueryMaxAge(ctx, "scalar(vector(5))", ts, time.Minute); err != nil || got.Value != 5 || !got.Time.Equal(ts) {
			t.Fatalf("scalar: got %v, %v; want 5 at %s", got, err, ts)
		}
		// Beyond Prometheus' 5m lookback delta the series is gone (from
		// VictoriaMetrics too, whose lookback follows the samples' interval).
		if _, err := p.QueryMaxAge(ctx, sel, histEnd.Add(6*time.Minute), time.Hour); scaling.KindOf(err) != scaling.FailureEmpty {
			t.Fatalf("after the lookback delta: got %v, want empty", err)
		}
	})

	t.Run("a series that stops is gone at once", func(t *testing.T) {
		// Both mark a series stale at the first scrape that lacks it: the
		// signal fails as empty within seconds, not after a lookback of
		// minutes that would keep serving the last value.
		s.Gauge("leaving").WithLabelValues().Set(5)
		s.WaitFor(t, "leaving", 5, 20*time.Second)
		s.Unregister("leaving")
		began := time.Now()
		for {
			_, err := p.Query(ctx, "leaving", time.Now())
			if scaling.KindOf(err) == scaling.FailureEmpty {
				break
			}
			if time.Since(began) > 15*time.Second {
				t.Fatalf("15s after the series stopped: %v, want empty", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("empty %s after the series stopped", time.Since(began).Round(100*time.Millisecond))
	})

	t.Run("range over 14 days is paged and complete", func(t *testing.T) {
		began := time.Now()
		got, err := p.QueryRange(ctx, `recorded_load{app="shop"}`, histStart, histEnd, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d points in %s", len(got), time.Since(began))
		if len(got) != historyMinutes {
			t.Fatalf("got %d points, want %d", len(got), historyMinutes)
		}
		for i, s := range got {
			if !s.Time.Equal(history[i].Time) || s.Value != history[i].Value {
				t.Fatalf("point %d: got %v, want %v", i, s, history[i])
			}
		}
		// One request for the whole range is what Prometheus refuses;
		// VictoriaMetrics answers up to 30,000 points a series
		// (-search.maxPointsPerTimeseries), so the same pages do for both.
		whole, _, _, err := s.API().QueryRange(ctx, `recorded_load`, promv1.Range{Start: histStart, End: histEnd, Step: time.Minute})
		if vm {
			if m, ok := whole.(model.Matrix); err != nil || !ok || len(m) != 1 || len(m[0].Values) != historyMinutes {
				t.Fatalf("unpaged request: got %v, want the %d points", err, historyMinutes)
			}
			return
		}
		var perr *promv1.Error
		if !errors.As(err, &perr) || !strings.Contains(perr.Msg, "11,000 points") {
			t.Fatalf("unpaged request: got %v, want Prometheus' 11,000 points limit", err)
		}
	})

	t.Run("range failures", func(t *testing.T) {
		now := time.Now()
		if _, err := p.QueryRange(ctx, "requests_in_flight", now.Add(-time.Minute), now, time.Second); scaling.KindOf(err) != scaling.FailureMultiple {
			t.Errorf("several series: got %v, want multiple_series", err)
		}
		if _, err := p.QueryRange(ctx, `recorded_load{app="nosuch"}`, histStart, histEnd, time.Minute); scaling.KindOf(err) != scaling.FailureEmpty {
			t.Errorf("no series: got %v, want empty", err)
		}
		if _, err := p.QueryRange(ctx, "sum(", now.Add(-time.Minute), now, time.Second); scaling.KindOf(err) != scaling.FailureQuery {
			t.Errorf("syntax error: got %v, want query_error", err)
		}
	})

	t.Run("frozen: bounded by the context", func(t *testing.T) {
		s.Freeze(t)
		defer s.Thaw(t)
		qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		began := time.Now()
		_, err := p.Query(qctx, "queue_depth", time.Now())
		took := time.Since(began)
		if k := scaling.KindOf(err); k != scaling.FailureTimeout {
			t.Fatalf("frozen: kind %q (%v), want timeout", k, err)
		}
		if took > 3*time.Second { // generous: only a hang (no deadline) must fail, not a loaded machine
			t.Fatalf("frozen: answered after %s, want about the 500ms context", took)
		}
		t.Logf("frozen: %v after %s", err, took)
	})

	t.Run("an answer over the size limit", func(t *testing.T) {
		// 3,000 series with long labels: about 400 KB, ten times the limit
		// this source is given.
		many := s.Gauge("many_series", "pod")
		for i := range 3000 {
			many.WithLabelValues(fmt.Sprintf("web-%04d-%s", i, strings.Repeat("x", 60))).Set(1)
		}
		s.WaitFor(t, "count(many_series)", 3000, 20*time.Second)
		if vm {
			// Refused by the server before the answer's size counts.
			_, err := p.Query(ctx, "many_series", time.Now())
			if k := scaling.KindOf(err); k != scaling.FailureQuery || !strings.Contains(err.Error(), "execution: HTTP 422") || !strings.Contains(err.Error(), "-search.maxResponseSeries") {
				t.Fatalf("kind %q (%v), want query_error naming -search.maxResponseSeries", k, err)
			}
			if got, err := p.Query(ctx, "count(many_series)", time.Now()); err != nil || got.Value != 3000 {
				t.Fatalf("the aggregated query: %v, %v", got, err)
			}
			return
		}
		small, err := NewPrometheus(PrometheusConfig{URL: s.URL(), QueryTimeout: 10 * time.Second}, WithMaxResponseBytes(40<<10))
		if err != nil {
			t.Fatal(err)
		}
		_, err = small.Query(ctx, "many_series", time.Now())
		if k := scaling.KindOf(err); k != scaling.FailureTooLarge || !strings.Contains(err.Error(), "40 KiB limit") || !strings.Contains(err.Error(), "many_series{") {
			t.Fatalf("kind %q (%v), want too_large naming the limit and a series", k, err)
		}
		if _, err := small.Query(ctx, "count(many_series)", time.Now()); err != nil {
			t.Fatalf("the aggregated query: %v", err)
		}
		if _, err := p.Query(ctx, "many_series", time.Now()); scaling.KindOf(err) != scaling.FailureMultiple || !strings.Contains(err.Error(), "3000 series") {
			t.Fatalf("under the default limit: %v, want multiple_series counting 3000", err)
		}
	})

	t.Run("stopped then restarted", func(t *testing.T) {
		s.Stop()
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		began := time.Now()
		_, err := p.Query(qctx, "queue_depth", time.Now())
		took := time.Since(began)
		if k := scaling.KindOf(err); k != scaling.FailureQuery {
			t.Fatalf("stopped: kind %q (%v), want query_error", k, err)
		}
		if took > 2500*time.Millisecond { // below the 3s context: refused, not timed out
			t.Fatalf("stopped: answered after %s, want at once (connection refused)", took)
		}
		t.Logf("stopped: %v after %s", err, took)

		s.Gauge("queue_depth").WithLabelValues().Set(29)
		s.Restart(t)
		s.WaitFor(t, "queue_depth", 29, 20*time.Second) // scraped after the restart
		if got, err := p.Query(ctx, "queue_depth", time.Now()); err != nil || got.Value != 29 {
			t.Fatalf("after restart: got %v, %v; want 29", got, err)
		}
	})
}
