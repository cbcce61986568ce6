package main

import (
	"strings"
	"testing"
)

// calibrate spells its Prometheus flags as every other command does; the
// spellings of earlier releases still work, with a warning naming the new
// one, and the help lists only the new ones.
func TestCalibrateTakesThePrometheusFlagsOfTheOtherCommands(t *testing.T) {
	// --format bogus stops it before any query: only the flags are tried.
	_, stderr, code := runScaled(t, "calibrate", "--prometheus.url", "http://127.0.0.1:1", "--prometheus.query-timeout", "5s", "--format", "bogus")
	if code != 2 || !strings.Contains(stderr, "--format") || strings.Contains(stderr, "deprecated") {
		t.Errorf("new spellings: exit %d, stderr:\n%s\nwant only the --format problem", code, stderr)
	}
	_, stderr, code = runScaled(t, "calibrate", "--prometheus-url", "http://127.0.0.1:1", "--query-timeout", "5s", "--format", "bogus")
	for _, want := range []string{"--prometheus-url has been deprecated, use --prometheus.url", "--query-timeout has been deprecated, use --prometheus.query-timeout", "--format"} {
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("old spellings: exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
	if _, stderr, _ := runScaled(t, "calibrate", "--requests", "up"); !strings.Contains(stderr, "--prometheus.url: empty") {
		t.Errorf("no URL: stderr %q, want it to name --prometheus.url", stderr)
	}
	help, _, _ := runScaled(t, "calibrate", "--help")
	if !strings.Contains(help, "--prometheus.url") || strings.Contains(help, "--prometheus-url") || strings.Contains(help, " --query-timeout") {
		t.Errorf("calibrate --help lists old spellings or lacks the new:\n%s", help)
	}
}
