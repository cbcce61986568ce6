package config

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/sigv4"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// validYAML is a config that passes Validate; each case below breaks it in
// one place.
const validYAML = `
prometheus:
  url: http://prom:9090
scalers:
  - name: web
    target: {kind: log, log: {initial: 2}}
    signals:
      - {name: rps, query: 'sum(rate(http_requests_total[1m]))'}
      - {name: p95, query: 'histogram_quantile(0.95, x)'}
    policies:
      - name: rps
        type: target_tracking
        target_tracking: {signal: rps, target_type: average_value, target: 10}
    bounds: {max: 10}
`

func validConfig(t *testing.T) *Config {
	t.Helper()
	c, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := Validate(c); err != nil {
		t.Fatalf("the base config must be valid: %v", err)
	}
	return c
}

// messages splits a joined error into its messages.
func messages(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

func ptr[T any](v T) *T { return &v }

func TestValidateMessages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"valid", func(c *Config) {}, nil},
		{"url missing while a signal queries Prometheus", func(c *Config) { c.Prometheus.URL = "" },
			[]string{`prometheus.url: "": must be set: scalers[0].signals[0] queries Prometheus`}},
		{"url missing when every signal is a replay", func(c *Config) {
			c.Prometheus.URL = ""
			for i := range c.Scalers[0].Signals {
				c.Scalers[0].Signals[i].Source = replay(sources.ReplaySpec{Trace: "t.csv", Speed: 1, Expr: "value"})
			}
		}, nil},
		{"url scheme", func(c *Config) { c.Prometheus.URL = "ftp://prom" },
			[]string{`prometheus.url: "ftp://prom": must be an http or https URL with a host`}},
		{"url without host", func(c *Config) { c.Prometheus.URL = "http://" },
			[]string{`prometheus.url: "http://": must be an http or https URL with a host`}},
		{"query timeout", func(c *Config) { c.Prometheus.QueryTimeout = 0 },
			[]string{`prometheus.query_timeout: 0s: must be > 0`}},
		{"http config", func(c *Config) { c.Prometheus.HTTP.BearerToken = "x"; c.Prometheus.HTTP.BearerTokenFile = "f" },
			[]string{`prometheus.http_config: at most one of bearer_token & bearer_token_file must be configured`}},
		{"query limits", func(c *Config) {
			c.Prometheus.MaxConcurrentQueries = 0
			c.Prometheus.MaxQueriesPerSecond = math.NaN()
		}, []string{
			`prometheus.max_concurrent_queries: 0: must be >= 1`,
			`prometheus.max_queries_per_second: NaN: must be a number > 0`,
		}},
		{"sigv4 with another authorisation", func(c *Config) {
			c.Prometheus.SigV4 = &sigv4.SigV4Config{Region: "eu-west-1", AccessKey: "AKID"}
			c.Prometheus.HTTP.BasicAuth = &promconfig.BasicAuth{Username: "u"}
		}, []string{
			`prometheus.sigv4: must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config`,
			`prometheus.http_config.basic_auth: present: must be absent when prometheus.sigv4 is set: requests are signed with SigV4`,
		}},
		{"aws request budgets and listing age", func(c *Config) {
			c.AWS.RDS.RequestsPerSecond = 0
			c.AWS.Lambda.RequestsPerSecond = math.Inf(1)
			c.AWS.Lambda.Burst = 0
			c.AWS.ListingMaxAge = 15 * time.Second
		}, []string{
			`aws.rds.requests_per_second: 0: must be a number > 0 (AWS allows 12 per second per account and region, for every caller together)`,
			`aws.lambda.requests_per_second: +Inf: must be a number > 0 (AWS allows 15 per second per account and region, for every caller together)`,
			`aws.lambda.burst: 0: must be >= 1`,
			`aws.listing_max_age: 15s: must be less than interval (15s), so that each tick reads a listing made since the last one (or left out: half the interval)`,
		}},
		{"interval", func(c *Config) { c.Interval = 500 * time.Millisecond },
			[]string{`interval: 500ms: must be between 1s and 1h`}},
		{"listen without port", func(c *Config) { c.Listen = "9464" },
			[]string{`listen: "9464": must be host:port (host may be empty) with a port in 0..65535`}},
		{"listen port range", func(c *Config) { c.Listen = ":99999" },
			[]string{`listen: ":99999": must be host:port (host may be empty) with a port in 0..65535`}},
		{"log level", func(c *Config) { c.Log.Level = "verbose" },
			[]string{`log.level: "verbose": must be one of debug, info, warn, error`}},
		{"log format", func(c *Config) { c.Log.Format = "text" },
			[]string{`log.format: "text": must be one of json, console`}},
		{"decision history", func(c *Config) { c.DecisionHistory = -1 },
			[]string{`decision_history: -1: must be in 0..10000`}},
		{"scaler name empty", func(c *Config) { c.Scalers[0].Name = "" },
			[]string{`scalers[0].name: "": must not be empty`}},
		{"scaler name characters", func(c *Config) { c.Scalers[0].Name = "web server" },
			[]string{`scalers[0].name: "web server": must use only letters, digits, '_', '.' and '-'`}},
		{"scaler name duplicate", func(c *Config) { c.Scalers = append(c.Scalers, c.Scalers[0]) },
			[]string{`scalers[1].name: "web": duplicate of scalers[0].name`}},
		{"target kind", func(c *Config) { c.Scalers[0].Target.Kind = "k8s" },
			[]string{`scalers[0].target.kind: "k8s": must be one of ` + registered(actuators.Kinds()),
				`scalers[0].target.log: present: must be absent when kind is "k8s"`}},
		{"target block missing and another present", func(c *Config) { c.Scalers[0].Target.Kind = "kubernetes" },
			[]string{`scalers[0].target.kubernetes: null: must be set when kind is kubernetes`,
				`scalers[0].target.log: present: must be absent when kind is "kubernetes"`}},
		{"log initial", func(c *Config) { c.Scalers[0].Target.Spec.(*actuators.LogTarget).Initial = -1 },
			[]string{`scalers[0].target.log.initial: -1: must be >= 0`}},
		{"kubernetes fields", func(c *Config) {
			c.Scalers[0].Target = Target{Kind: "kubernetes", Spec: &actuators.KubernetesTarget{APIVersion: "a/b/c"}}
		}, []string{
			`scalers[0].target.kubernetes.api_version: "a/b/c": must be version or group/version, e.g. apps/v1`,
			`scalers[0].target.kubernetes.kind: "": must not be empty`,
			`scalers[0].target.kubernetes.namespace: "": must not be empty`,
			`scalers[0].target.kubernetes.name: "": must not be empty`,
		}},
		{"aurora cluster", func(c *Config) { c.Scalers[0].Target = Target{Kind: "aurora", Spec: &actuators.AuroraTarget{}} },
			[]string{`scalers[0].target.aurora.cluster_identifier: "": must not be empty`}},
		{"rds source", func(c *Config) { c.Scalers[0].Target = Target{Kind: "rds", Spec: &actuators.RDSTarget{}} },
			[]string{`scalers[0].target.rds.source_instance: "": must not be empty`}},
		{"lambda latest", func(c *Config) {
			c.Scalers[0].Target = Target{Kind: "lambda", Spec: &actuators.LambdaTarget{FunctionName: "f", Qualifier: "$LATEST"}}
		}, []string{`scalers[0].target.lambda.qualifier: "$LATEST": must name an alias or a version: $LATEST cannot have provisioned concurrency`}},
		{"lambda fields", func(c *Config) { c.Scalers[0].Target = Target{Kind: "lambda", Spec: &actuators.LambdaTarget{}} },
			[]string{`scalers[0].target.lambda.function_name: "": must not be empty`,
				`scalers[0].target.lambda.qualifier: "": must name an alias or a version`}},
		{"signal name", func(c *Config) { c.Scalers[0].Signals[1].Name = "" },
			[]string{`scalers[0].signals[1].name: "": must not be empty`}},
		{"signal name duplicate", func(c *Config) { c.Scalers[0].Signals[1].Name = "rps" },
			[]string{`scalers[0].signals[1].name: "rps": duplicate of scalers[0].signals[0].name`}},
		{"answer limit", func(c *Config) { c.Prometheus.MaxResponseBytes = 16 << 20 }, nil},
		{"answer limit too small", func(c *Config) { c.Prometheus.MaxResponseBytes = 1000 },
			[]string{`prometheus.max_response_bytes: 1000: must be in 65536..1073741824 (64 KiB..1 GiB), or 0 for the default 4194304 (4 MiB)`}},
		{"answer limit negative", func(c *Config) { c.Prometheus.MaxResponseBytes = -1 },
			[]string{`prometheus.max_response_bytes: -1: must be in 65536..1073741824 (64 KiB..1 GiB), or 0 for the default 4194304 (4 MiB)`}},
		{"answer limit too large", func(c *Config) { c.Prometheus.MaxResponseBytes = 2 << 30 },
			[]string{`prometheus.max_response_bytes: 2147483648: must be in 65536..1073741824 (64 KiB..1 GiB), or 0 for the default 4194304 (4 MiB)`}},
		{"signal query", func(c *Config) { *c.Scalers[0].Signals[1].Source.Spec.(*sources.QuerySpec) = " " },
			[]string{`scalers[0].signals[1].query: " ": must not be empty`}},
		{"signal without a source", func(c *Config) { c.Scalers[0].Signals[1].Source = SignalSource{} },
			[]string{`scalers[0].signals[1]: must set one of ` + registered(sources.Kinds())}},
		{"signal query and replay", func(c *Config) { c.Scalers[0].Signals[1].Source.others = []string{"replay"} },
			[]string{`scalers[0].signals[1].replay: present: must be absent when query is set`}},
		{"signal max age", func(c *Config) { c.Scalers[0].Signals[0].MaxAge = -time.Second },
			[]string{`scalers[0].signals[0].max_age: -1s: must be >= 0`}},
		{"valid range, both ends", func(c *Config) { c.Scalers[0].Signals[0].ValidRange = &ValidRange{Min: ptr(-1.5), Max: ptr(2.0)} }, nil},
		{"valid range, max only", func(c *Config) { c.Scalers[0].Signals[0].ValidRange = &ValidRange{Max: ptr(1.0)} }, nil},
		{"valid range, max below the default min", func(c *Config) { c.Scalers[0].Signals[0].ValidRange = &ValidRange{Max: ptr(-1.0)} },
			[]string{`scalers[0].signals[0].valid_range.max: -1: must be > valid_range.min, which defaults to 0 (set min for a range below 0)`}},
		{"valid range, max not above min", func(c *Config) { c.Scalers[0].Signals[1].ValidRange = &ValidRange{Min: ptr(3.0), Max: ptr(3.0)} },
			[]string{`scalers[0].signals[1].valid_range.max: 3: must be > valid_range.min (3)`}},
		{"valid range, not finite", func(c *Config) {
			c.Scalers[0].Signals[0].ValidRange = &ValidRange{Min: ptr(math.Inf(-1)), Max: ptr(math.NaN())}
		}, []string{
			`scalers[0].signals[0].valid_range.min: -Inf: must be a finite number (leave it out for no bound)`,
			`scalers[0].signals[0].valid_range.max: NaN: must be a finite number (leave it out for no bound)`,
		}},
		{"signal max age below the interval", func(c *Config) { c.Scalers[0].Signals[0].MaxAge = 10 * time.Second },
			[]string{`scalers[0].signals[0].max_age: 10s: must be 0 or at least the scaler's interval (15s): Prometheus is asked at the interval's grid, up to one interval before the tick`}},
		{"grouped fields", func(c *Config) {
			c.Scalers[0].Signals[1].Source = SignalSource{Kind: sources.KindGrouped, Spec: &sources.GroupedSpec{}}
		}, []string{
			`scalers[0].signals[1].grouped.query: "": must not be empty`,
			`scalers[0].signals[1].grouped.select: "": must select the signal's series: a mapping such as {deployment: web} or a string such as '{deployment="web"}'`,
		}},
		{"grouped select", func(c *Config) {
			c.Scalers[0].Signals[1].Source = SignalSource{Kind: sources.KindGrouped, Spec: &sources.GroupedSpec{
				Query: "sum by (deployment) (x", Select: sources.Selection{Matchers: `{deployment=~"web(", 2x="y"}`}}}
		}, []string{
			`scalers[0].signals[1].grouped.query: "sum by (deployment) (x": not valid PromQL: 1:23: parse error: unclosed left parenthesis`,
			`scalers[0].signals[1].grouped.select: "{deployment=~\"web(\", 2x=\"y\"}": regular expression of deployment: error parsing regexp: missing closing ): ` + "`^(?s:web()$`",
			`scalers[0].signals[1].grouped.select: "{deployment=~\"web(\", 2x=\"y\"}": at "2x=\"y\"": want a label name`,
		}},
		{"grouped select that takes unlabelled series", func(c *Config) {
			c.Scalers[0].Signals[1].Source = SignalSource{Kind: sources.KindGrouped, Spec: &sources.GroupedSpec{
				Query: "sum by (deployment) (x)", Select: sources.Selection{Labels: map[string]string{"deployment": "", "0x": "a"}}}}
		}, []string{
			`scalers[0].signals[1].grouped.select[0x]: "0x": must be a label name: letters, digits and '_', not starting with a digit`,
		}},
		{"replay fields", func(c *Config) {
			c.Scalers[0].Signals[1].Source = replay(sources.ReplaySpec{Speed: 0, Expr: "sum(rate(x[1m]))"})
		}, []string{
			`scalers[0].signals[1].replay.trace: "": must not be empty`,
			`scalers[0].signals[1].replay.speed: 0: must be > 0`,
			`scalers[0].signals[1].replay.expr: "sum(rate(x[1m]))": must be value or rate, optionally followed by * F or / F with F a finite number > 0`,
		}},
		{"replay expr factor", func(c *Config) {
			c.Scalers[0].Signals[1].Source = replay(sources.ReplaySpec{Trace: "t.csv", Speed: math.Inf(1), Expr: "rate / 0"})
		}, []string{
			`scalers[0].signals[1].replay.speed: +Inf: must be finite`,
			`scalers[0].signals[1].replay.expr: "rate / 0": must be value or rate, optionally followed by * F or / F with F a finite number > 0`,
		}},
		{"no policy", func(c *Config) { c.Scalers[0].Policies = nil },
			[]string{`scalers[0].policies: must list at least one policy`}},
		{"policy name duplicate", func(c *Config) { c.Scalers[0].Policies = append(c.Scalers[0].Policies, c.Scalers[0].Policies[0]) },
			[]string{`scalers[0].policies[1].name: "rps": duplicate of scalers[0].policies[0].name`}},
		{"policy type", func(c *Config) { c.Scalers[0].Policies[0].Type = "magic" },
			[]string{`scalers[0].policies[0].type: "magic": must be one of ` + registered(policy.Types()),
				`scalers[0].policies[0].target_tracking: present: must be absent when type is "magic"`}},
		{"policy block missing", func(c *Config) { c.Scalers[0].Policies[0].Spec = nil },
			[]string{`scalers[0].policies[0].target_tracking: null: must be set when type is target_tracking`}},
		{"policy signal", func(c *Config) { tt(c).Signal = "qps" },
			[]string{`scalers[0].policies[0].target_tracking.signal: "qps": must name one of the scaler's signals: rps, p95`}},
		{"policy signal when there are none", func(c *Config) { c.Scalers[0].Signals = nil },
			[]string{`scalers[0].policies[0].target_tracking.signal: "rps": must name one of the scaler's signals, and it has none`}},
		{"target type", func(c *Config) { tt(c).TargetType = "AverageValue" },
			[]string{`scalers[0].policies[0].target_tracking.target_type: "AverageValue": must be one of value, average_value, utilization`}},
		{"target negative", func(c *Config) { tt(c).Target = -1 },
			[]string{`scalers[0].policies[0].target_tracking.target: -1: must be > 0`}},
		{"target NaN", func(c *Config) { tt(c).Target = math.NaN() },
			[]string{`scalers[0].policies[0].target_tracking.target: NaN: must be > 0`}},
		{"combine", func(c *Config) { c.Scalers[0].Combine = "avg" },
			[]string{`scalers[0].combine: "avg": must be one of max, min, priority`}},
		{"bounds negative min and zero max", func(c *Config) { c.Scalers[0].Bounds = Bounds{Min: -1, Max: 0} },
			[]string{`scalers[0].bounds.min: -1: must be >= 0`, `scalers[0].bounds.max: 0: must be >= 1`}},
		{"bounds min above max", func(c *Config) { c.Scalers[0].Bounds = Bounds{Min: 5, Max: 3} },
			[]string{`scalers[0].bounds.min: 5: must be <= bounds.max (3)`}},
		{"bounds min zero is allowed", func(c *Config) { c.Scalers[0].Bounds.Min = 0 }, nil},
		{"bounds above the target kind's ceiling", func(c *Config) {
			c.Scalers[0].Target = Target{Kind: actuators.KindAurora, Spec: &actuators.AuroraTarget{ClusterIdentifier: "orders"}}
			c.Scalers[0].Target.Spec.Default("web")
			c.Scalers[0].Bounds.Max = 16
		}, []string{`scalers[0].bounds.max: 16: must be <= 15: an Aurora cluster has at most 15 readers`}},
		{"stabilization window too long", func(c *Config) { c.Scalers[0].Behavior.ScaleDown.StabilizationWindow = ptr(2 * time.Hour) },
			[]string{`scalers[0].behavior.scale_down.stabilization_window: 2h: must be in 0s..1h`}},
		{"stabilization window negative", func(c *Config) { c.Scalers[0].Behavior.ScaleUp.StabilizationWindow = ptr(-time.Second) },
			[]string{`scalers[0].behavior.scale_up.stabilization_window: -1s: must be in 0s..1h`}},
		{"stabilization window at HPA's limit", func(c *Config) { c.Scalers[0].Behavior.ScaleDown.StabilizationWindow = ptr(time.Hour) }, nil},
		{"select policy", func(c *Config) { c.Scalers[0].Behavior.ScaleUp.SelectPolicy = "max" },
			[]string{`scalers[0].behavior.scale_up.select_policy: "max": must be one of Max, Min, Disabled`}},
		{"rate policies empty", func(c *Config) { c.Scalers[0].Behavior.ScaleUp.Policies = []RatePolicy{} },
			[]string{`scalers[0].behavior.scale_up.policies: must list at least one policy (leave it out for the defaults; select_policy: Disabled forbids this direction)`}},
		{"rate policy fields", func(c *Config) {
			c.Scalers[0].Behavior.ScaleDown.Policies = []RatePolicy{{Type: "pods", Value: 0, Period: 0}, {Type: "Percent", Value: 10, Period: 31 * time.Minute}}
		}, []string{
			`scalers[0].behavior.scale_down.policies[0].type: "pods": must be one of Pods, Percent`,
			`scalers[0].behavior.scale_down.policies[0].value: 0: must be > 0`,
			`scalers[0].behavior.scale_down.policies[0].period: 0s: must be in (0s, 30m]`,
			`scalers[0].behavior.scale_down.policies[1].period: 31m: must be in (0s, 30m]`,
		}},
		{"rate period at HPA's limit", func(c *Config) { c.Scalers[0].Behavior.ScaleDown.Policies[0].Period = 30 * time.Minute }, nil},
		{"tolerance", func(c *Config) {
			c.Scalers[0].Behavior.ScaleUp.Tolerance = ptr(math.Inf(1))
			c.Scalers[0].Behavior.ScaleDown.Tolerance = ptr(-0.1)
		}, []string{
			`scalers[0].behavior.scale_up.tolerance: +Inf: must be a finite number >= 0`,
			`scalers[0].behavior.scale_down.tolerance: -0.1: must be a finite number >= 0`,
		}},
		// The HPA takes a tolerance of 1 or more: scale_down then never
		// moves on the ratio.
		{"tolerance of 1 or more, as the HPA", func(c *Config) {
			c.Scalers[0].Behavior.ScaleUp.Tolerance = ptr(1.0)
			c.Scalers[0].Behavior.ScaleDown.Tolerance = ptr(2.5)
		}, nil},
		{"on failure mode", func(c *Config) { c.Scalers[0].OnFailure.Mode = "panic" },
			[]string{`scalers[0].on_failure.mode: "panic": must be one of hold, fallback`}},
		{"fallback outside bounds", func(c *Config) { c.Scalers[0].OnFailure = OnFailure{Mode: "fallback", Fallback: 20} },
			[]string{`scalers[0].on_failure.fallback: 20: must be within bounds 1..10`}},
		{"fallback with hold", func(c *Config) { c.Scalers[0].OnFailure.Fallback = 3 },
			[]string{`scalers[0].on_failure.fallback: 3: must be unset unless mode is fallback`}},
		{"scaler interval", func(c *Config) { c.Scalers[0].Interval = 500 * time.Millisecond },
			[]string{`scalers[0].interval: 500ms: must be between 1s and 1h, or unset to use the global interval`}},
		{"negative startup delay", func(c *Config) { c.Scalers[0].StartupDelay = -time.Second },
			[]string{`scalers[0].startup_delay: -1s: must be in 0s..1h (0: the target kind's)`}},
		{"startup hold", func(c *Config) {
			up, down := DefaultScaleUp(), DefaultScaleDown()
			up.StartupHold, down.StartupHold = 1, 11
			c.Scalers[0].Behavior = Behavior{ScaleUp: up, ScaleDown: down}
		}, []string{
			`scalers[0].behavior.scale_up.startup_hold: 1: must be unset: only a scale-down is held for the startup delay`,
			`scalers[0].behavior.scale_down.startup_hold: 11: must be in 0..10 startup delays`,
		}},
		{"startup delay beyond an hour", func(c *Config) { c.Scalers[0].StartupDelay = 2 * time.Hour },
			[]string{`scalers[0].startup_delay: 2h: must be in 0s..1h (0: the target kind's)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.mutate(c)
			err := Validate(c)
			if diff := cmp.Diff(tc.want, messages(err)); diff != "" {
				t.Errorf("Validate messages (-want +got):\n%s", diff)
			}
			if err != nil {
				var p Problems
				if !errors.As(err, &p) {
					t.Errorf("Validate error %v is not Problems", err)
				}
			}
		})
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c, err := Load("../../testdata/config/many_problems.yaml", nil)
	if c != nil {
		t.Fatalf("Load returned a config for an invalid file")
	}
	want := []string{
		`prometheus.url: "ftp://prometheus": must be an http or https URL with a host`,
		`interval: 500ms: must be between 1s and 1h`,
		`listen: "9464": must be host:port (host may be empty) with a port in 0..65535`,
		`log.level: "verbose": must be one of debug, info, warn, error`,
		`scalers[0].name: "web server": must use only letters, digits, '_', '.' and '-'`,
		`scalers[0].target.kubernetes: null: must be set when kind is kubernetes`,
		`scalers[0].signals[0].query: "": must not be empty`,
		`scalers[0].policies[0].target_tracking.target: -1: must be > 0`,
		`scalers[0].bounds.min: 5: must be <= bounds.max (3)`,
		`scalers[0].behavior.scale_down.stabilization_window: 2h: must be in 0s..1h`,
		`scalers[0].on_failure.mode: "panic": must be one of hold, fallback`,
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("Load error lines (-want +got):\n%s", diff)
	}
}

func TestValidateNil(t *testing.T) {
	if err := Validate(nil); err == nil {
		t.Error("Validate(nil) = nil, want an error")
	}
}

// tt is the target_tracking block of the first policy of the first scaler.
func tt(c *Config) *policy.TargetTrackingSpec {
	return c.Scalers[0].Policies[0].Spec.(*policy.TargetTrackingSpec)
}

func replay(r sources.ReplaySpec) SignalSource {
	return SignalSource{Kind: sources.KindReplay, Spec: &r}
}
