package sources

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// A Prometheus that redirects the query to another host does not get its
// value used: redirects are off unless follow_redirects is set, and the
// redirect is a failed signal. A sample that answer stamps an hour ahead
// fails as future, whatever the max age.
func TestPrometheusRedirectsAndFutureSamples(t *testing.T) {
	var other atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		other.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.01"]}]}}`)
	}))
	defer elsewhere.Close()
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusFound)
	})
	ts := time.Unix(1_700_000_000, 0)

	p := newTestPrometheus(t, redirect)
	_, err := p.QueryMaxAge(context.Background(), "up", ts, 0)
	if k := scaling.KindOf(err); k != scaling.FailureQuery || other.Load() != 0 {
		t.Errorf("redirected: kind %q (%v), %d queries reached the other host; want query_error and none", k, err, other.Load())
	}

	// follow_redirects: true follows it, as it says.
	srv := httptest.NewServer(redirect)
	defer srv.Close()
	cfg := PrometheusConfig{URL: srv.URL}
	cfg.HTTP.FollowRedirects = true
	pf, err := NewPrometheus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := pf.QueryMaxAge(context.Background(), "up", ts, 0); err != nil || s.Value != 0.01 || other.Load() != 1 {
		t.Errorf("with follow_redirects: %v %v, %d queries elsewhere; want 0.01 from the other host", s, err, other.Load())
	}

	future := newTestPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700003600,"0.01"]}]}}`)
	}))
	for _, maxAge := range []time.Duration{0, time.Minute} {
		_, err := future.QueryMaxAge(context.Background(), "up", ts, maxAge)
		if k := scaling.KindOf(err); k != scaling.FailureFuture || !strings.Contains(err.Error(), "stamped 1h after the query's time") {
			t.Errorf("max age %s: kind %q (%v), want future", maxAge, k, err)
		}
	}
}
