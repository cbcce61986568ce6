package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/sources"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// globals is the part of a config that env and flags may override.
type globals struct {
	URL          string
	QueryTimeout time.Duration
	Interval     time.Duration
	DryRun       bool
	Listen       string
	Level        string
	Format       string
	History      int
}

func globalsOf(c *Config) globals {
	return globals{c.Prometheus.URL, c.Prometheus.QueryTimeout, c.Interval, c.DryRun, c.Listen, c.Log.Level, c.Log.Format, c.DecisionHistory}
}

const globalsFile = `
prometheus: {url: "http://file:9090", query_timeout: 3s}
interval: 20s
dry_run: false
listen: "127.0.0.1:1000"
log: {level: warn, format: console}
decision_history: 5
scaler_objects: {enabled: true}
`

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, t.TempDir(), "scaled.yaml", globalsFile)
	fromFile := globals{"http://file:9090", 3 * time.Second, 20 * time.Second, false, "127.0.0.1:1000", "warn", "console", 5}
	env := map[string]string{
		"SCALED_PROMETHEUS_URL":           "http://env:9090",
		"SCALED_PROMETHEUS_QUERY_TIMEOUT": "4s",
		"SCALED_INTERVAL":                 "5m",
		"SCALED_DRY_RUN":                  "true",
		"SCALED_LISTEN":                   ":2000",
		"SCALED_LOG_LEVEL":                "debug",
		"SCALED_LOG_FORMAT":               "json",
		"SCALED_DECISION_HISTORY":         "7",
	}
	fromEnv := globals{"http://env:9090", 4 * time.Second, 5 * time.Minute, true, ":2000", "debug", "json", 7}
	flags := []string{
		"--prometheus.url=http://flag:9090", "--prometheus.query-timeout=6s", "--interval=45s", "--dry-run=false",
		"--listen=:3000", "--log.level=error", "--log.format=console", "--decision-history=9",
	}
	fromFlags := globals{"http://flag:9090", 6 * time.Second, 45 * time.Second, false, ":3000", "error", "console", 9}

	for _, tc := range []struct {
		name  string
		path  string
		env   bool
		flags []string
		want  globals
	}{
		{name: "defaults", want: globals{"", DefaultQueryTimeout, DefaultInterval, false, DefaultListen, DefaultLogLevel, DefaultLogFormat, DefaultDecisionHistory}},
		{name: "file over defaults", path: file, want: fromFile},
		{name: "unset flags do not override the file", path: file, flags: []string{}, want: fromFile},
		{name: "env over file", path: file, env: true, want: fromEnv},
		{name: "flags over env", path: file, env: true, flags: flags, want: fromFlags},
		{name: "one flag, the rest from env", path: file, env: true, flags: []string{"--interval=2s"},
			want: func() globals { g := fromEnv; g.Interval = 2 * time.Second; return g }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env {
				for k, v := range env {
					t.Setenv(k, v)
				}
			}
			v := viper.New()
			if tc.flags != nil {
				fs := pflag.NewFlagSet("scaled", pflag.ContinueOnError)
				BindFlags(fs, v)
				if err := fs.Parse(tc.flags); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(tc.path, v, func(c *Config) { c.ScalerObjects.Enabled = true })
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tc.want, globalsOf(c)); diff != "" {
				t.Errorf("globals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadBadEnvironment(t *testing.T) {
	t.Setenv("SCALED_INTERVAL", "soon")
	t.Setenv("SCALED_DRY_RUN", "maybe")
	t.Setenv("SCALED_DECISION_HISTORY", "lots")
	t.Setenv("SCALED_SCALER_OBJECTS_ENABLED", "true")
	_, err := Load("", nil)
	want := []string{
		`interval: "soon": must be a duration such as 15s or 5m (from SCALED_INTERVAL or --interval)`,
		`dry_run: "maybe": must be true or false (from SCALED_DRY_RUN or --dry-run)`,
		`decision_history: "lots": must be an integer (from SCALED_DECISION_HISTORY or --decision-history)`,
	}
	if diff := cmp.Diff(want, messages(err)); diff != "" {
		t.Errorf("Load error (-want +got):\n%s", diff)
	}
}

func TestLoadValidatesAfterOverrides(t *testing.T) {
	file := writeFile(t, t.TempDir(), "scaled.yaml", globalsFile)
	t.Setenv("SCALED_LOG_LEVEL", "loud")
	_, err := Load(file, nil)
	if diff := cmp.Diff([]string{`log.level: "loud": must be one of debug, info, warn, error`}, messages(err)); diff != "" {
		t.Errorf("Load error (-want +got):\n%s", diff)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte(`
scalers:
  - name: a
    target: {kind: kubernetes, kubernetes: {api_version: apps/v1, kind: Deployment, name: web}}
    signals: [{name: s, replay: {trace: t.csv}}]
  - name: b
    bounds: {min: 0}
    behavior:
      scale_up: {select_policy: Disabled}
      scale_down: {stabilization_window: 1m, policies: [{type: Pods, value: 1, period: 1m}]}
    on_failure: {mode: fallback}
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Scalers[0], c.Scalers[1]
	if a.Bounds.Min != 1 || b.Bounds.Min != 0 {
		t.Errorf("bounds.min = %d, %d; want the default 1 when unset and an explicit 0 kept", a.Bounds.Min, b.Bounds.Min)
	}
	if a.Combine != "max" || a.OnFailure.Mode != "hold" || b.OnFailure.Mode != "fallback" {
		t.Errorf("combine %q, on_failure %q, %q; want max, hold, fallback", a.Combine, a.OnFailure.Mode, b.OnFailure.Mode)
	}
	if ns := a.Target.Spec.(*actuators.KubernetesTarget).Namespace; ns != "default" {
		t.Errorf("namespace = %q, want default", ns)
	}
	if diff := cmp.Diff(SignalSource{Kind: "replay", Spec: &sources.ReplaySpec{Trace: "t.csv", Speed: 1, Expr: "value"}}, a.Signals[0].Source,
		cmp.AllowUnexported(SignalSource{})); diff != "" {
		t.Errorf("replay defaults (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Behavior{ScaleUp: DefaultScaleUp(), ScaleDown: DefaultScaleDown()}, a.Behavior); diff != "" {
		t.Errorf("unset behaviour is not HPA's (-want +got):\n%s", diff)
	}
	up := DefaultScaleUp()
	up.SelectPolicy = "Disabled"
	down := &ScalingRules{StabilizationWindow: ptr(time.Minute), SelectPolicy: "Max",
		Policies: []RatePolicy{{Type: "Pods", Value: 1, Period: time.Minute}}, Tolerance: ptr(0.1)}
	if diff := cmp.Diff(Behavior{ScaleUp: up, ScaleDown: down}, b.Behavior); diff != "" {
		t.Errorf("partly written behaviour is not filled field by field (-want +got):\n%s", diff)
	}
	// prometheus/common's defaults, but for redirects, which scaled does
	// not follow unless told to.
	if c.Prometheus.HTTP.FollowRedirects != false || c.Prometheus.HTTP.EnableHTTP2 != true {
		t.Errorf("http_config without scaled's defaults: %+v", c.Prometheus.HTTP)
	}
}

func TestParseEmpty(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(globalsOf(Defaults()), globalsOf(c)); diff != "" {
		t.Errorf("empty file (-want +got):\n%s", diff)
	}
}

func TestLoadHTTPConfig(t *testing.T) {
	c, err := Load("../../testdata/config/http_config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Prometheus.HTTP
	// Validate turns bearer_token_file into authorization; SetDirectory
	// anchors it at the config file.
	if h.Authorization == nil || h.Authorization.CredentialsFile != filepath.Join("../../testdata/config", "secrets/token") {
		t.Errorf("authorization = %+v, want the token file relative to the config", h.Authorization)
	}
	if h.TLSConfig.CAFile != "/etc/ssl/ca.pem" || h.TLSConfig.ServerName != "mimir.example.com" {
		t.Errorf("tls_config = %+v", h.TLSConfig)
	}
	if h.ProxyURL.URL == nil || h.ProxyURL.String() != "http://proxy.example.com:3128" {
		t.Errorf("proxy_url = %v", h.ProxyURL)
	}
	if got := h.HTTPHeaders.Headers["X-Scope-OrgID"].Values; len(got) != 1 || got[0] != "team-a" {
		t.Errorf("http_headers = %+v, want X-Scope-OrgID kept in its case", h.HTTPHeaders.Headers)
	}
}

func TestLoadResolvesTracePaths(t *testing.T) {
	c, err := Load("../../examples/demo.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Scalers[0].Signals[0].Source.Spec.(*sources.ReplaySpec).Trace
	if want := filepath.Join("../../examples", "../testdata/traces/demo.csv"); got != want {
		t.Errorf("trace = %q, want %q", got, want)
	}
	if _, err := os.Stat(got); err != nil {
		t.Errorf("the demo trace is not where the demo config says: %v", err)
	}
}

func TestExamplesAreValid(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	more, _ := filepath.Glob("../../testdata/config/*.yaml")
	for _, f := range append(files, more...) {
		if strings.Contains(f, "many_problems") {
			continue
		}
		if _, err := Load(f, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if len(files) < 2 {
		t.Errorf("found %d examples, want scaled.yaml and demo.yaml", len(files))
	}
}

func TestEqualAndDiff(t *testing.T) {
	old := validConfig(t)
	same := validConfig(t)
	if !old.Scalers[0].Equal(same.Scalers[0]) {
		t.Error("the same scaler parsed twice is not Equal")
	}
	changed := validConfig(t)
	*changed.Scalers[0].Behavior.ScaleDown.StabilizationWindow = time.Minute
	if old.Scalers[0].Equal(changed.Scalers[0]) {
		t.Error("a changed stabilisation window (behind a pointer) is still Equal")
	}
	next := validConfig(t).Scalers
	next[0].Bounds.Max = 20
	added := next[0]
	added.Name = "api"
	kept := old.Scalers[0]
	kept.Name = "kept"
	before := []Scaler{old.Scalers[0], kept, {Name: "gone"}}
	after := []Scaler{next[0], added, kept}
	want := ScalerDiff{Added: []string{"api"}, Removed: []string{"gone"}, Changed: []string{"web"}, Unchanged: []string{"kept"}}
	if diff := cmp.Diff(want, DiffScalers(before, after)); diff != "" {
		t.Errorf("DiffScalers (-want +got):\n%s", diff)
	}
}

func TestInheritedKeys(t *testing.T) {
	c := validConfig(t)
	s := c.Scalers[0]
	resolve := func() resolved.Scaler {
		t.Helper()
		r, err := c.Resolve(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if got := resolve().Interval; got != DefaultInterval {
		t.Errorf("interval = %s, want the global %s", got, DefaultInterval)
	}
	s.Interval = time.Minute
	if got := resolve().Interval; got != time.Minute {
		t.Errorf("interval = %s, want the scaler's 1m", got)
	}
	for _, tc := range []struct {
		global bool
		own    *bool
		want   bool
	}{{false, nil, false}, {false, ptr(true), true}, {true, nil, true}, {true, ptr(false), true}} {
		c.DryRun, s.DryRun = tc.global, tc.own
		if got := resolve().DryRun; got != tc.want {
			t.Errorf("dry run (global %v, own %v) = %v, want %v", tc.global, tc.own, got, tc.want)
		}
	}
}
