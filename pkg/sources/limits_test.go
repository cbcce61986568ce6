package sources

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

func limitedPrometheus(t *testing.T, h http.Handler, cfg PrometheusConfig) *Prometheus {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL
	p, err := NewPrometheus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// With one query allowed in flight and that one hanging, the next signal
// waits for its turn until its deadline and then fails as throttled without
// being sent; the hanging one is not disturbed.
func TestPrometheusMaxConcurrentQueries(t *testing.T) {
	release := make(chan struct{})
	var received atomic.Int32
	p := limitedPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		<-release
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1800000000,"1"]}}`)
	}), PrometheusConfig{MaxConcurrentQueries: 1})
	at := time.Unix(1_800_000_000, 0)
	first := make(chan error, 1)
	go func() {
		_, err := p.Query(context.Background(), "slow", at)
		first <- err
	}()
	for received.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Query(ctx, "second", at)
	if scaling.KindOf(err) != scaling.FailureThrottled || !errors.Is(err, errNotSent) ||
		!strings.Contains(err.Error(), "1 queries in flight (max_concurrent_queries)") {
		t.Errorf("second query: %v, want throttled, not sent", err)
	}
	if st := p.Stats(); st.Throttled != 1 || st.Sent != 1 || st.Waiting != 0 {
		t.Errorf("stats %+v, want 1 sent, 1 throttled, none waiting", st)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first query: %v", err)
	}
	if n := received.Load(); n != 1 {
		t.Errorf("server received %d queries, want 1", n)
	}
}

// A query that could get its turn under max_queries_per_second only after
// its deadline fails at once: it does not wait for a turn it cannot use.
func TestPrometheusMaxQueriesPerSecond(t *testing.T) {
	var received atomic.Int32
	p := limitedPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1800000000,"1"]}}`)
	}), PrometheusConfig{MaxQueriesPerSecond: 0.01}) // one every 100 s
	at := time.Unix(1_800_000_000, 0)
	if _, err := p.Query(context.Background(), "first", at); err != nil {
		t.Fatalf("first query: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.Query(ctx, "second", at)
	if scaling.KindOf(err) != scaling.FailureThrottled || !strings.Contains(err.Error(), "no turn before the deadline at max_queries_per_second 0.01") {
		t.Errorf("second query: %v, want throttled", err)
	}
	if ctx.Err() != nil {
		t.Errorf("the throttled query waited for its deadline; it must fail at once")
	}
	if n := received.Load(); n != 1 {
		t.Errorf("server received %d queries, want 1", n)
	}
}
