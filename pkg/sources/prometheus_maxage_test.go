package sources

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// A max age sends timestamp() of a selector, whose answer is the newest
// sample's time, and of nothing else: Prometheus answers timestamp() of a
// computed expression with the evaluation time, which the first answer
// carries already, and VictoriaMetrics with its subquery's 5-minute step,
// older than the data or nothing at all. The server here answers
// timestamp() of anything as VictoriaMetrics does of a young series: with
// nothing. A computed query must pass on its first answer.
func TestMaxAgeAsksTimestampOfSelectorsOnly(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0).UTC()
	sampled := ts.Add(-3 * time.Minute)
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.FormValue("query")
		mu.Lock()
		asked = append(asked, q)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(q, "timestamp(") {
			if q == `timestamp(up{job="a"})` || q == `timestamp((up{job="a"}))` {
				fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"%d"]}]}}`, ts.Unix(), sampled.Unix())
				return
			}
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"7"]}]}}`, ts.Unix())
	}))
	defer srv.Close()
	p, err := NewPrometheus(PrometheusConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		expr    string
		maxAge  time.Duration
		kind    scaling.FailureKind
		at      time.Time
		queries []string
	}{
		{`up{job="a"}`, 5 * time.Minute, "", sampled, []string{`up{job="a"}`, `timestamp(up{job="a"})`}},
		{`(up{job="a"})`, 2 * time.Minute, scaling.FailureStale, sampled, []string{`(up{job="a"})`, `timestamp((up{job="a"}))`}},
		{`sum(rate(x[1m]))`, time.Minute, "", ts, []string{`sum(rate(x[1m]))`}},
		{`max(y) * 2`, time.Minute, "", ts, []string{`max(y) * 2`}},
		{`scalar(vector(5))`, time.Minute, "", ts, []string{`scalar(vector(5))`}},
	} {
		mu.Lock()
		asked = nil
		mu.Unlock()
		s, err := p.QueryMaxAge(context.Background(), tc.expr, ts, tc.maxAge)
		if k := scaling.KindOf(err); k != tc.kind {
			t.Errorf("%s: kind %q (%v), want %q", tc.expr, k, err, tc.kind)
		}
		if s.Value != 7 || !s.Time.Equal(tc.at) {
			t.Errorf("%s: got %v, want 7 at %s", tc.expr, s, tc.at)
		}
		mu.Lock()
		if fmt.Sprint(asked) != fmt.Sprint(tc.queries) {
			t.Errorf("%s: asked %q, want %q", tc.expr, asked, tc.queries)
		}
		mu.Unlock()
	}
}
