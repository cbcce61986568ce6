package sources

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/scaled-dev/scaled/internal/fakeprom"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

func TestRangePages(t *testing.T) {
	t0 := time.Unix(1_000_000, 0).UTC()
	at := func(steps int) time.Time { return t0.Add(time.Duration(steps) * time.Minute) }
	for _, tc := range []struct {
		name      string
		end       time.Time
		maxPoints int
		want      []promv1.Range
	}{
		{"one point", t0, 3, []promv1.Range{{Start: t0, End: t0, Step: time.Minute}}},
		{"fits in one page", at(2), 3, []promv1.Range{{Start: t0, End: at(2), Step: time.Minute}}},
		{"one point over", at(3), 3, []promv1.Range{
			{Start: t0, End: at(2), Step: time.Minute},
			{Start: at(3), End: at(3), Step: time.Minute}}},
		{"end off the grid", at(7).Add(30 * time.Second), 3, []promv1.Range{
			{Start: t0, End: at(2), Step: time.Minute},
			{Start: at(3), End: at(5), Step: time.Minute},
			{Start: at(6), End: at(7), Step: time.Minute}}},
		{"prometheus limit: 20160 minutes", at(20159), MaxRangePoints, []promv1.Range{
			{Start: t0, End: at(10999), Step: time.Minute},
			{Start: at(11000), End: at(20159), Step: time.Minute}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rangePages(t0, tc.end, time.Minute, tc.maxPoints)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			for _, p := range got {
				if n := p.End.Sub(p.Start)/p.Step + 1; n > time.Duration(tc.maxPoints) {
					t.Errorf("page %v has %d points, limit %d", p, n, tc.maxPoints)
				}
			}
		})
	}
	if _, err := rangePages(t0, t0.Add(-time.Second), time.Minute, 10); scaling.KindOf(err) != scaling.FailureQuery {
		t.Errorf("end before start: got %v, want query_error", err)
	}
	if _, err := rangePages(t0, t0, 0, 10); scaling.KindOf(err) != scaling.FailureQuery {
		t.Errorf("zero step: got %v, want query_error", err)
	}
}

// cannedPrometheus answers every instant query with body and status.
func cannedPrometheus(t *testing.T, status int, body string) *Prometheus {
	t.Helper()
	return newTestPrometheus(t, fakeprom.Answer(status, body))
}

func TestPrometheusQueryClassifiesResponses(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0).UTC()
	vec := func(result string) string {
		return `{"status":"success","data":{"resultType":"vector","result":[` + result + `]}}`
	}
	one := `{"metric":{"job":"a"},"value":[1700000000,"12.5"]}`
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		want     float64
		kind     scaling.FailureKind
		errParts []string
	}{
		{name: "one sample", status: 200, body: vec(one), want: 12.5},
		{name: "scalar", status: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}`, want: 3},
		{name: "warnings with a value keep the value", status: 200,
			body: `{"status":"success","warnings":["partial response"],"data":{"resultType":"vector","result":[` + one + `]}}`, want: 12.5},
		{name: "warnings without a value", status: 200,
			body: `{"status":"success","warnings":["store unavailable"],"data":{"resultType":"vector","result":[]}}`,
			kind: scaling.FailureWarnings, errParts: []string{"store unavailable"}},
		{name: "empty", status: 200, body: vec(""), kind: scaling.FailureEmpty},
		{name: "three series", status: 200,
			body: vec(one + `,{"metric":{"job":"b"},"value":[1700000000,"1"]},{"metric":{"job":"c"},"value":[1700000000,"1"]}`),
			kind: scaling.FailureMultiple, errParts: []string{"3 series", `{job="a"}, {job="b"}, ...`}},
		{name: "NaN", status: 200, body: vec(`{"metric":{},"value":[1700000000,"NaN"]}`), kind: scaling.FailureNotFinite},
		{name: "+Inf", status: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"+Inf"]}}`, kind: scaling.FailureNotFinite},
		{name: "matrix", status: 200, body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`, kind: scaling.FailureUnsupported},
		{name: "string", status: 200, body: `{"status":"success","data":{"resultType":"string","result":[1700000000,"x"]}}`, kind: scaling.FailureUnsupported},
		{name: "PromQL error", status: 400, body: `{"status":"error","errorType":"bad_data","error":"parse error: unexpected end of input"}`,
			kind: scaling.FailureQuery, errParts: []string{"bad_data", "unexpected end of input"}},
		{name: "server timeout", status: 503, body: `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`,
			kind: scaling.FailureTimeout, errParts: []string{"timeout: query timed out in expression evaluation"}},
		{name: "server execution error", status: 500, body: `{"status":"error","errorType":"internal","error":"storage failed"}`,
			kind: scaling.FailureQuery, errParts: []string{"internal: storage failed"}},
		// VictoriaMetrics gives the HTTP status as the error type; its
		// messages, from v1.151.0's answers (the timeout from its source:
		// app/vmselect/netstorage).
		{name: "VictoriaMetrics bad query", status: 400,
			body: `{"status":"error","errorType":"400","error":"error when executing query=\"sum(q\" for (time=1796605801003, step=300000): argList: unexpected token \"\"; want \",\", \")\"; unparsed data: \"\""}`,
			kind: scaling.FailureQuery, errParts: []string{"bad_data: HTTP 400: error when executing", "unexpected token"}},
		{name: "VictoriaMetrics limit", status: 422,
			body: `{"status":"error","errorType":"422","error":"error when executing query=\"q\" on the time range (start=1, end=2, step=60000): too many points for the given start=1, end=2 and step=60000: 50001; the maximum number of points is 30000"}`,
			kind: scaling.FailureQuery, errParts: []string{"execution: HTTP 422:", "the maximum number of points is 30000"}},
		{name: "VictoriaMetrics timeout", status: 422,
			body: `{"status":"error","errorType":"422","error":"error when executing query=\"q\" for (time=1, step=300000): timeout exceeded during the query: 10.000 seconds"}`,
			kind: scaling.FailureTimeout, errParts: []string{"timeout: HTTP 422:", "timeout exceeded during the query"}},
		{name: "proxy error", status: 502, body: `bad gateway`, kind: scaling.FailureQuery, errParts: []string{"server_error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := cannedPrometheus(t, tc.status, tc.body)
			got, err := p.Query(context.Background(), "q", ts)
			if k := scaling.KindOf(err); k != tc.kind {
				t.Fatalf("kind %q (%v), want %q", k, err, tc.kind)
			}
			for _, part := range tc.errParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			if err == nil && (got.Value != tc.want || !got.Time.Equal(ts)) {
				t.Errorf("got %v, want value %v at %s", got, tc.want, ts)
			}
		})
	}
}

func TestPrometheusWarningHandler(t *testing.T) {
	var got []string
	p := newTestPrometheus(t, fakeprom.Answer(http.StatusOK, `{"status":"success","warnings":["partial response"],"data":{"resultType":"scalar","result":[1,"2"]}}`),
		WithWarningHandler(func(expr string, w []string) {
			got = append(got, expr+": "+strings.Join(w, ","))
		}))
	if _, err := p.Query(context.Background(), "up", time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"up: partial response"}, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestPrometheusQueryBoundedByContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration
	}{
		{"caller deadline", 0, 50 * time.Millisecond},
		{"query_timeout", 50 * time.Millisecond, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPrometheus(PrometheusConfig{URL: srv.URL, QueryTimeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctx)
			defer cancel()
			start := time.Now()
			_, err = p.Query(ctx, "up", time.Unix(1, 0))
			if k := scaling.KindOf(err); k != scaling.FailureTimeout {
				t.Fatalf("kind %q (%v), want timeout", k, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("returned after %s", d)
			}
		})
	}
}

// TestPrometheusQueryRangePages drives a fake range API that refuses more
// than MaxRangePoints points, as Prometheus does, and checks the pages join
// into the whole range with no point twice.
func TestPrometheusQueryRangePages(t *testing.T) {
	var mu sync.Mutex
	var requests int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		start, _ := strconv.ParseInt(r.Form.Get("start"), 10, 64)
		end, _ := strconv.ParseInt(r.Form.Get("end"), 10, 64)
		step, _ := strconv.ParseInt(r.Form.Get("step"), 10, 64)
		mu.Lock()
		requests++
		mu.Unlock()
		if (end-start)/step > 11000 {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`)
			return
		}
		var pts []string
		for ts := start; ts <= end; ts += step {
			pts = append(pts, fmt.Sprintf(`[%d,"%d"]`, ts, ts/60))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[%s]}]}}`, strings.Join(pts, ","))
	}))
	defer srv.Close()
	p, err := NewPrometheus(PrometheusConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(60*1_000_000, 0).UTC()
	const points = 25_001
	got, err := p.QueryRange(context.Background(), "q", start, start.Add((points-1)*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != points || requests != 3 {
		t.Fatalf("got %d points in %d requests, want %d in 3", len(got), requests, points)
	}
	for i, s := range got {
		if want := start.Add(time.Duration(i) * time.Minute); !s.Time.Equal(want) || s.Value != float64(want.Unix()/60) {
			t.Fatalf("point %d: got %v, want value %d at %s", i, s, want.Unix()/60, want)
		}
	}
}

func TestNewPrometheusRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  PrometheusConfig
		want string
	}{
		{"no URL", PrometheusConfig{}, `prometheus.url: "": want an absolute http:// or https:// URL`},
		{"no scheme", PrometheusConfig{URL: "prom:9090"}, `prometheus.url: "prom:9090"`},
		{"negative timeout", PrometheusConfig{URL: "http://prom:9090", QueryTimeout: -time.Second}, "prometheus.query_timeout: -1s: must be >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPrometheus(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Parameters in the configured URL go with every query, POST or GET:
// Thanos reads partial_response=false from there.
func TestPrometheusSendsTheURLsParameters(t *testing.T) {
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" partial_response="+r.FormValue("partial_response")+" query="+r.FormValue("query"))
		mu.Unlock()
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/get-only") {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1800000000,"1"]}}`)
	}))
	t.Cleanup(srv.Close)
	for _, base := range []string{"/thanos", "/get-only"} {
		p, err := NewPrometheus(PrometheusConfig{URL: srv.URL + base + "?partial_response=false"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Query(context.Background(), "up", time.Unix(1_800_000_000, 0)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"POST /thanos/api/v1/query partial_response=false query=up",
		"POST /get-only/api/v1/query partial_response=false query=up",
		"GET /get-only/api/v1/query partial_response=false query=up",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
