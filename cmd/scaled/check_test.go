package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// scaled check parses every query as Prometheus does: a syntax error is
// reported with the signal's path, with every other problem, and the
// config is invalid (exit 2) before anything queries Prometheus.
func TestCheckRefusesInvalidPromQL(t *testing.T) {
	path := writeConfig(t, `
prometheus: {url: "http://127.0.0.1:1"}
scalers:
  - name: web
    target: {kind: log}
    signals:
      - {name: rps, query: 'sum(rate(http_requests_total[1m]))'}
      - {name: p95, query: 'sum(rate(x[1m]'}
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}
    bounds: {min: 5, max: 3}
`)
	out, err := exec.Command(scaledBin, "check", "--config", path).CombinedOutput()
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("scaled check: %v, want exit 2\n%s", err, out)
	}
	for _, want := range []string{
		": 2 problem(s)",
		`  scalers[0].signals[1].query: "sum(rate(x[1m]": not valid PromQL: 1:15: parse error: unclosed left parenthesis`,
		"  scalers[0].bounds.min: 5: must be <= bounds.max (3)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// max_age on a computed query checks nothing: check says so, and says
// nothing of one on a selector.
func TestCheckNotesMaxAgeOnAComputedQuery(t *testing.T) {
	path := writeConfig(t, `
prometheus: {url: "http://127.0.0.1:1"}
scalers:
  - name: web
    target: {kind: log}
    signals:
      - {name: rps, query: 'sum(rate(http_requests_total[1m]))', max_age: 2m}
      - {name: queue, query: 'queue_depth{queue="jobs"}', max_age: 2m}
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}
    bounds: {max: 3}
`)
	out, err := exec.Command(scaledBin, "check", "--config", path).CombinedOutput()
	if err != nil {
		t.Fatalf("scaled check: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "note: scalers[0].signals[0].max_age: 2m: the query is computed") {
		t.Errorf("no note on max_age over a computed query:\n%s", out)
	}
	if strings.Contains(string(out), "signals[1].max_age") {
		t.Errorf("a note on max_age over a selector, where it works:\n%s", out)
	}
}
