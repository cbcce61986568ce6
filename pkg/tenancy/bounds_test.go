package tenancy

import (
	"strings"
	"testing"
	"time"
)

// Confining a query past the bounds is refused before it is parsed or
// walked: unbounded, 40,000 terms took 51 s to confine and 100,000
// parentheses 52 s.
func TestConfineQueryRefusesQueriesPastTheBounds(t *testing.T) {
	for name, tc := range map[string]struct{ q, want string }{
		"40,000 terms": {strings.TrimSuffix(strings.Repeat("a + ", 40_000), " + "),
			`cannot be confined to namespace="shop": is 159997 bytes long: a query may be at most 4096 bytes`},
		"100,000 parentheses": {strings.Repeat("(", 100_000) + "a" + strings.Repeat(")", 100_000),
			`cannot be confined to namespace="shop": is 200001 bytes long: a query may be at most 4096 bytes`},
		"1,000 terms": {strings.TrimSuffix(strings.Repeat("a + ", 1000), " + "),
			`cannot be confined to namespace="shop": nests 65 operators or calls deep or more: a query may nest at most 64 deep`},
	} {
		start := time.Now()
		_, err := ConfineQuery(tc.q, "namespace", "shop")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: ConfineQuery = %v, want %q", name, err, tc.want)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: refusing took %s", name, took)
		}
	}
}
