package sources

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// A query is checked by Prometheus' parser: a syntax error is a problem at
// the query's path, with the parser's position and reason.
func TestQuerySpecValidateParsesPromQL(t *testing.T) {
	path := field.NewPath("scalers").Index(0).Child("signals").Index(1).Child("query")
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{`sum(rate(http_requests_total{job="web"}[1m]))`, nil},
		{"histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))\n/ 1.0", nil},
		{`sum(rate(x[1m])) and on() (time() - min(timestamp(x)) < 120)`, nil},
		{`queue_depth{queue="jobs"}`, nil},
		{`sum(rate(x[1m]`, []string{`scalers[0].signals[1].query: "sum(rate(x[1m]": not valid PromQL: 1:15: parse error: unclosed left parenthesis`}},
		{`rate(x)`, []string{`scalers[0].signals[1].query: "rate(x)": not valid PromQL: 1:6: parse error: expected type range vector in call to function "rate", got instant vector`}},
		{`sum(x) by`, []string{`scalers[0].signals[1].query: "sum(x) by": not valid PromQL: 1:10: parse error: unexpected end of input in grouping opts, expected "("`}},
		{`no_such_function(x)`, []string{`scalers[0].signals[1].query: "no_such_function(x)": not valid PromQL: 1:1: parse error: unknown function with name "no_such_function"`}},
	} {
		q := QuerySpec(tc.query)
		var got []string
		for _, e := range q.Validate(path) {
			got = append(got, fmt.Sprintf("%s: %q: %s", e.Field, e.BadValue, e.Detail))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.query, diff)
		}
	}
}

// Validating a fleet's config parses every query once: this is the cost
// per query of that check.
func BenchmarkCheckPromQL(b *testing.B) {
	const q = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="shop",job="web"}[1m]))) / 0.25`
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckPromQL(q); err != nil {
			b.Fatal(err)
		}
	}
}

func TestIsSelector(t *testing.T) {
	for q, want := range map[string]bool{
		`queue_depth{queue="jobs"}`:  true,
		`(queue_depth)`:              true,
		`sum(queue_depth)`:           false,
		`rate(x[1m])`:                false,
		`x / 2`:                      false,
		`x offset 1m`:                true,
		`not valid (`:                false,
		`histogram_quantile(0.9, x)`: false,
	} {
		if got := IsSelector(q); got != want {
			t.Errorf("IsSelector(%q) = %v, want %v", q, got, want)
		}
	}
}
