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

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Limits of scaled itself.
const (
	MinInterval        = time.Second
	MaxDecisionHistory = 10000
	// An answer limit below MinResponseBytes would refuse an ordinary
	// answer with a few warnings; one above MaxResponseBytes would let a
	// single query exhaust a pod's memory.
	MinResponseBytes = 64 << 10
	MaxResponseBytes = 1 << 30
	// MaxInterval is the longest tick: a scaler that decides less often
	// than hourly is a schedule, and a longer tick would keep /readyz
	// waiting for its first decision past any probe.
	MaxInterval = time.Hour
)

// Bounds of what one scaler may hold. A Scaler object is written by a
// namespace's users and checked by every replica of scaled: each bound
// keeps what one object costs to check, keep and log small, whoever wrote
// it. The Scaler CRD's schema holds the same bounds (hack/crdgen), so that
// the API server refuses first; a query's own are sources.MaxQueryBytes and
// sources.MaxQueryDepth.
const (
	MaxSignals   = 16
	MaxPolicies  = 16
	MaxSchedules = 32
	// MaxRatePolicies is the most rate limits per direction, as the HPA's
	// behavior allows.
	MaxRatePolicies = 10
	// MaxScalerNameLength is a Kubernetes object name's (a Scaler's
	// namespace and name are checked each against it).
	MaxScalerNameLength = 253
	// MaxNameLength bounds the names of signals, policies and schedules.
	MaxNameLength = 63
	// NamePattern is what every name is written with.
	NamePattern = `^[a-zA-Z0-9_.-]+$`
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "console"}

	// Names become label values and log fields; keep them plain.
	nameRE = regexp.MustCompile(NamePattern)
)

// Validate checks every field of c and returns all problems at once as
// Problems. It never opens a file.
func Validate(c *Config) error {
	if c == nil {
		return errors.New("config: null: want a config")
	}
	if errs := validate(c); len(errs) > 0 {
		return Problems(errs)
	}
	return nil
}

func validate(c *Config) field.ErrorList {
	errs := validateGlobal(c)
	errs = append(errs, validateLeaderElection(&c.LeaderElection)...)
	errs = append(errs, validateScalerObjects(&c.ScalerObjects)...)
	errs = append(errs, validateHasScalers(c)...)
	errs = append(errs, validateFleet(c)...)
	names := map[string]int{}
	sp := field.NewPath("scalers")
	g := c.inherited()
	for i := range c.Scalers {
		s := &c.Scalers[i]
		errs = append(errs, uniqueNameOf(sp, names, i, s.Name, MaxScalerNameLength)...)
		errs = append(errs, s.validate(sp.Index(i), g)...)
		errs = append(errs, g.validateReadOnly(s, sp.Index(i))...)
	}
	return errs
}

// validateReadOnly refuses a target that can only be read on a scaler that
// would act on it.
func (g inherited) validateReadOnly(s *Scaler, path *field.Path) field.ErrorList {
	ro, ok := s.Target.Spec.(actuators.ReadOnly)
	if !ok || g.dryRunOf(s) {
		return nil
	}
	return field.ErrorList{fielderr.Invalid(path.Child("dry_run"), false,
		"must be true (here or for the whole file): %s, never set", ro.ReadOnly())}
}

func validateGlobal(c *Config) field.ErrorList {
	var errs field.ErrorList
	needer := ""
	for i, s := range c.Scalers {
		if _, ok := s.Target.Spec.(actuators.ReadOnly); ok && needer == "" {
			needer = fmt.Sprintf("scalers[%d].target", i)
		}
		for j, sig := range s.Signals {
			if _, ok := sig.Source.Spec.(sources.PrometheusBacked); ok && needer == "" {
				needer = fmt.Sprintf("scalers[%d].signals[%d]", i, j)
			}
		}
	}
	pp := field.NewPath("prometheus")
	switch u := c.Prometheus.URL; {
	case u == "" && needer != "":
		errs = append(errs, fielderr.Required(pp.Child("url"), u, "must be set: %s queries Prometheus", needer))
	case u != "":
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fielderr.Invalid(pp.Child("url"), u, "must be an http or https URL with a host"))
		}
	}
	if c.Prometheus.QueryTimeout <= 0 {
		errs = append(errs, fielderr.Invalid(pp.Child("query_timeout"), c.Prometheus.QueryTimeout, "must be > 0"))
	}
	if n := c.Prometheus.MaxResponseBytes; n != 0 && (n < MinResponseBytes || n > MaxResponseBytes) {
		errs = append(errs, fielderr.Invalid(pp.Child("max_response_bytes"), n,
			"must be in %d..%d (64 KiB..1 GiB), or 0 for the default %d (4 MiB)", MinResponseBytes, MaxResponseBytes, sources.DefaultMaxResponseBytes))
	}
	// The decoder already ran this; it also guards configs built in code.
	if err := c.Prometheus.HTTP.Validate(); err != nil {
		errs = append(errs, fielderr.Problem(pp.Child("http_config"), "%v", err))
	}
	if c.Prometheus.MaxConcurrentQueries < 1 {
		errs = append(errs, fielderr.Invalid(pp.Child("max_concurrent_queries"), c.Prometheus.MaxConcurrentQueries, "must be >= 1"))
	}
	if q := c.Prometheus.MaxQueriesPerSecond; !(q > 0) || math.IsInf(q, 0) {
		errs = append(errs, fielderr.Invalid(pp.Child("max_queries_per_second"), q, "must be a number > 0"))
	}
	errs = append(errs, validateSigV4(pp, &c.Prometheus)...)
	if c.Interval < MinInterval || c.Interval > MaxInterval {
		errs = append(errs, fielderr.Invalid(field.NewPath("interval"), c.Interval, "must be between %s and %s", MinInterval, MaxInterval))
	}
	if !validListen(c.Listen) {
		errs = append(errs, fielderr.Invalid(field.NewPath("listen"), c.Listen, "must be host:port (host may be empty) with a port in 0..65535"))
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		errs = append(errs, fielderr.NotSupported(field.NewPath("log", "level"), c.Log.Level, logLevels))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		errs = append(errs, fielderr.NotSupported(field.NewPath("log", "format"), c.Log.Format, logFormats))
	}
	errs = append(errs, c.AWS.Validate(field.NewPath("aws"), c.Interval)...)
	if c.DecisionHistory < 0 || c.DecisionHistory > MaxDecisionHistory {
		errs = append(errs, fielderr.Invalid(field.NewPath("decision_history"), c.DecisionHistory, "must be in 0..%d", MaxDecisionHistory))
	}
	return errs
}

func validListen(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// uniqueName checks the name of item i of the list at list and that no
// earlier item has it; seen maps names to their first index.
func uniqueName(list *field.Path, seen map[string]int, i int, name string) field.ErrorList {
	return uniqueNameOf(list, seen, i, name, MaxNameLength)
}

// uniqueNameOf is uniqueName for names of at most maxLen bytes.
func uniqueNameOf(list *field.Path, seen map[string]int, i int, name string, maxLen int) field.ErrorList {
	p := list.Index(i).Child("name")
	if errs := checkName(p, name, maxLen); len(errs) > 0 {
		return errs
	}
	if j, dup := seen[name]; dup {
		return field.ErrorList{fielderr.Duplicate(p, name, "duplicate of %s", list.Index(j).Child("name"))}
	}
	seen[name] = i
	return nil
}

// checkName checks a name that becomes a label value, a log field and a
// part of a URL: plain characters, at most maxLen bytes, and not "." or
// "..", which a path would read as a directory.
func checkName(path *field.Path, name string, maxLen int) field.ErrorList {
	switch {
	case name == "":
		return field.ErrorList{fielderr.Required(path, name, "must not be empty")}
	case len(name) > maxLen:
		return field.ErrorList{fielderr.Invalid(path, name, "is %d bytes long: must be at most %d", len(name), maxLen)}
	case !nameRE.MatchString(name):
		return field.ErrorList{fielderr.Invalid(path, name, "must use only letters, digits, '_', '.' and '-'")}
	case strings.Trim(name, ".") == "":
		return field.ErrorList{fielderr.Invalid(path, name, "must not be only dots: a path would read it as a directory")}
	}
	return nil
}

// ValidateScaler checks one scaler at path (a Scaler object's spec) as
// Validate checks each scaler of a config: its name and every field of its
// own. A Scaler object's scaler is named namespace/name, which no file
// scaler can be (a file's names have no '/'). What it takes from a config
// (prometheus.url for its queries, the global interval) is the caller's to
// check: Config.ValidateScaler checks both.
func ValidateScaler(s *Scaler, path *field.Path) field.ErrorList {
	return validateScaler(s, path, Defaults().inherited())
}

// ValidateScaler checks s, a scaler that runs beside c's own (a Scaler
// object's), at path: every field of its own as Validate checks a file's
// scalers, on the tick it takes from c, and what it needs of c: a
// prometheus.url for its queries.
func (c *Config) ValidateScaler(s *Scaler, path *field.Path) field.ErrorList {
	g := c.inherited()
	errs := validateScaler(s, path, g)
	errs = append(errs, g.validateReadOnly(s, path)...)
	if c.Prometheus.URL != "" {
		return errs
	}
	for j, sig := range s.Signals {
		if _, ok := sig.Source.Spec.(sources.PrometheusBacked); ok {
			errs = append(errs, fielderr.Problem(path.Child("signals").Index(j).Child(string(sig.Source.Kind)),
				"cannot be read: scaled's config sets no prometheus.url"))
		}
	}
	return errs
}

func validateScaler(s *Scaler, path *field.Path, g inherited) field.ErrorList {
	var errs field.ErrorList
	if ns, name, ok := strings.Cut(s.Name, "/"); ok {
		errs = append(checkName(path.Child("name"), ns, MaxNameLength), checkName(path.Child("name"), name, MaxScalerNameLength)...)
	} else {
		errs = checkName(path.Child("name"), s.Name, MaxScalerNameLength)
	}
	return append(errs, s.validate(path, g)...)
}

// validate checks one scaler at path; its name is checked by the caller,
// which knows the other scalers' names. g is what it inherits.
func (s *Scaler) validate(path *field.Path, g inherited) field.ErrorList {
	if errs := s.checkCounts(path); len(errs) > 0 {
		return errs // checking every item of an unbounded list costs without bound
	}
	r, derrs := g.resolve(s, path, resolveOptions{})
	interval := r.Interval
	errs := s.Target.check(s.Name, path.Child("target"))
	seen := map[string]int{}
	for j := range s.Signals {
		errs = append(errs, uniqueName(path.Child("signals"), seen, j, s.Signals[j].Name)...)
		errs = append(errs, validateSignal(path.Child("signals").Index(j), &s.Signals[j], interval)...)
	}
	if c, ok := s.Target.Spec.(actuators.Ceilinged); ok {
		if ceiling, why := c.Ceiling(); s.Bounds.Max > ceiling {
			errs = append(errs, fielderr.Invalid(path.Child("bounds", "max"), s.Bounds.Max, "must be <= %d: %s", ceiling, why))
		}
	}
	errs = append(errs, derrs...)
	_, derrs = policy.NewDecider(r.Decider, path)
	errs = append(errs, derrs...)
	// An empty list would mean "no rate limit" to the decider; in a file,
	// leaving the key out is how to take the defaults.
	for _, d := range []struct {
		name  string
		rules *ScalingRules
	}{{"scale_up", s.Behavior.ScaleUp}, {"scale_down", s.Behavior.ScaleDown}} {
		if d.rules != nil && d.rules.Policies != nil && len(d.rules.Policies) == 0 {
			errs = append(errs, fielderr.Problem(path.Child("behavior", d.name, "policies"),
				"must list at least one policy (leave it out for the defaults; select_policy: Disabled forbids this direction)"))
		}
	}
	if s.Interval != 0 && (s.Interval < MinInterval || s.Interval > MaxInterval) {
		errs = append(errs, fielderr.Invalid(path.Child("interval"), s.Interval, "must be between %s and %s, or unset to use the global interval", MinInterval, MaxInterval))
	}
	return errs
}

// checkCounts refuses lists longer than a scaler may hold.
func (s *Scaler) checkCounts(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	count := func(p *field.Path, n, most int, what string) {
		if n > most {
			errs = append(errs, fielderr.TooMany(p, n, most, what))
		}
	}
	count(path.Child("signals"), len(s.Signals), MaxSignals, "signals")
	count(path.Child("policies"), len(s.Policies), MaxPolicies, "policies")
	count(path.Child("schedules"), len(s.Schedules), MaxSchedules, "schedules")
	for _, d := range []struct {
		name  string
		rules *ScalingRules
	}{{"scale_up", s.Behavior.ScaleUp}, {"scale_down", s.Behavior.ScaleDown}} {
		if d.rules != nil {
			count(path.Child("behavior", d.name, "policies"), len(d.rules.Policies), MaxRatePolicies, "rate limits")
		}
	}
	return errs
}

func validateSignal(path *field.Path, s *Signal, interval time.Duration) field.ErrorList {
	errs := s.Source.check(path)
	_, shared := s.Source.Spec.(sources.PrometheusBacked)
	switch {
	case s.MaxAge < 0:
		errs = append(errs, fielderr.Invalid(path.Child("max_age"), s.MaxAge, "must be >= 0"))
	case shared && s.MaxAge > 0 && s.MaxAge < interval:
		// Every tick would see its value too old, for some scalers.
		errs = append(errs, fielderr.Invalid(path.Child("max_age"), s.MaxAge,
			"must be 0 or at least the scaler's interval (%s): Prometheus is asked at the interval's grid, up to one interval before the tick", interval))
	}
	return append(errs, validateRange(path.Child("valid_range"), s.ValidRange)...)
}

// validateSigV4 checks prometheus.sigv4: its own rules, and that no other
// authorisation signs the same requests (as Prometheus' remote_write).
func validateSigV4(pp *field.Path, p *Prometheus) field.ErrorList {
	if p.SigV4 == nil {
		return nil
	}
	var errs field.ErrorList
	if err := p.SigV4.Validate(); err != nil {
		errs = append(errs, fielderr.Problem(pp.Child("sigv4"), "%v", err))
	}
	h := p.HTTP
	for _, other := range []struct {
		key string
		set bool
	}{
		{"authorization", h.Authorization != nil},
		{"basic_auth", h.BasicAuth != nil},
		{"oauth2", h.OAuth2 != nil},
		{"bearer_token", h.BearerToken != ""},
		{"bearer_token_file", h.BearerTokenFile != ""},
	} {
		if other.set {
			errs = append(errs, fielderr.Forbidden(pp.Child("http_config", other.key), "must be absent when prometheus.sigv4 is set: requests are signed with SigV4"))
		}
	}
	return errs
}

// validateRange checks a signal's valid_range: each bound written is
// finite, and min is below max once the defaults fill what is left out.
func validateRange(path *field.Path, r *ValidRange) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	for _, b := range []struct {
		name string
		v    *float64
	}{{"min", r.Min}, {"max", r.Max}} {
		if b.v != nil && (math.IsNaN(*b.v) || math.IsInf(*b.v, 0)) {
			errs = append(errs, fielderr.Invalid(path.Child(b.name), *b.v, "must be a finite number (leave it out for no bound)"))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	eff := Signal{ValidRange: r}.Range()
	switch {
	case r.Max != nil && eff.Max <= eff.Min && r.Min == nil:
		errs = append(errs, fielderr.Invalid(path.Child("max"), eff.Max, "must be > valid_range.min, which defaults to 0 (set min for a range below 0)"))
	case eff.Max <= eff.Min:
		errs = append(errs, fielderr.Invalid(path.Child("max"), eff.Max, "must be > valid_range.min (%s)", strconv.FormatFloat(eff.Min, 'g', -1, 64)))
	}
	return errs
}
