package config

import (
	"time"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Config is the whole file. Keys are snake_case so that viper (which folds
// case) and SCALED_* environment variables map onto them one to one.
type Config struct {
	Prometheus Prometheus `json:"prometheus,omitempty"`
	// Interval is the default tick of every scaler.
	Interval time.Duration `json:"interval,omitempty"`
	// DryRun makes every scaler only log and export; a scaler may not undo it.
	DryRun bool   `json:"dry_run,omitempty"`
	Listen string `json:"listen,omitempty"`
	Log    Log    `json:"log,omitempty"`
	// DecisionHistory is how many decisions per scaler the HTTP API keeps.
	DecisionHistory int `json:"decision_history,omitempty"`
	// DecisionHistoryMiB bounds the bytes of every scaler's kept decisions
	// together (fleet.go).
	DecisionHistoryMiB int      `json:"decision_history_mib,omitempty"`
	Scalers            []Scaler `json:"scalers,omitempty"`
	// LeaderElection lets several replicas run with one acting (leader.go).
	LeaderElection LeaderElection `json:"leader_election,omitempty"`
	// ScalerObjects runs the Scaler objects of the Kubernetes API beside
	// the scalers of this file (objects.go).
	ScalerObjects ScalerObjects `json:"scaler_objects,omitempty"`
	// Metrics selects the self-metrics that cost a fleet most (fleet.go).
	Metrics Metrics `json:"metrics,omitempty"`
	// AWS bounds the AWS API requests of every AWS target of an account and
	// region together, and shares their reads (actuators.AWSLimits).
	AWS AWS `json:"aws,omitempty"`
}

// AWS is the aws block: request budgets per service and the shared listing.
type AWS = actuators.AWSLimits

// Prometheus is where signals are read (sources.PrometheusConfig).
type Prometheus = sources.PrometheusConfig

// Log selects the log level and encoding.
type Log struct {
	Level  string `json:"level,omitempty"`  // debug, info, warn, error
	Format string `json:"format,omitempty"` // json, console
}

// Scaler is one target and the signals, policies and guards that size it.
type Scaler struct {
	// Name names the scaler in metrics, logs and the decisions API.
	Name string `json:"name,omitempty"`
	// Target is what the scaler sizes.
	Target Target `json:"target,omitempty"`
	// Signals are read at every tick; the policies name them.
	Signals []Signal `json:"signals,omitempty"`
	// DecisionSpec's keys (policies, combine, schedules, bounds, behavior,
	// on_failure, startup_delay) are the scaler's own.
	DecisionSpec `json:",inline"`
	// DryRun forces this scaler into dry run even when the daemon is live.
	DryRun *bool `json:"dry_run,omitempty"`
	// Interval overrides the global tick for this scaler (0: inherit).
	Interval time.Duration `json:"interval,omitempty"`
}

// DecisionSpec is the part of a scaler that shapes its decisions: its
// policies and how they combine, its schedules and its guards. A reload that
// leaves it (and the scaler's tick) unchanged keeps the scaler's decision
// history: stabilisation, rate-limit events, policy state. A field that
// shapes decisions belongs here, and nowhere else.
type DecisionSpec struct {
	// Policies each recommend a capacity from the signals.
	Policies []Policy `json:"policies,omitempty"`
	// Combine is how several policies combine: max (default: scale out if
	// any policy wants to, in only if all do), min, or priority (the first
	// that does not abstain).
	Combine policy.Combine `json:"combine,omitempty"`
	// Schedules raise the minimum (and may lower the maximum) capacity at
	// set times, whatever the signals say.
	Schedules []Schedule `json:"schedules,omitempty"`
	// Bounds are the least and the most capacity, always held.
	Bounds Bounds `json:"bounds,omitempty"`
	// Behavior limits how fast capacity moves, per direction, as the HPA's
	// spec.behavior does.
	Behavior Behavior `json:"behavior,omitempty"`
	// OnFailure says what a failed signal does; a failed signal never
	// scales in.
	OnFailure OnFailure `json:"on_failure,omitempty"`
	// StartupDelay is how long capacity asked for takes to serve: a pod
	// pulling its image and warming up, a node joining, a reader being
	// created. Policies and guards that plan ahead read it (0: the target
	// kind's own).
	StartupDelay time.Duration `json:"startup_delay,omitempty"`
}

// Target says what is scaled. Kind names the target's kind (a registered
// actuators.TargetKind) and the key of its block, which Spec holds:
// `kind: kubernetes` with a `kubernetes:` block.
type Target struct {
	// Kind is the kind of target, and the key of its block: kubernetes,
	// aurora, rds, lambda or log.
	Kind actuators.TargetKind `json:"kind,omitempty"`
	// Spec is the block named after Kind (actuators.NewSpec).
	Spec actuators.TargetSpec `json:"-"`
	// others are the blocks of other kinds the mapping held too, refused by
	// validation.
	others []string
}

// Signal is a named expression that must return one value, read from its
// source: a registered source's block, written on the signal itself
// (`query: ...` or `replay: {...}`).
type Signal struct {
	// Name of the signal, as policies name it.
	Name string `json:"name,omitempty"`
	// MaxAge: a sample older than this at the tick is a failed signal (0: no limit beyond the source's own).
	MaxAge time.Duration `json:"max_age,omitempty"`
	// ValidRange is the values the signal may take; a value outside it is
	// a failed signal (out_of_range). Unset: finite and not negative.
	ValidRange *ValidRange `json:"valid_range,omitempty"`
	// Source is the one source block the signal sets.
	Source SignalSource `json:"-"`
}

// ValidRange bounds a signal's plausible values, both ends included: a
// ratio within [0, 1], a latency under an hour. A bound left out is the
// default's: min 0, max none.
type ValidRange struct {
	// Min is the least plausible value (default 0).
	Min *float64 `json:"min,omitempty"`
	// Max is the greatest plausible value (default: none).
	Max *float64 `json:"max,omitempty"`
}

// Range is the signal's valid range, its defaults filled in.
func (s Signal) Range() scaling.Range {
	r := scaling.DefaultRange
	if s.ValidRange != nil {
		if s.ValidRange.Min != nil {
			r.Min = *s.ValidRange.Min
		}
		if s.ValidRange.Max != nil {
			r.Max = *s.ValidRange.Max
		}
	}
	return r
}

// SignalSource is a signal's source: Kind (a registered
// sources.SourceKind) and its block, Spec.
type SignalSource struct {
	Kind sources.SourceKind
	Spec sources.SourceSpec
	// others are the blocks of other sources the signal set too, refused
	// by validation.
	others []string
}

// Expr is the expression the signal's source evaluates.
func (s Signal) Expr() string {
	if s.Source.Spec == nil {
		return ""
	}
	return s.Source.Spec.Expression()
}

// Policy recommends a capacity. Type names the policy's type (a
// registered policy.PolicyType) and the key of its block, which Spec holds:
// `type: pid` with a `pid:` block.
type Policy struct {
	// Name of the policy, in decisions and metrics.
	Name string `json:"name,omitempty"`
	// Type is the policy's type, and the key of its block: target_tracking,
	// pid, step or predictive.
	Type policy.PolicyType `json:"type,omitempty"`
	// Spec is the block named after Type (policy.NewSpec).
	Spec policy.PolicySpec `json:"-"`
	// others are the blocks of other types the mapping held too, refused by
	// validation.
	others []string
}

// Bounds are the capacity limits that always hold.
type Bounds = policy.Bounds

// Behavior mirrors HPA v2 spec.behavior, per direction.
type Behavior struct {
	ScaleUp   *ScalingRules `json:"scale_up,omitempty"`
	ScaleDown *ScalingRules `json:"scale_down,omitempty"`
}

// ScalingRules mirrors autoscaling/v2 HPAScalingRules. Nil fields take the
// defaults of the target's kind (HPA's for pods).
type ScalingRules struct {
	// StabilizationWindow: the capacity moves no further than the most
	// conservative recommendation of this past window (HPA's).
	StabilizationWindow *time.Duration `json:"stabilization_window,omitempty"`
	// SelectPolicy picks among the rate limits: Max (the one that allows
	// the most change), Min, or Disabled (no change in this direction).
	SelectPolicy policy.SelectPolicy `json:"select_policy,omitempty"`
	// Policies are rate limits: at most value pods or percent per period.
	Policies []RatePolicy `json:"policies,omitempty"`
	// Tolerance around the target ratio within which nothing changes (HPA default 0.1).
	Tolerance *float64 `json:"tolerance,omitempty"`
	// StartupHold (scale_down only, default 0: off) holds a fall at the
	// highest recommendation of the last startup_hold x startup delays
	// (policy.StartupHold): a window that grows with the startup delay.
	StartupHold float64 `json:"startup_hold,omitempty"`
}

// RatePolicy limits the change over a period, as HPAScalingPolicy.
type RatePolicy = policy.RateLimit

// OnFailure says what happens when a signal fails: hold (default) or fallback.
type OnFailure = policy.OnFailure

// Schedule raises the minimum (and optionally lowers the maximum) capacity
// from each time Start names, for Duration, in Timezone.
type Schedule = policy.ScheduleSpec
