package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/pkg/policy"
)

// HPA's own limits (k8s.io/kubernetes pkg/apis/autoscaling/validation).
const (
	MaxRatePeriod          = 1800 * time.Second
	MaxStabilizationWindow = 3600 * time.Second
)

// Limits of scaled itself.
const (
	MinInterval        = time.Second
	MaxDecisionHistory = 10000
	// MaxStartupDelay bounds scalers[].startup_delay: capacity that takes
	// longer than this to serve is planned by schedules, not by a forecast.
	MaxStartupDelay = time.Hour
)

var (
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"json", "console"}
	targetKinds  = []string{"log", "kubernetes", "aurora", "rds", "lambda"}
	policyTypes  = []string{"target_tracking", "pid", "step", "predictive"}
	targetTypes  = []string{"value", "average_value", "utilization"}
	combines     = []string{"max", "min", "priority"}
	selects      = []string{"Max", "Min", "Disabled"}
	rateTypes    = []string{"Pods", "Percent"}
	failureModes = []string{"hold", "fallback"}

	// The forms the replay source understands (pkg/sources.Replay); the
	// source reads anything else as the raw value, a typo here is refused.
	replayExprRE = regexp.MustCompile(`^\s*(value|rate)\s*(?:[*/]\s*(\S+))?\s*$`)

	// Names become label values and log fields; keep them plain.
	nameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
)

// FieldError is one problem with one field: `path: value: what is allowed`.
type FieldError struct {
	Path  string // e.g. scalers[2].policies[0].target_tracking.target
	Value string // the offending value as written in messages ("" for none)
	Msg   string // what is allowed
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Path + ": " + e.Msg
	}
	return e.Path + ": " + e.Value + ": " + e.Msg
}

// problems collects FieldErrors.
type problems []error

func (p *problems) add(path string, value any, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Value: show(value), Msg: fmt.Sprintf(format, args...)})
}

// show formats a value for a message: strings quoted, so that an empty one
// is visible; absent blocks as null.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	case time.Duration:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case noValue:
		return ""
	case presence:
		return "present"
	}
	return fmt.Sprint(v)
}

// noValue marks a problem whose value is not worth repeating.
type noValue struct{}

// presence stands for a block that is set where it must not be.
type presence struct{}

var present presence

func oneOf(allowed []string) string {
	return "must be one of " + strings.Join(allowed, ", ")
}

// Validate checks every field of c and returns all problems at once, joined
// with errors.Join; each is a *FieldError. It never opens a file.
func Validate(c *Config) error {
	if c == nil {
		return errors.New("config: null: want a config")
	}
	var p problems
	validateGlobal(&p, c)
	validateLeaderElection(&p, &c.LeaderElection)
	names := map[string]int{}
	for i := range c.Scalers {
		s := &c.Scalers[i]
		uniqueName(&p, names, "scalers", i, s.Name)
		validateScaler(&p, fmt.Sprintf("scalers[%d]", i), s)
	}
	return errors.Join(p...)
}

func validateGlobal(p *problems, c *Config) {
	needer := ""
	for i, s := range c.Scalers {
		for j, sig := range s.Signals {
			if sig.Replay == nil && needer == "" {
				needer = fmt.Sprintf("scalers[%d].signals[%d]", i, j)
			}
		}
	}
	switch u := c.Prometheus.URL; {
	case u == "" && needer != "":
		p.add("prometheus.url", u, "must be set: %s queries Prometheus", needer)
	case u != "":
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			p.add("prometheus.url", u, "must be an http or https URL with a host")
		}
	}
	if c.Prometheus.QueryTimeout <= 0 {
		p.add("prometheus.query_timeout", c.Prometheus.QueryTimeout, "must be > 0")
	}
	// The decoder already ran this; it also guards configs built in code.
	if err := c.Prometheus.HTTP.Validate(); err != nil {
		p.add("prometheus.http_config", noValue{}, "%v", err)
	}
	if c.Interval < MinInterval {
		p.add("interval", c.Interval, "must be >= %s", MinInterval)
	}
	if err := checkListen(c.Listen); err != nil {
		p.add("listen", c.Listen, "%v", err)
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		p.add("log.level", c.Log.Level, "%s", oneOf(logLevels))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		p.add("log.format", c.Log.Format, "%s", oneOf(logFormats))
	}
	if c.DecisionHistory < 0 || c.DecisionHistory > MaxDecisionHistory {
		p.add("decision_history", c.DecisionHistory, "must be in 0..%d", MaxDecisionHistory)
	}
}

func checkListen(addr string) error {
	const want = "must be host:port (host may be empty) with a port in 0..65535"
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New(want)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New(want)
	}
	return nil
}

func checkName(p *problems, path, name string) {
	switch {
	case name == "":
		p.add(path, name, "must not be empty")
	case !nameRE.MatchString(name):
		p.add(path, name, "must use only letters, digits, '_', '.' and '-'")
	}
}

// uniqueName checks the name of item i of the list at listPath and that no
// earlier item has it; seen maps names to their first index. It reports
// whether the name was new (and not empty).
func uniqueName(p *problems, seen map[string]int, listPath string, i int, name string) bool {
	itemPath := fmt.Sprintf("%s[%d].name", listPath, i)
	checkName(p, itemPath, name)
	if name == "" {
		return false
	}
	if j, dup := seen[name]; dup {
		p.add(itemPath, name, "duplicate of %s[%d].name", listPath, j)
		return false
	}
	seen[name] = i
	return true
}

// validateScaler checks one scaler; its name is checked by the caller,
// which knows the other scalers' names.
func validateScaler(p *problems, path string, s *Scaler) {
	validateTarget(p, path+".target", &s.Target)
	validateAWSTarget(p, path+".target", &s.Target, s.Name) // aws.go

	signals := map[string]int{}
	var signalNames []string
	for j := range s.Signals {
		sig := &s.Signals[j]
		sp := fmt.Sprintf("%s.signals[%d]", path, j)
		if uniqueName(p, signals, path+".signals", j, sig.Name) {
			signalNames = append(signalNames, sig.Name)
		}
		validateSignal(p, sp, sig)
	}

	if len(s.Policies) == 0 {
		p.add(path+".policies", noValue{}, "must list at least one policy")
	}
	policies := map[string]int{}
	for k := range s.Policies {
		pol := &s.Policies[k]
		pp := fmt.Sprintf("%s.policies[%d]", path, k)
		uniqueName(p, policies, path+".policies", k, pol.Name)
		validatePolicy(p, pp, pol, signals, signalNames)
		validatePolicyBlocks(p, pp, pol, signals, signalNames) // policies.go
		validatePredictive(p, pp, pol, signals, signalNames)   // predictive.go
	}
	validateSchedules(p, path, s) // policies.go

	if !slices.Contains(combines, s.Combine) {
		p.add(path+".combine", s.Combine, "%s", oneOf(combines))
	}
	b := s.Bounds
	if b.Min < 0 {
		p.add(path+".bounds.min", b.Min, "must be >= 0")
	}
	if b.Max < 1 {
		p.add(path+".bounds.max", b.Max, "must be >= 1")
	}
	if b.Min > b.Max && b.Max >= 1 {
		p.add(path+".bounds.min", b.Min, "must be <= bounds.max (%d)", b.Max)
	}
	validateRules(p, path+".behavior.scale_up", s.Behavior.ScaleUp)
	validateRules(p, path+".behavior.scale_down", s.Behavior.ScaleDown)
	if up := s.Behavior.ScaleUp; up != nil && up.StartupHold != 0 {
		p.add(path+".behavior.scale_up.startup_hold", up.StartupHold, "must be unset: only a scale-down is held for the startup delay")
	}
	if down := s.Behavior.ScaleDown; down != nil && !(down.StartupHold >= 0 && down.StartupHold <= policy.MaxStartupHold) {
		p.add(path+".behavior.scale_down.startup_hold", down.StartupHold, "must be in 0..%d startup delays", policy.MaxStartupHold)
	}

	f := s.OnFailure
	switch f.Mode {
	case "fallback":
		// With broken bounds the range means nothing; that is reported already.
		if b.Min <= b.Max && (f.Fallback < b.Min || f.Fallback > b.Max) {
			p.add(path+".on_failure.fallback", f.Fallback, "must be within bounds %d..%d", b.Min, b.Max)
		}
	case "hold":
		if f.Fallback != 0 {
			p.add(path+".on_failure.fallback", f.Fallback, "must be unset unless mode is fallback")
		}
	default:
		p.add(path+".on_failure.mode", f.Mode, "%s", oneOf(failureModes))
	}
	if s.Interval != 0 && s.Interval < MinInterval {
		p.add(path+".interval", s.Interval, "must be >= %s, or unset to use the global interval", MinInterval)
	}
	if s.StartupDelay < 0 || s.StartupDelay > MaxStartupDelay {
		p.add(path+".startup_delay", s.StartupDelay, "must be in 0s..%s (0: the target kind's)", MaxStartupDelay)
	}
}

func validateTarget(p *problems, path string, t *Target) {
	blocks := []struct {
		kind string
		set  bool
	}{
		{"log", t.Log != nil},
		{"kubernetes", t.Kubernetes != nil},
		{"aurora", t.Aurora != nil},
		{"rds", t.RDS != nil},
		{"lambda", t.Lambda != nil},
	}
	if !slices.Contains(targetKinds, t.Kind) {
		p.add(path+".kind", t.Kind, "%s", oneOf(targetKinds))
	}
	for _, b := range blocks {
		switch {
		case b.kind == t.Kind && !b.set:
			p.add(path+"."+b.kind, nil, "must be set when kind is %s", b.kind)
		case b.kind != t.Kind && b.set:
			p.add(path+"."+b.kind, present, "must be absent when kind is %q", t.Kind)
		}
	}
	if l := t.Log; l != nil && l.Initial < 0 {
		p.add(path+".log.initial", l.Initial, "must be >= 0")
	}
	if k := t.Kubernetes; k != nil {
		kp := path + ".kubernetes"
		if gv := k.APIVersion; gv == "" || strings.Count(gv, "/") > 1 || strings.HasPrefix(gv, "/") || strings.HasSuffix(gv, "/") {
			p.add(kp+".api_version", gv, "must be version or group/version, e.g. apps/v1")
		}
		nonEmpty(p, kp+".kind", k.Kind)
		nonEmpty(p, kp+".namespace", k.Namespace)
		nonEmpty(p, kp+".name", k.Name)
	}
	if a := t.Aurora; a != nil {
		nonEmpty(p, path+".aurora.cluster_identifier", a.ClusterIdentifier)
	}
	if r := t.RDS; r != nil {
		nonEmpty(p, path+".rds.source_instance", r.SourceInstance)
	}
	if l := t.Lambda; l != nil {
		nonEmpty(p, path+".lambda.function_name", l.FunctionName)
		switch l.Qualifier {
		case "":
			p.add(path+".lambda.qualifier", l.Qualifier, "must name an alias or a version")
		case "$LATEST":
			p.add(path+".lambda.qualifier", l.Qualifier, "must name an alias or a version: $LATEST cannot have provisioned concurrency")
		}
	}
}

func nonEmpty(p *problems, path, v string) {
	if v == "" {
		p.add(path, v, "must not be empty")
	}
}

func validateSignal(p *problems, path string, s *Signal) {
	switch {
	case s.Replay == nil && strings.TrimSpace(s.Query) == "":
		p.add(path+".query", s.Query, "must not be empty unless replay is set")
	case s.Replay != nil && s.Query != "":
		p.add(path+".replay", present, "must be absent when query is set")
	}
	if s.MaxAge < 0 {
		p.add(path+".max_age", s.MaxAge, "must be >= 0")
	}
	if r := s.Replay; r != nil {
		nonEmpty(p, path+".replay.trace", r.Trace)
		positive(p, path+".replay.speed", r.Speed)
		if !validReplayExpr(r.Expr) {
			p.add(path+".replay.expr", r.Expr, "must be value or rate, optionally followed by * F or / F with F a finite number > 0")
		}
	}
}

func positive(p *problems, path string, v float64) {
	switch {
	case !(v > 0): // also NaN
		p.add(path, v, "must be > 0")
	case math.IsInf(v, 0):
		p.add(path, v, "must be finite")
	}
}

func validReplayExpr(expr string) bool {
	m := replayExprRE.FindStringSubmatch(expr)
	if m == nil {
		return false
	}
	if m[2] == "" {
		return true
	}
	f, err := strconv.ParseFloat(m[2], 64)
	return err == nil && f > 0 && !math.IsInf(f, 0)
}

func validatePolicy(p *problems, path string, pol *Policy, signals map[string]int, signalNames []string) {
	if !slices.Contains(policyTypes, pol.Type) {
		p.add(path+".type", pol.Type, "%s", oneOf(policyTypes))
	}
	if pol.Type == "target_tracking" && pol.TargetTracking == nil {
		p.add(path+".target_tracking", nil, "must be set when type is target_tracking")
	}
	if pol.Type != "target_tracking" && pol.TargetTracking != nil {
		p.add(path+".target_tracking", present, "must be absent when type is %q", pol.Type)
	}
	if tt := pol.TargetTracking; tt != nil {
		tp := path + ".target_tracking"
		if _, ok := signals[tt.Signal]; !ok {
			if len(signalNames) == 0 {
				p.add(tp+".signal", tt.Signal, "must name one of the scaler's signals, and it has none")
			} else {
				p.add(tp+".signal", tt.Signal, "must name one of the scaler's signals: %s", strings.Join(signalNames, ", "))
			}
		}
		if !slices.Contains(targetTypes, tt.TargetType) {
			p.add(tp+".target_type", tt.TargetType, "%s", oneOf(targetTypes))
		}
		positive(p, tp+".target", tt.Target)
	}
}

func validateRules(p *problems, path string, r *ScalingRules) {
	if r == nil {
		return // ApplyDefaults fills it
	}
	if w := r.StabilizationWindow; w != nil && (*w < 0 || *w > MaxStabilizationWindow) {
		p.add(path+".stabilization_window", *w, "must be in 0s..%s", MaxStabilizationWindow)
	}
	if !slices.Contains(selects, r.SelectPolicy) {
		p.add(path+".select_policy", r.SelectPolicy, "%s", oneOf(selects))
	}
	if r.Policies != nil && len(r.Policies) == 0 {
		p.add(path+".policies", noValue{}, "must list at least one policy (leave it out for the defaults; select_policy: Disabled forbids this direction)")
	}
	for i, rp := range r.Policies {
		pp := fmt.Sprintf("%s.policies[%d]", path, i)
		if !slices.Contains(rateTypes, rp.Type) {
			p.add(pp+".type", rp.Type, "%s", oneOf(rateTypes))
		}
		if rp.Value <= 0 {
			p.add(pp+".value", rp.Value, "must be > 0")
		}
		if rp.Period <= 0 || rp.Period > MaxRatePeriod {
			p.add(pp+".period", rp.Period, "must be in (0s, %s]", MaxRatePeriod)
		}
	}
	if t := r.Tolerance; t != nil && !(*t >= 0 && *t < 1) {
		p.add(path+".tolerance", *t, "must be in [0, 1)")
	}
}
