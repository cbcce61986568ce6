package sources

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// hostileQueries are queries whose check cost seconds to a minute before
// they were bounded: 40,000 terms (a syntax tree 40,000 deep), 100,000
// nested parentheses, and a 600 KB selector.
func hostileQueries() map[string]string {
	return map[string]string{
		"40,000 terms":             strings.TrimSuffix(strings.Repeat("a + ", 40_000), " + "),
		"100,000 parentheses":      strings.Repeat("(", 100_000) + "a" + strings.Repeat(")", 100_000),
		"a 600 KB selector":        `x{l="` + strings.Repeat("v", 600<<10) + `"}`,
		"1,000 terms within 4 KiB": strings.TrimSuffix(strings.Repeat("a + ", 1000), " + "),
		"65 nested calls":          strings.Repeat("abs(", 65) + "a" + strings.Repeat(")", 65),
	}
}

// A query past the bounds is refused, naming the bound, and refusing it
// costs little whatever it holds.
func TestCheckPromQLRefusesQueriesPastTheBounds(t *testing.T) {
	want := map[string]string{
		"40,000 terms":             "is 159997 bytes long: a query may be at most 4096 bytes",
		"100,000 parentheses":      "is 200001 bytes long: a query may be at most 4096 bytes",
		"a 600 KB selector":        "is 614407 bytes long: a query may be at most 4096 bytes",
		"1,000 terms within 4 KiB": "nests 65 operators or calls deep or more: a query may nest at most 64 deep",
		"65 nested calls":          "nests brackets 65 deep: a query may nest at most 64 deep",
	}
	for name, q := range hostileQueries() {
		start := time.Now()
		err := CheckPromQL(q)
		took := time.Since(start)
		if err == nil || err.Error() != want[name] {
			t.Errorf("%s: CheckPromQL = %v, want %q", name, err, want[name])
		}
		// Checked unbounded, these took from 0.1 s to 52 s; bounded, at
		// most a parse of 4 KiB (about 15 ms on a busy machine).
		if took > 2*time.Second {
			t.Errorf("%s: refusing took %s", name, took)
		}
	}
}

// A query at the bounds is accepted: 4,096 bytes, 64 levels of brackets.
func TestCheckPromQLAcceptsQueriesAtTheBounds(t *testing.T) {
	long := `sum(rate(x{l="` + strings.Repeat("v", 4096-len(`sum(rate(x{l=""}[1m]))`)) + `"}[1m]))`
	deep := strings.Repeat("(", 63) + "x" + strings.Repeat(")", 63)
	strs := `x{l="((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("}`
	for _, q := range []string{long, deep, strs} {
		if err := CheckPromQL(q); err != nil {
			t.Errorf("%.60s... (%d bytes): %v", q, len(q), err)
		}
	}
	if len(long) != 4096 {
		t.Fatalf("the long query is %d bytes, want 4096", len(long))
	}
}

// The problem of a query past the bounds shows the query cut short.
func TestQuerySpecProblemIsBounded(t *testing.T) {
	q := QuerySpec(hostileQueries()["a 600 KB selector"])
	errs := q.Validate(field.NewPath("signals").Index(0).Child("query"))
	if len(errs) != 1 {
		t.Fatalf("problems = %v, want one", errs)
	}
	if got := errs[0].Detail; got != "is 614407 bytes long: a query may be at most 4096 bytes" {
		t.Errorf("detail = %q", got)
	}
}
