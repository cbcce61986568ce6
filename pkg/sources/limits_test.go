package sources

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/fakeprom"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

func limitedPrometheus(t *testing.T, srv *fakeprom.Server, cfg PrometheusConfig) *Prometheus {
	t.Helper()
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
	at := time.Unix(1_800_000_000, 0)
	answer := fakeprom.Scalar("1", at)
	srv := fakeprom.Start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		answer(w, r)
	}))
	p := limitedPrometheus(t, srv, PrometheusConfig{MaxConcurrentQueries: 1})
	first := make(chan error, 1)
	go func() {
		_, err := p.Query(context.Background(), "slow", at)
		first <- err
	}()
	for srv.Received() == 0 {
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
	if n := srv.Received(); n != 1 {
		t.Errorf("server received %d queries, want 1", n)
	}
}

// A query that could get its turn under max_queries_per_second only after
// its deadline fails at once: it does not wait for a turn it cannot use.
func TestPrometheusMaxQueriesPerSecond(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	srv := fakeprom.Start(t, fakeprom.Scalar("1", at))
	p := limitedPrometheus(t, srv, PrometheusConfig{MaxQueriesPerSecond: 0.01}) // one every 100 s
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
	if n := srv.Received(); n != 1 {
		t.Errorf("server received %d queries, want 1", n)
	}
}
