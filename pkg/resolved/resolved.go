package resolved

import (
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Scaler is one scaler with its own keys and those it inherits applied.
type Scaler struct {
	Name string
	// Interval is the scaler's tick: its own, or the global one.
	Interval time.Duration
	// StartupDelay is the startup delay the scaler plans for: its own,
	// else its target's (actuators.StartupDelayer); 0 when neither is known.
	StartupDelay time.Duration
	// DryRun: the scaler only logs and exports (its own or the global).
	DryRun bool
	// QueryTimeout bounds the queries of one tick.
	QueryTimeout time.Duration
	// Prometheus is where its Prometheus-backed signals are read.
	Prometheus sources.PrometheusConfig
	// AWS is the aws block, resolved on the global interval: the budgets
	// the AWS targets of every scaler share.
	AWS actuators.AWSLimits
	// RecordedTime: every signal of the config replays a recording, and
	// the recordings' time is the process's (sources.Deps.RecordedTime).
	RecordedTime bool
	Target       Target
	Signals      []Signal
	// Decider is the spec of the scaler's decider, built when it was
	// resolved, on its interval and startup delay. Its policies keep state
	// once a decider runs them: a decider is built by NewDecider, which
	// builds them afresh.
	Decider policy.Spec
	// Parts fingerprint what the scaler was resolved from, part by part:
	// a reload compares them to keep what did not change.
	Parts Parts
	// Declared is the scaler as written (a config.Scaler), which a
	// Config's Rebase resolves again under other global keys.
	Declared any

	buildDecider func() (policy.Spec, field.ErrorList)
}

// Target is what the scaler sizes: a registered kind and its block.
type Target struct {
	Kind actuators.TargetKind
	Spec actuators.TargetSpec
}

// String is how the target names itself (Deployment/web), or its kind.
func (t Target) String() string {
	if s, ok := t.Spec.(interface{ String() string }); ok {
		return s.String()
	}
	return string(t.Kind)
}

// Signal is one named expression, its source's block and the values it may take.
type Signal struct {
	Name string
	// Expr is the expression its source evaluates.
	Expr string
	// MaxAge bounds how old the data behind a value may be (0: the
	// source's own limit).
	MaxAge     time.Duration
	ValidRange scaling.Range
	Kind       sources.SourceKind
	Spec       sources.SourceSpec
}

// Parts are canonical fingerprints (FingerprintOf) of a scaler's parts, each
// computed once when it is resolved.
type Parts struct {
	// Policy covers what its decider is built from: policies, combine,
	// schedules, bounds, behaviour, failure rule, interval and startup
	// delay. Unchanged, a reload keeps the decider and its history.
	Policy Fingerprint
	// Target covers the target's kind and block. Unchanged, a reload keeps
	// the actuator.
	Target Fingerprint
	// Sources covers the signals and the Prometheus they are read from
	// (its query timeout included).
	Sources Fingerprint
}

// WithDecider sets s's decider spec from build, which builds it afresh at
// every call; its problems are build's.
func (s Scaler) WithDecider(build func() (policy.Spec, field.ErrorList)) (Scaler, field.ErrorList) {
	spec, errs := build()
	s.Decider, s.buildDecider = spec, build
	return s, errs
}

// NewDecider builds a decider of its own for the scaler, its policies
// built afresh so that no two deciders share a policy's state.
func (s *Scaler) NewDecider() (*policy.Decider, field.ErrorList) {
	spec := s.Decider
	if s.buildDecider != nil {
		var errs field.ErrorList
		if spec, errs = s.buildDecider(); len(errs) > 0 {
			return nil, errs
		}
	}
	return policy.NewDecider(spec, nil)
}

// Same reports whether s runs exactly as o: same name, parts and dry run.
// A reload leaves such a scaler running as it is.
func (s *Scaler) Same(o *Scaler) bool {
	return s.Name == o.Name && s.DryRun == o.DryRun && s.Parts == o.Parts
}

// Config is what the engine runs from the config file: its scalers,
// resolved, and how a scaler from elsewhere takes the same global keys.
type Config struct {
	Scalers []Scaler
	// Rebase resolves again, under this config's global keys, a scaler
	// resolved under another's: a Scaler object's scaler inherits them as
	// a file scaler does. nil leaves such a scaler as it is.
	Rebase func(Scaler) (Scaler, error)
}
