package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scalerYAML is one valid scaler, with extra written under it.
func scalerYAML(name, extra string) string {
	return fmt.Sprintf(`
prometheus: {url: http://prom:9090}
scalers:
  - name: %s
    target: {kind: log, log: {initial: 2}}
    signals: [{name: rps, query: 'sum(rate(x[1m]))'}]
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}
    bounds: {max: 10}
%s`, name, extra)
}

// Everything a scaler holds is bounded, and a scaler past a bound is
// refused with the bound named, before its items are checked one by one.
func TestLoadRefusesScalersPastTheirBounds(t *testing.T) {
	list := func(key string, n int, item func(i int) string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "    %s:\n", key)
		for i := range n {
			b.WriteString("      - " + item(i) + "\n")
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"17 signals", without(scalerYAML("web", list("signals", 17, func(i int) string { return fmt.Sprintf("{name: s%d, query: x}", i) })), "    signals: ["),
			[]string{"scalers[0].signals: 17 signals: must hold at most 16"}},
		{"17 policies", strings.Replace(scalerYAML("web", list("policies", 17, func(i int) string {
			return fmt.Sprintf("{name: p%d, type: target_tracking, target_tracking: {signal: rps, target_type: value, target: 1}}", i)
		})), "    policies:\n      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}\n", "", 1), []string{"scalers[0].policies: 17 policies: must hold at most 16"}},
		{"33 schedules", scalerYAML("web", list("schedules", 33, func(i int) string {
			return fmt.Sprintf("{name: s%d, start: '0 9 * * *', duration: 1h, min: 2}", i)
		})), []string{"scalers[0].schedules: 33 schedules: must hold at most 32"}},
		{"11 rate limits", scalerYAML("web", "    behavior:\n      scale_up:\n        policies:\n"+
			strings.Repeat("          - {type: Pods, value: 1, period: 1m}\n", 11)), []string{"scalers[0].behavior.scale_up.policies: 11 rate limits: must hold at most 10"}},
		{"a 254-byte scaler name", scalerYAML(strings.Repeat("a", 254), ""),
			[]string{`scalers[0].name: "` + strings.Repeat("a", 200) + `"... (54 more bytes): is 254 bytes long: must be at most 253`}},
		{"a name of dots", scalerYAML("..", ""),
			[]string{`scalers[0].name: "..": must not be only dots: a path would read it as a directory`}},
		{"a 64-byte signal name", strings.ReplaceAll(scalerYAML("web", ""), "rps", strings.Repeat("s", 64)),
			[]string{
				`scalers[0].signals[0].name: "` + strings.Repeat("s", 64) + `": is 64 bytes long: must be at most 63`,
				`scalers[0].policies[0].name: "` + strings.Repeat("s", 64) + `": is 64 bytes long: must be at most 63`,
			}},
		{"an interval past an hour", scalerYAML("web", "    interval: 2562047h\n"),
			[]string{"scalers[0].interval: 2562047h: must be between 1s and 1h, or unset to use the global interval"}},
		{"a global interval past an hour", "interval: 2h\n" + scalerYAML("web", ""),
			[]string{"interval: 2h: must be between 1s and 1h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadData("", []byte(tc.yaml), nil)
			if diff := cmp.Diff(tc.want, messages(err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// without drops the line of doc that starts with prefix.
func without(doc, prefix string) string {
	var out []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A scaler may hold as much as its bounds say: 253-byte names, 16 signals.
func TestLoadAcceptsScalersAtTheirBounds(t *testing.T) {
	var sigs strings.Builder
	sigs.WriteString("    signals:\n")
	for i := range 16 {
		fmt.Fprintf(&sigs, "      - {name: %s%02d, query: x}\n", strings.Repeat("s", 61), i)
	}
	doc := strings.Replace(scalerYAML(strings.Repeat("a", 253), "    interval: 1h\n"), "    signals: [{name: rps, query: 'sum(rate(x[1m]))'}]\n", sigs.String(), 1)
	doc = strings.ReplaceAll(doc, "signal: rps", "signal: "+strings.Repeat("s", 61)+"00")
	if _, err := LoadData("", []byte(doc), nil); err != nil {
		t.Fatal(err)
	}
}

// A file of 100,000 unknown keys is refused in a message of bounded size,
// which says how many problems it leaves out; a key is shown cut short.
func TestLoadBoundsItsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(scalerYAML("web", ""))
	for i := range 100_000 {
		fmt.Fprintf(&b, "unknown_%d: 1\n", i)
	}
	fmt.Fprintf(&b, "%s: 1\n", strings.Repeat("k", 1000))
	start := time.Now()
	_, err := LoadData("", []byte(b.String()), nil)
	took := time.Since(start)
	if err == nil {
		t.Fatal("100,000 unknown keys accepted")
	}
	msg := err.Error()
	if len(msg) > 64<<10 {
		t.Errorf("the error is %d bytes, want at most 64 KiB", len(msg))
	}
	if !strings.HasSuffix(msg, "more problems") || !strings.Contains(msg, "unknown_0: unknown key on line") {
		t.Errorf("the error does not start with the first problem and end with a count: %.300s ... %s", msg, msg[max(0, len(msg)-300):])
	}
	if p := messages(err); len(p) > 1001 || !strings.Contains(p[len(p)-1], "and 99001 more problems, not listed") {
		t.Errorf("%d problems kept, the last %q; want 1001 and a count", len(p), p[len(p)-1])
	}
	t.Logf("100,000 unknown keys refused in %s, in a %d-byte error", took, len(msg))
}

// YAML merge keys merge, as YAML 1.1 does: the mapping's own keys first,
// then those of the mappings it merges, the first listed first.
func TestDecodeMergeKeys(t *testing.T) {
	doc := `
prometheus: {url: http://prom:9090}
scalers:
  - &web
    name: web
    target: &target {kind: log, log: {initial: 3}}
    signals: [{name: rps, query: x}]
    policies: [{name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: value, target: 1}}]
    bounds: &bounds {min: 2, max: 10}
  - <<: *web
    name: api
    bounds:
      <<: [{min: 3}, *bounds]
      max: 20
`
	c, err := LoadData("", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	api := c.Scalers[1]
	if api.Name != "api" || api.Target.Kind != "log" || len(api.Signals) != 1 || api.Bounds.Min != 3 || api.Bounds.Max != 20 {
		t.Errorf("merged scaler = %s %s %d signals bounds %+v, want api log 1 signal {3 20}", api.Name, api.Target.Kind, len(api.Signals), api.Bounds)
	}
	if c.Scalers[0].Bounds.Min != 2 || c.Scalers[0].Bounds.Max != 10 {
		t.Errorf("the merged-from scaler changed: %+v", c.Scalers[0].Bounds)
	}
}

// A merge key that names no mapping is refused with its own message.
func TestDecodeRefusesAMergeOfAScalar(t *testing.T) {
	doc := scalerYAML("web", "    bounds:\n      <<: 3\n      max: 10\n")
	doc = strings.Replace(doc, "    bounds: {max: 10}\n", "", 1)
	_, err := LoadData("", []byte(doc), nil)
	want := []string{"scalers[0].bounds.<<: 3: a merge key must name a mapping (<<: *defaults) or a list of mappings"}
	if diff := cmp.Diff(want, messages(err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// Redirects are off by default, whether http_config is written or not;
// follow_redirects: true turns them on.
func TestRedirectsAreOffByDefault(t *testing.T) {
	for doc, want := range map[string]bool{
		"":                                       false,
		"  http_config: {enable_http2: false}\n": false,
		"  http_config: {follow_redirects: true}\n": true,
	} {
		c, err := LoadData("", []byte(strings.Replace(scalerYAML("web", ""), "prometheus: {url: http://prom:9090}\n", "prometheus:\n  url: http://prom:9090\n"+doc, 1)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Prometheus.HTTP.FollowRedirects != want {
			t.Errorf("%q: follow_redirects %v, want %v", doc, c.Prometheus.HTTP.FollowRedirects, want)
		}
	}
}
