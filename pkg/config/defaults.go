package config

import (
	"slices"
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Global defaults. Behaviour defaults are those of the Kubernetes HPA v2.
const (
	DefaultInterval        = 15 * time.Second
	DefaultQueryTimeout    = 10 * time.Second
	DefaultListen          = ":9464"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "json"
	DefaultDecisionHistory = 100
	DefaultCombine         = policy.CombineMax
	DefaultOnFailure       = policy.FailureHold
	DefaultMinCapacity     = 1
	DefaultTolerance       = 0.1
)

// defaultHTTP is prometheus/common's HTTP client config with redirects
// off: a signal read from wherever the server sends the query is a value
// of a server nobody configured. follow_redirects: true turns them on.
func defaultHTTP() promconfig.HTTPClientConfig {
	h := promconfig.DefaultHTTPClientConfig
	h.FollowRedirects = false
	return h
}

// Defaults returns a Config holding every global default and no scalers.
func Defaults() *Config {
	return &Config{
		Prometheus: Prometheus{
			HTTP:                 defaultHTTP(),
			QueryTimeout:         DefaultQueryTimeout,
			MaxConcurrentQueries: sources.DefaultMaxConcurrentQueries,
			MaxQueriesPerSecond:  sources.DefaultMaxQueriesPerSecond,
		},
		Interval:        DefaultInterval,
		Listen:          DefaultListen,
		Log:             Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		DecisionHistory: DefaultDecisionHistory,
		LeaderElection:  DefaultLeaderElection(),
		ScalerObjects:   DefaultScalerObjects(),
		AWS:             actuators.DefaultAWSLimits(),
	}
}

// DefaultScaleUp returns HPA's default scale-up rules: no stabilisation, at
// most 4 pods or 100% (whichever is more) every 15 s.
func DefaultScaleUp() *ScalingRules { return scalingRules(policy.DefaultBehavior().ScaleUp) }

// DefaultScaleDown returns HPA's default scale-down rules: a 300 s
// stabilisation window and at most 100% every 15 s.
func DefaultScaleDown() *ScalingRules { return scalingRules(policy.DefaultBehavior().ScaleDown) }

// scalingRules writes a direction's rules as a file does, every key set.
func scalingRules(r policy.Rules) *ScalingRules {
	w, tol := r.StabilizationWindow, r.Tolerance
	return &ScalingRules{StabilizationWindow: &w, SelectPolicy: r.Select, Policies: slices.Clone(r.Limits), Tolerance: &tol}
}

// ApplyDefaults fills what was left unset in every scaler: combine,
// on_failure.mode, each block's own defaults (target, signal sources,
// policies, schedules), a target block that may be left out, and each
// behaviour field that is absent from the target kind's default behaviour
// (HPA fills a partly written direction field by field, and so does this). It is idempotent. Fields whose zero value is
// meaningful (bounds.min, replay.speed) take their defaults while the file is
// decoded instead (decodeDefaults, and each registered block's constructor).
func ApplyDefaults(c *Config) {
	for i := range c.Scalers {
		c.Scalers[i].ApplyDefaults()
	}
}

// ApplyDefaults fills what was left unset in one scaler (see the function
// ApplyDefaults). It is idempotent.
func (s *Scaler) ApplyDefaults() {
	if s.Combine == "" {
		s.Combine = DefaultCombine
	}
	if s.OnFailure.Mode == "" {
		s.OnFailure.Mode = DefaultOnFailure
	}
	behavior := policy.DefaultBehavior()
	if t := &s.Target; t.Spec == nil {
		// A kind that needs nothing (log) may leave its block out.
		if spec, ok := actuators.NewSpec(t.Kind); ok {
			if _, optional := spec.(actuators.BlockOptional); optional {
				t.Spec = spec
			}
		}
	}
	if spec := s.Target.Spec; spec != nil {
		spec.Default(s.Name)
		behavior = spec.DefaultBehavior()
	}
	for j := range s.Signals {
		if spec := s.Signals[j].Source.Spec; spec != nil {
			spec.Default()
		}
	}
	for i := range s.Policies {
		if spec := s.Policies[i].Spec; spec != nil {
			spec.Default()
		}
	}
	for i := range s.Schedules {
		s.Schedules[i].Default()
	}
	s.Behavior.ScaleUp = fillRules(s.Behavior.ScaleUp, scalingRules(behavior.ScaleUp))
	s.Behavior.ScaleDown = fillRules(s.Behavior.ScaleDown, scalingRules(behavior.ScaleDown))
}

func fillRules(r, def *ScalingRules) *ScalingRules {
	if r == nil {
		return def
	}
	if r.StabilizationWindow == nil {
		r.StabilizationWindow = def.StabilizationWindow
	}
	if r.SelectPolicy == "" {
		r.SelectPolicy = def.SelectPolicy
	}
	// Only an absent list takes the defaults: an explicit empty list is an
	// error for Validate, as it is for HPA.
	if r.Policies == nil {
		r.Policies = def.Policies
	}
	if r.Tolerance == nil {
		r.Tolerance = def.Tolerance
	}
	return r
}

// decodeDefaults starts a scaler from the defaults that must be in place
// before its keys are read, so that a key written as zero (bounds.min: 0)
// stays zero.
func (s *Scaler) decodeDefaults() {
	*s = Scaler{DecisionSpec: DecisionSpec{Bounds: Bounds{Min: DefaultMinCapacity}}}
}
