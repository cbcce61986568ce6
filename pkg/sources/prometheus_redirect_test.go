package sources

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/fakeprom"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// A Prometheus that redirects the query to another host does not get its
// value used: redirects are off unless follow_redirects is set, and the
// redirect is a failed signal. A sample that answer stamps an hour ahead
// fails as future, whatever the max age.
func TestPrometheusRedirectsAndFutureSamples(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0)
	elsewhere := fakeprom.Start(t, fakeprom.Vector("0.01", ts))
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusFound)
	})

	p := newTestPrometheus(t, redirect)
	_, err := p.QueryMaxAge(context.Background(), "up", ts, 0)
	if k := scaling.KindOf(err); k != scaling.FailureQuery || elsewhere.Received() != 0 {
		t.Errorf("redirected: kind %q (%v), %d queries reached the other host; want query_error and none", k, err, elsewhere.Received())
	}

	// follow_redirects: true follows it, as it says.
	cfg := PrometheusConfig{URL: fakeprom.Start(t, redirect).URL}
	cfg.HTTP.FollowRedirects = true
	pf, err := NewPrometheus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := pf.QueryMaxAge(context.Background(), "up", ts, 0); err != nil || s.Value != 0.01 || elsewhere.Received() != 1 {
		t.Errorf("with follow_redirects: %v %v, %d queries elsewhere; want 0.01 from the other host", s, err, elsewhere.Received())
	}

	future := newTestPrometheus(t, fakeprom.Vector("0.01", ts.Add(time.Hour)))
	for _, maxAge := range []time.Duration{0, time.Minute} {
		_, err := future.QueryMaxAge(context.Background(), "up", ts, maxAge)
		if k := scaling.KindOf(err); k != scaling.FailureFuture || !strings.Contains(err.Error(), "stamped 1h after the query's time") {
			t.Errorf("max age %s: kind %q (%v), want future", maxAge, k, err)
		}
	}
}
