package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// scalerWith is one valid scaler with extra lines appended to its block.
func scalerWith(lines string) string {
	return `prometheus: {url: "http://prom:9090"}
scalers:
  - name: web
    target: {kind: log}
    signals: [{name: rps, query: "sum(rate(x[1m]))"}]
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: value, target: 10}}
` + lines
}

// Every decode problem as scaled check prints it, each exactly.
func TestDecodeProblems(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top-level key", "intervall: 5s\n", []string{
			"intervall: unknown key on line 1: must be one of prometheus, interval, dry_run, listen, log, decision_history, decision_history_mib, scalers, leader_election, scaler_objects, metrics, aws"}},
		{"unknown scaler key", "scalers:\n  - name: a\n    targt: {kind: log}\n", []string{
			"scalers[0].targt: unknown key on line 3: must be one of name, target, signals, policies, combine, schedules, bounds, behavior, on_failure, startup_delay, dry_run, interval"}},
		{"unknown nested key", "scalers:\n  - name: a\n    bounds: {min: 1, maxi: 2}\n", []string{
			"scalers[0].bounds.maxi: unknown key on line 3: must be one of min, max"}},
		{"unknown replay key", "scalers:\n  - signals:\n      - replay: {trace: t.csv, sped: 2}\n", []string{
			"scalers[0].signals[0].replay.sped: unknown key on line 3: must be one of trace, speed, loop, expr"}},
		{"unknown valid_range key", "scalers:\n  - signals:\n      - {name: a, valid_range: {minimum: 0}}\n", []string{
			"scalers[0].signals[0].valid_range.minimum: unknown key on line 3: must be one of min, max"}},
		{"unknown signal key", "scalers:\n  - signals:\n      - {name: a, valid: {min: 0}}\n", []string{
			"scalers[0].signals[0].valid: unknown key on line 3: must be one of name, max_age, valid_range, " + registered(sources.Kinds())}},
		{"a string in valid_range", "scalers:\n  - signals:\n      - {name: a, valid_range: {max: lots}}\n", []string{
			`scalers[0].signals[0].valid_range.max: "lots": must be a number`}},
		{"repeated key", "interval: 5s\nlisten: ':1'\ninterval: 6s\n", []string{
			"interval: repeated on line 3: a key may appear once"}},
		{"unknown http_config key", "prometheus:\n  http_config:\n    bearer_tokn: x\n", []string{
			"prometheus.http_config: line 3: field bearer_tokn not found in type config.plain"}},
		{"unknown http_config key after a comment", "prometheus:\n  http_config:\n    # the token\n    follow_redirects: true\n    bearer_tokn: x\n", []string{
			"prometheus.http_config: line 5: field bearer_tokn not found in type config.plain"}},
		{"bad http_config", "prometheus:\n  http_config: {bearer_token: x, bearer_token_file: y}\n", []string{
			"prometheus.http_config: at most one of bearer_token & bearer_token_file must be configured"}},
		{"duration without unit", "interval: 15\n", []string{
			"interval: 15: must be a duration such as 15s or 5m"}},
		{"duration that does not parse", "interval: fast\n", []string{
			`interval: "fast": must be a duration such as 15s or 5m`}},
		{"duration with a space", "interval: 15 s\n", []string{
			`interval: "15 s": must be a duration such as 15s or 5m`}},
		{"a fraction in an integer field is never truncated", scalerWith("    bounds: {max: 20.9}\n"), []string{
			"scalers[0].bounds.max: 20.9: must be an integer"}},
		{"a fraction below one is shown as written", scalerWith("    bounds: {max: 0.5}\n"), []string{
			"scalers[0].bounds.max: 0.5: must be an integer"}},
		{"int32 overflow", scalerWith("    bounds: {max: 3000000000}\n"), []string{
			"scalers[0].bounds.max: 3000000000: must be an integer between -2147483648 and 2147483647"}},
		{"int64 overflow", "decision_history: 99999999999999999999\n", []string{
			"decision_history: 99999999999999999999: must be an integer between -9223372036854775808 and 9223372036854775807"}},
		{"a string in an integer field", scalerWith("    bounds: {max: ten}\n"), []string{
			`scalers[0].bounds.max: "ten": must be an integer`}},
		{"a quoted number in an integer field", scalerWith("    bounds: {max: \"10\"}\n"), []string{
			`scalers[0].bounds.max: "10": must be an integer`}},
		{"a string in a number field", "scalers:\n  - policies: [{type: target_tracking, target_tracking: {target: high}}]\n", []string{
			`scalers[0].policies[0].target_tracking.target: "high": must be a number`}},
		{"not a bool", "dry_run: maybe\n", []string{
			`dry_run: "maybe": must be true or false`}},
		{"a list where a string goes", "listen: [a, b]\n", []string{
			"listen: a list: must be a string"}},
		{"a scalar where a mapping goes", "log: verbose\n", []string{
			`log: "verbose": must be a mapping`}},
		{"a mapping where a list goes", "scalers: {name: a}\n", []string{
			"scalers: a mapping: must be a list"}},
		{"null where a value is needed", "interval: null\nlisten: ~\nlog:\n", []string{
			"interval: null: must be a duration such as 15s or 5m",
			"listen: null: must be a string",
			"log: null: must be a mapping"}},
		{"not a mapping", "- a\n", []string{
			"(document): a list: must be a mapping"}},
		{"every problem at once", "interval: fast\nlisten: [x]\nscalers:\n  - name: a\n    bounds: {min: 0.5, max: 20.9}\n    targt: {}\n", []string{
			`interval: "fast": must be a duration such as 15s or 5m`,
			"listen: a list: must be a string",
			"scalers[0].bounds.min: 0.5: must be an integer",
			"scalers[0].bounds.max: 20.9: must be an integer",
			"scalers[0].targt: unknown key on line 6: must be one of name, target, signals, policies, combine, schedules, bounds, behavior, on_failure, startup_delay, dry_run, interval"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if diff := cmp.Diff(tc.want, messages(err)); diff != "" {
				t.Errorf("Parse problems (-want +got):\n%s", diff)
			}
		})
	}
}

// What decodes: a float field from an integer literal, a whole number
// written as a float into an integer field, null into a pointer.
func TestDecodeAccepts(t *testing.T) {
	c, err := Parse([]byte(scalerWith("    bounds: {max: 2e1}\n    dry_run: null\n")))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Scalers[0]
	tt := s.Policies[0].Spec.(*policy.TargetTrackingSpec)
	if s.Bounds.Max != 20 || s.DryRun != nil || tt.Target != 10 {
		t.Errorf("max %d, dry_run %v, target %g; want 20, nil, 10", s.Bounds.Max, s.DryRun, tt.Target)
	}
}

func TestDecodeYAMLErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"syntax error keeps its line", "interval: 5s\nscalers:\n  - name: [a\n", "yaml: line 2: did not find expected ',' or ']'"},
		{"two documents", "interval: 15s\n---\ninterval: 5s\n", "config holds more than one YAML document: want exactly one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || err.Error() != tc.want {
				t.Errorf("Parse error = %v, want %q", err, tc.want)
			}
		})
	}
}

// Decode and validation problems come together, and a field that failed to
// decode is not reported again by validation.
func TestLoadReportsDecodeAndValidationProblemsTogether(t *testing.T) {
	path := writeFile(t, t.TempDir(), "scaled.yaml", scalerWith("    bounds: {max: 20.9}\ninterval: fast\nlisten: nowhere\n"))
	_, err := Load(path, nil)
	want := []string{
		"scalers[0].bounds.max: 20.9: must be an integer",
		`interval: "fast": must be a duration such as 15s or 5m`,
		`listen: "nowhere": must be host:port (host may be empty) with a port in 0..65535`,
	}
	if diff := cmp.Diff(want, messages(err)); diff != "" {
		t.Errorf("Load problems (-want +got):\n%s", diff)
	}
}

// An object from the API server decodes through the same decoder as a file,
// its problems under the object's own path.
func TestDecodeScalerJSON(t *testing.T) {
	fromFile, err := Parse([]byte(scalerWith("    bounds: {max: 10}\n")))
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"target": {"kind": "log"}, "signals": [{"name": "rps", "query": "sum(rate(x[1m]))"}],
	  "policies": [{"name": "rps", "type": "target_tracking", "target_tracking": {"signal": "rps", "target_type": "value", "target": 10}}],
	  "bounds": {"max": 10}}`
	s, errs := DecodeScalerJSON([]byte(raw), "web", "", field.NewPath("spec"))
	if len(errs) > 0 {
		t.Fatalf("DecodeScalerJSON: %v", errs)
	}
	if !s.Equal(fromFile.Scalers[0]) {
		t.Errorf("the JSON scaler differs from the file's:\n%s", cmp.Diff(fromFile.Scalers[0], s))
	}
	// A Scaler object takes no name in its spec: an unknown key does not offer one.
	obj := map[string]any{"name": "web", "bounds": map[string]any{"max": 20.9, "min": 1e10}, "interval": 15, "tolerance": true}
	_, errs = DecodeScalerObject(obj, "shop/web", "shop", field.NewPath("spec"))
	want := []string{
		"spec.bounds.max: 20.9: must be an integer",
		"spec.bounds.min: 10000000000: must be an integer between -2147483648 and 2147483647",
		"spec.interval: 15: must be a duration such as 15s or 5m",
		"spec.tolerance: unknown key on line 1: must be one of target, signals, policies, combine, schedules, bounds, behavior, on_failure, startup_delay, dry_run, interval",
		"spec.name: unknown key on line 1: must be left out: a Scaler's name is its metadata.name",
	}
	if diff := cmp.Diff(want, fielderr.Lines(errs)); diff != "" {
		t.Errorf("DecodeScalerObject problems (-want +got):\n%s", diff)
	}
	if _, errs := DecodeScalerJSON([]byte(`{"name": `), "web", "", field.NewPath("spec")); len(errs) != 1 || !strings.HasPrefix(fielderr.Format(errs[0]), "spec: not valid JSON") {
		t.Errorf("truncated JSON: %v", errs)
	}
}

// Aliases that expand without bound are refused, as yaml.v3 refuses them:
// here a billion step adjustments from a document of a few thousand nodes.
func TestDecodeRefusesAnAliasBomb(t *testing.T) {
	refs := func(anchor string) string { return strings.TrimSuffix(strings.Repeat("*"+anchor+", ", 1000), ", ") }
	doc := "steps: &st [" + strings.Repeat("{lower: 0, adjustment: 1}, ", 999) + "{lower: 0, adjustment: 1}]\n" +
		"policy: &p {name: p, type: step, step: {signal: s, scale_out: {steps: *st}}}\n" +
		"scaler: &sc {name: a, policies: [" + refs("p") + "]}\n" +
		"scalers: [" + refs("sc") + "]\n"
	start := time.Now()
	_, err := Parse([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "the document's aliases expand too far") {
		t.Errorf("Parse = %.300v, want the aliases refused", err)
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("refusing took %s", took)
	}
}

// A signal's valid_range: each bound written replaces the default's.
func TestDecodeValidRange(t *testing.T) {
	c, err := Parse([]byte(`prometheus: {url: "http://prom:9090"}
scalers:
  - name: web
    target: {kind: log}
    signals:
      - {name: ratio, query: "x", valid_range: {min: 0, max: 1}}
      - {name: delta, query: "y", valid_range: {min: -5}}
      - {name: rps, query: "z"}
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: value, target: 10}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sig := range c.Scalers[0].Signals {
		got = append(got, sig.Name+" "+sig.Range().String())
	}
	want := []string{"ratio [0, 1]", "delta [-5, +Inf)", "rps [0, +Inf)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ranges (-want +got):\n%s", diff)
	}
}
