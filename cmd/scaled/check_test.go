package main

import (
	"fmt"
	"strings"
	"testing"
)

// scaled check on the queries of one scaler: what it exits with, and what
// its output says and does not say.
func TestCheckReadsTheQueries(t *testing.T) {
	for _, tc := range []struct {
		name, signals, bounds string
		exit                  int
		want, lacks           []string
	}{{
		// Every query is parsed as Prometheus does: a syntax error is
		// reported with the signal's path, with every other problem, and
		// the config is invalid (exit 2) before anything queries Prometheus.
		name: "invalid PromQL",
		signals: `
      - {name: rps, query: 'sum(rate(http_requests_total[1m]))'}
      - {name: p95, query: 'sum(rate(x[1m]'}`,
		bounds: "{min: 5, max: 3}",
		exit:   2,
		want: []string{
			": 2 problem(s)",
			`  scalers[0].signals[1].query: "sum(rate(x[1m]": not valid PromQL: 1:15: parse error: unclosed left parenthesis`,
			"  scalers[0].bounds.min: 5: must be <= bounds.max (3)",
		},
	}, {
		// max_age on a computed query checks nothing: check says so, and
		// says nothing of one on a selector.
		name: "max_age on a computed query",
		signals: `
      - {name: rps, query: 'sum(rate(http_requests_total[1m]))', max_age: 2m}
      - {name: queue, query: 'queue_depth{queue="jobs"}', max_age: 2m}`,
		bounds: "{max: 3}",
		want:   []string{"note: scalers[0].signals[0].max_age: 2m: the query is computed"},
		lacks:  []string{"signals[1].max_age"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, fmt.Sprintf(`
prometheus: {url: "http://127.0.0.1:1"}
scalers:
  - name: web
    target: {kind: log}
    signals:%s
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}
    bounds: %s
`, tc.signals, tc.bounds))
			stdout, stderr, code := runScaled(t, "check", "--config", path)
			out := stdout + stderr
			if code != tc.exit {
				t.Fatalf("scaled check: exit %d, want %d\n%s", code, tc.exit, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for _, lack := range tc.lacks {
				if strings.Contains(out, lack) {
					t.Errorf("output has %q:\n%s", lack, out)
				}
			}
		})
	}
}
