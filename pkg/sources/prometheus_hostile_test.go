package sources

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/internal/fakeprom"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// manySeries writes an instant-query answer of n series, each with a label
// of labelBytes bytes, and reports how many bytes it managed to write.
func manySeries(n, labelBytes int, written *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		bw := bufio.NewWriterSize(w, 32<<10)
		count := func(s string) bool {
			k, err := bw.WriteString(s)
			written.Add(int64(k))
			return err == nil
		}
		pad := strings.Repeat("x", labelBytes)
		if !count(`{"status":"success","data":{"resultType":"vector","result":[`) {
			return
		}
		for i := range n {
			sep := ","
			if i == 0 {
				sep = ""
			}
			if !count(fmt.Sprintf(`%s{"metric":{"__name__":"http_requests_total","pod":"web-%d","pad":"%s"},"value":[1700000000,"1"]}`, sep, i, pad)) {
				return
			}
		}
		count(`]}}`)
		_ = bw.Flush()
	}
}

func newTestPrometheus(t *testing.T, h http.Handler, opts ...PrometheusOption) *Prometheus {
	t.Helper()
	p, err := NewPrometheus(PrometheusConfig{URL: fakeprom.Start(t, h).URL}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A query that lacks its sum() answers with a huge vector: reading stops at
// the size limit, the signal fails as too_large, the text names how far it
// got and two series by a bounded excerpt, and the server is not read to
// its end.
func TestPrometheusStopsReadingAtTheSizeLimit(t *testing.T) {
	var written atomic.Int64
	const series, label = 400_000, 100 // about 60 MB
	p := newTestPrometheus(t, manySeries(series, label, &written), WithMaxResponseBytes(1<<20))
	_, err := p.Query(context.Background(), "http_requests_total", time.Unix(1_700_000_000, 0))
	if k := scaling.KindOf(err); k != scaling.FailureTooLarge {
		t.Fatalf("kind %q (%v), want too_large", k, err)
	}
	msg := err.Error()
	for _, part := range []string{"larger than the 1 MiB limit", "stopped reading after", `pod="web-0"`, `pod="web-1"`, ", ...", "want one series"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q lacks %q", msg, part)
		}
	}
	if len(msg) > 1024 {
		t.Errorf("error text is %d bytes", len(msg))
	}
	// The server's writes fail once the client is gone; allow for socket buffers.
	time.Sleep(100 * time.Millisecond)
	if total := int64(series * (label + 90)); written.Load() > total/2 {
		t.Errorf("the server wrote %d of %d bytes: the client read on past its limit", written.Load(), total)
	}
}

func TestPrometheusTooLargeByContentLength(t *testing.T) {
	var served atomic.Int64
	p := newTestPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"` + strings.Repeat("1", 2<<20) + `"]}}`
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		n, _ := io.WriteString(w, body)
		served.Add(int64(n))
	}), WithMaxResponseBytes(1<<20))
	_, err := p.Query(context.Background(), "q", time.Unix(1_700_000_000, 0))
	if k := scaling.KindOf(err); k != scaling.FailureTooLarge || !strings.Contains(err.Error(), "announced") {
		t.Fatalf("kind %q (%v), want too_large from the announced length", k, err)
	}
}

// Two series with 1.5 MB labels: the answer fits the limit, the signal
// fails as multiple_series, and the failure names each by a short excerpt.
func TestPrometheusHugeLabelsGiveABoundedError(t *testing.T) {
	var written atomic.Int64
	p := newTestPrometheus(t, manySeries(2, 1_500_000, &written))
	_, err := p.Query(context.Background(), "q", time.Unix(1_700_000_000, 0))
	if k := scaling.KindOf(err); k != scaling.FailureMultiple {
		t.Fatalf("kind %q (%v), want multiple_series", k, err)
	}
	msg := err.Error()
	if len(msg) > 800 || !strings.Contains(msg, "2 series, want 1") || !strings.Contains(msg, "…(1500000 bytes)") {
		t.Errorf("error (%d bytes) is not a bounded excerpt naming the label's length: %.300q", len(msg), msg)
	}
}

func TestPrometheusAnswersThatAreNotUsable(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0).UTC()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   scaling.FailureKind
		parts  []string
	}{
		{name: "result before resultType", status: 200,
			body: `{"data":{"result":[{"metric":{},"value":[1700000000,"4"]}],"resultType":"vector"},"status":"success"}`},
		{name: "a native histogram", status: 200,
			body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1700000000,{"count":"1","sum":"1"}]}]}}`,
			kind: scaling.FailureUnsupported, parts: []string{"native histogram"}},
		{name: "truncated", status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"val`,
			kind: scaling.FailureQuery, parts: []string{"malformed answer", "unexpected EOF"}},
		{name: "not an API answer", status: 200, body: `<html>login</html>`,
			kind: scaling.FailureQuery, parts: []string{"malformed answer"}},
		{name: "JSON that is not an API answer", status: 200, body: `{"hello":"world"}`,
			kind: scaling.FailureQuery, parts: []string{"not a Prometheus API answer"}},
		{name: "a long server error is clipped", status: 422,
			body: `{"status":"error","errorType":"execution","error":"` + strings.Repeat("e", 32<<10) + `"}`,
			kind: scaling.FailureQuery, parts: []string{"execution: eee", "…(32768 bytes)"}},
		{name: "a huge error answer is quoted from its start", status: 422,
			body: `{"status":"error","errorType":"execution","error":"` + strings.Repeat("e", 1<<20) + `"}`,
			kind: scaling.FailureQuery, parts: []string{`client_error: HTTP 422: {"status":"error"`}},
		{name: "a proxy page is quoted briefly", status: 502, body: strings.Repeat("<p>bad gateway</p>", 10_000),
			kind: scaling.FailureQuery, parts: []string{"server_error: HTTP 502", "<p>bad gateway</p>"}},
		{name: "a 429 is throttled", status: 429, body: `slow down`,
			kind: scaling.FailureThrottled, parts: []string{"HTTP 429"}},
		{name: "many warnings, kept few", status: 200,
			body: `{"status":"success","warnings":[` + strings.TrimSuffix(strings.Repeat(`"w",`, 1000), ",") + `],"data":{"resultType":"vector","result":[]}}`,
			kind: scaling.FailureWarnings, parts: []string{"w; w; w; w; w; and 995 more warnings"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := cannedPrometheus(t, tc.status, tc.body)
			s, err := p.Query(context.Background(), "q", ts)
			if k := scaling.KindOf(err); k != tc.kind {
				t.Fatalf("kind %q (%v), want %q", k, err, tc.kind)
			}
			if err == nil {
				if s.Value != 4 || !s.Time.Equal(ts) {
					t.Errorf("got %v, want 4 at %s", s, ts)
				}
				return
			}
			for _, part := range tc.parts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %.300q lacks %q", err, part)
				}
			}
			if len(err.Error()) > 1200 {
				t.Errorf("error text is %d bytes", len(err.Error()))
			}
		})
	}
}

// A matrix for an instant query is refused as soon as its type is read.
func TestPrometheusRefusesAnUnusableTypeBeforeReadingIt(t *testing.T) {
	var written atomic.Int64
	p := newTestPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[`)
		written.Add(int64(n))
		for i := 0; i < 200_000; i++ {
			n, err := fmt.Fprintf(w, `{"metric":{"i":"%d"},"values":[[1,"1"],[2,"2"]]},`, i)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	_, err := p.Query(context.Background(), "x[5m]", time.Unix(1_700_000_000, 0))
	if k := scaling.KindOf(err); k != scaling.FailureUnsupported {
		t.Fatalf("kind %q (%v), want unsupported_type", k, err)
	}
}

// The sample's own time counts: an answer that passes off an hour-old
// sample as current is stale, with no max_age configured.
func TestPrometheusSampleTimeCountsByDefault(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0).UTC()
	old := ts.Add(-time.Hour)
	p := cannedPrometheus(t, 200, fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"3"]}]}}`, old.Unix()))
	s, err := p.Query(context.Background(), "q", ts)
	if err != nil || !s.Time.Equal(old) {
		t.Fatalf("Query = %v, %v; want the answer's own time %s", s, err, old)
	}
	_, err = QueryMaxAge(context.Background(), p, "q", ts, 0)
	if k := scaling.KindOf(err); k != scaling.FailureStale || !strings.Contains(err.Error(), "1h old") || !strings.Contains(err.Error(), "max age is 5m") {
		t.Fatalf("QueryMaxAge without a max age: kind %q (%v), want stale after the default 5m", k, err)
	}
	recent := ts.Add(-4 * time.Minute)
	p = cannedPrometheus(t, 200, fmt.Sprintf(`{"status":"success","data":{"resultType":"scalar","result":[%d,"3"]}}`, recent.Unix()))
	if s, err := QueryMaxAge(context.Background(), p, "q", ts, 0); err != nil || s.Value != 3 {
		t.Fatalf("a 4-minute-old sample: %v, %v; want it used", s, err)
	}
}

// A 429 or a 503 with Retry-After: the signal fails as throttled, and no
// query goes out until the time asked for has passed.
func TestPrometheusHonoursRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(now)
	var requests atomic.Int64
	var status atomic.Int64
	status.Store(http.StatusServiceUnavailable)
	p := newTestPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if code := int(status.Load()); code != http.StatusOK {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(code)
			fmt.Fprint(w, `{"status":"error","errorType":"unavailable","error":"too many queries in flight"}`)
			return
		}
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}`)
	}), WithClock(clk))
	ctx := context.Background()
	_, err := p.Query(ctx, "q", now)
	if k := scaling.KindOf(err); k != scaling.FailureThrottled || !strings.Contains(err.Error(), "Retry-After 30s") || !strings.Contains(err.Error(), "too many queries in flight") {
		t.Fatalf("kind %q (%v), want throttled naming Retry-After and the server's message", k, err)
	}
	status.Store(http.StatusOK)
	clk.Step(29 * time.Second)
	if _, err := p.Query(ctx, "q", now); scaling.KindOf(err) != scaling.FailureThrottled || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("within Retry-After: %v, want throttled without a request", err)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests within Retry-After, want 1", n)
	}
	clk.Step(time.Second)
	if s, err := p.Query(ctx, "q", now); err != nil || s.Value != 2 {
		t.Fatalf("after Retry-After: %v, %v; want the value", s, err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"garbage", 0, false},
		{"-3", 0, false},
		{"0", 0, true},
		{"12", 12 * time.Second, true},
		{"86400", maxRetryAfter, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	} {
		got, ok := retryAfter(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

// A range query of many series (a history query without its sum()) stops
// at the limit too.
func TestPrometheusRangeStopsAtTheSizeLimit(t *testing.T) {
	p := newTestPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := bufio.NewWriter(w)
		fmt.Fprint(bw, `{"status":"success","data":{"resultType":"matrix","result":[`)
		for i := 0; i < 100; i++ {
			if i > 0 {
				fmt.Fprint(bw, ",")
			}
			fmt.Fprintf(bw, `{"metric":{"pod":"p%d"},"values":[`, i)
			for j := 0; j < 11000; j++ {
				if j > 0 {
					fmt.Fprint(bw, ",")
				}
				fmt.Fprintf(bw, `[%d,"%d"]`, 1_700_000_000+60*j, j)
			}
			fmt.Fprint(bw, "]}")
		}
		fmt.Fprint(bw, "]}}")
		_ = bw.Flush()
	}))
	start := time.Unix(1_700_000_000, 0)
	_, err := p.QueryRange(context.Background(), "load", start, start.Add(10999*time.Minute), time.Minute)
	if k := scaling.KindOf(err); k != scaling.FailureTooLarge || !strings.Contains(err.Error(), `pod="p0"`) {
		t.Fatalf("kind %q (%v), want too_large naming the series", k, err)
	}
}

// BenchmarkQueryHugeAnswer reads a 25 MB answer (150,000 series, made
// once) with the default limit: B/op is what one such query costs the
// client.
func BenchmarkQueryHugeAnswer(b *testing.B) {
	var written atomic.Int64
	rec := httptest.NewRecorder()
	manySeries(150_000, 100, &written)(rec, httptest.NewRequest(http.MethodPost, "/api/v1/query", nil))
	body := rec.Body.Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	p, err := NewPrometheus(PrometheusConfig{URL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(body)), "answer_bytes")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Query(context.Background(), "q", time.Unix(1_700_000_000, 0)); scaling.KindOf(err) != scaling.FailureTooLarge {
			b.Fatal(err)
		}
	}
}

// A kept-alive connection the server closed between two queries is retried
// on a new one, not reported as a failed signal.
func TestPrometheusRetriesAConnectionClosedWhileIdle(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p, err := NewPrometheus(PrometheusConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1_700_000_000, 0)
	if _, err := p.Query(context.Background(), "q", ts); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections() // as a proxy or a server's idle timeout does
	for range 3 {
		if _, err := p.Query(context.Background(), "q", ts); err != nil {
			t.Fatalf("after the server closed the idle connection: %v", err)
		}
	}
	if conns.Load() < 2 {
		t.Errorf("%d connections, want a new one after the close", conns.Load())
	}
}
