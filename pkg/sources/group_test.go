package sources

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// groupedAnswer is a vector of the series sum by (namespace, deployment)
// gives, plus one without the deployment label.
const groupedAnswer = `{"status":"success","data":{"resultType":"vector","result":[
 {"metric":{"namespace":"shop","deployment":"web"},"value":[1800000000,"12.5"]},
 {"metric":{"namespace":"shop","deployment":"api"},"value":[1800000000,"3"]},
 {"metric":{"namespace":"blog","deployment":"web"},"value":[1800000000,"7"]},
 {"metric":{"namespace":"blog","deployment":"bad"},"value":[1800000000,"NaN"]},
 {"metric":{"namespace":"shop"},"value":[1800000000,"1"]}]}}`

func selection(t *testing.T, text string) *Selection {
	t.Helper()
	var s Selection
	if err := yaml.Unmarshal([]byte(text), &s); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	if err := s.compile(); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return &s
}

func TestGroupedSelectsItsOwnSeries(t *testing.T) {
	var requests atomic.Int32
	p := newTestPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, groupedAnswer)
	}))
	view := NewSharing(p).Every(15 * time.Second)
	at := time.Unix(1_800_000_000, 0).UTC()
	for _, tc := range []struct {
		name, sel string
		want      float64
		kind      scaling.FailureKind
		text      string
	}{
		{"mapping", "{namespace: shop, deployment: web}", 12.5, "", ""},
		{"matchers", `'{namespace="blog", deployment=~"w.b"}'`, 7, "", ""},
		{"matchers without braces", `'deployment="api"'`, 3, "", ""},
		{"a missing label is empty", `'{namespace="shop", deployment=""}'`, 1, "", ""},
		{"none", "{namespace: shop, deployment: cart}", 0, scaling.FailureEmpty,
			`"sum by (namespace, deployment) (rate(x[2m]))": no series matches {deployment="cart", namespace="shop"} at 2027-01-15T08:00:00Z (the answer has 5 series)`},
		{"several", "{deployment: web}", 0, scaling.FailureMultiple,
			`"sum by (namespace, deployment) (rate(x[2m]))": 2 series match {deployment="web"}, want 1: {deployment="web", namespace="shop"}, {deployment="web", namespace="blog"}`},
		{"several by regexp", `'{namespace=~".+"}'`, 0, scaling.FailureMultiple,
			`"sum by (namespace, deployment) (rate(x[2m]))": 5 series match {namespace=~".+"}, want 1: {deployment="web", namespace="shop"}, {deployment="api", namespace="shop"}, ...`},
		{"not finite", "{deployment: bad}", 0, scaling.FailureNotFinite,
			`"sum by (namespace, deployment) (rate(x[2m]))": value NaN of {deployment="bad", namespace="blog"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &groupedQuerier{src: view.(GroupQuerier), sel: selection(t, tc.sel)}
			got, err := QueryMaxAge(context.Background(), q, "sum by (namespace, deployment) (rate(x[2m]))", at.Add(3*time.Second), 0)
			switch {
			case tc.kind == "" && err != nil:
				t.Fatalf("got %v, want %g", err, tc.want)
			case tc.kind == "" && (got.Value != tc.want || !got.Time.Equal(at)):
				t.Errorf("got %g at %s, want %g at the grid time %s", got.Value, got.Time, tc.want, at)
			case tc.kind != "" && (scaling.KindOf(err) != tc.kind || err.Error() != string(tc.kind)+": "+tc.text):
				t.Errorf("got %v,\nwant %s: %s", err, tc.kind, tc.text)
			}
		})
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests for 8 signals reading one grouped query at one grid time, want 1", n)
	}
}

func TestGroupedRefusesAnswersThatAreNotAVector(t *testing.T) {
	p := cannedPrometheus(t, 200, `{"status":"success","data":{"resultType":"scalar","result":[1800000000,"1"]}}`)
	_, err := p.QueryGroup(context.Background(), "scalar(x)", time.Unix(1_800_000_000, 0))
	if scaling.KindOf(err) != scaling.FailureUnsupported || !strings.Contains(err.Error(), "must return an instant vector") {
		t.Errorf("got %v, want unsupported_type", err)
	}
}

func TestGroupedAnswerIsBoundedBySize(t *testing.T) {
	p := newTestPrometheus(t, manySeries(100_000, 16, new(atomic.Int64)), WithMaxResponseBytes(64<<10))
	_, err := p.QueryGroup(context.Background(), "x", time.Unix(1_800_000_000, 0))
	if scaling.KindOf(err) != scaling.FailureTooLarge || !strings.Contains(err.Error(), "64 KiB") {
		t.Errorf("got %v, want too_large at 64 KiB", err)
	}
}

func TestParseMatchers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // String() of the parsed selection, or the first problem
	}{
		{`{a="x"}`, `{a="x"}`},
		{` b != 'y' , a =~ "x|z" `, `{a=~"x|z", b!="y"}`},
		{"{a!~`\\d+`, b=\"x\"}", `{a!~"\\d+", b="x"}`},
		{`{a="x\"y"}`, `{a="x\"y"}`},
		{`{}`, `must hold at least one matcher`},
		{`{a="x"`, `must end with '}'`},
		{`{a=x}`, `value of a: at "x": want a quoted string`},
		{`{a=="x"}`, `value of a: at "=\"x\"": want a quoted string`},
		{`{a="x" b="y"}`, `at "b=\"y\"": want ',' between matchers`},
		{`{a="x}`, `value of a: "x: unterminated string`},
	} {
		ms, errs := parseMatchers(tc.in)
		got := ""
		if len(errs) > 0 {
			got = errs[0]
		} else {
			_ = ms
			s := Selection{Matchers: tc.in}
			got = s.String()
		}
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func BenchmarkGroupedSelect10000(b *testing.B) {
	g := &Group{expr: "x", at: time.Unix(1_800_000_000, 0)}
	for i := range 10_000 {
		g.series = append(g.series, groupSeries{labels: map[string]string{"namespace": "ns", "deployment": fmt.Sprintf("d%05d", i)}, v: 1})
	}
	sels := make([]*Selection, 10_000)
	for i := range sels {
		sels[i] = &Selection{Labels: map[string]string{"namespace": "ns", "deployment": fmt.Sprintf("d%05d", i)}}
		if err := sels[i].compile(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := g.Select(sels[i%len(sels)]); err != nil {
			b.Fatal(err)
		}
	}
}
