//go:build integration

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/fakeprom"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// One query per ten seconds allowed, five scalers ticking every two: the
// query that gets the turn is answered, the others fail at once as
// throttled without being sent (their turn would come after their
// deadline), and their scalers hold the capacity while the answered ones
// follow the signal.
func TestDaemonThrottlesQueriesBeyondTheLimit(t *testing.T) {
	prom := fakeprom.Start(t, fakeprom.Now("1"))
	var scalers strings.Builder
	for i := range 5 {
		fmt.Fprintf(&scalers, `
  - name: s%d
    target: {kind: log, log: {initial: 4}}
    signals: [{name: load, query: 'app_load{shard="%d"}'}]
    policies: [{name: load, type: target_tracking, target_tracking: {signal: load, target_type: value, target: 0.5}}]
    bounds: {min: 1, max: 20}
`, i, i)
	}
	d := startDaemon(t, fmt.Sprintf(`
prometheus: {url: %s, query_timeout: 1s, max_queries_per_second: 0.1}
interval: 2s
dry_run: true
listen: LISTEN
scalers:
%s`, prom.URL, scalers.String()))

	waitUntil(t, 30*time.Second, "a throttled query", func() bool {
		return d.Value(t, "scaled_prometheus_requests_throttled_total") > 0
	})
	throttled, answered := 0, 0
	for i := range 5 {
		for _, dec := range d.decisions(t, fmt.Sprintf("s%d", i), 10) {
			switch {
			case len(dec.Signals) != 1:
				t.Errorf("s%d: signals %+v, want one", i, dec.Signals)
			case dec.Signals[0].Failed == scaling.FailureThrottled:
				throttled++
				if dec.Desired != 4 || !strings.Contains(dec.Signals[0].Error, "max_queries_per_second 0.1") {
					t.Errorf("s%d: desired %d, %s: want 4 held and the limit named", i, dec.Desired, dec.Signals[0].Error)
				}
			case dec.Signals[0].Failed == "":
				answered++
				if dec.Desired != 8 {
					t.Errorf("s%d: desired %d from a signal of 1 against 0.5, want 8", i, dec.Desired)
				}
			}
		}
	}
	sent := d.Value(t, "scaled_prometheus_requests_total")
	if throttled == 0 || answered == 0 || sent < 1 || float64(prom.Received()) < sent {
		t.Errorf("%d throttled and %d answered decisions, %g requests counted, %d received; want some of each, every counted one received",
			throttled, answered, sent, prom.Received())
	}
}
