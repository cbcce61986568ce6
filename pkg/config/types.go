package config

import (
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/scaled-dev/scaled/pkg/policy"
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
	DecisionHistory int      `json:"decision_history,omitempty"`
	Scalers         []Scaler `json:"scalers,omitempty"`
	// LeaderElection lets several replicas run with one acting (leader.go).
	LeaderElection LeaderElection `json:"leader_election,omitempty"`
}

// Prometheus is where signals are read.
type Prometheus struct {
	// URL of the Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir).
	URL string `json:"url,omitempty"`
	// HTTP is the standard prometheus/common client configuration: bearer
	// token (file), basic auth, TLS, proxy, custom headers.
	HTTP         promconfig.HTTPClientConfig `json:"http_config,omitempty"`
	QueryTimeout time.Duration               `json:"query_timeout,omitempty"`
}

// Log selects the log level and encoding.
type Log struct {
	Level  string `json:"level,omitempty"`  // debug, info, warn, error
	Format string `json:"format,omitempty"` // json, console
}

// Scaler is one target and the signals, policies and guards that size it.
type Scaler struct {
	Name    string   `json:"name,omitempty"`
	Target  Target   `json:"target,omitempty"`
	Signals []Signal `json:"signals,omitempty"`
	// DecisionSpec's keys (policies, combine, schedules, bounds, behavior,
	// on_failure) are the scaler's own.
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
	Policies []Policy `json:"policies,omitempty"`
	// Combine is how several policies combine: max (default), min, priority.
	Combine   policy.Combine `json:"combine,omitempty"`
	Schedules []Schedule     `json:"schedules,omitempty"`
	Bounds    Bounds         `json:"bounds,omitempty"`
	Behavior  Behavior       `json:"behavior,omitempty"`
	OnFailure OnFailure      `json:"on_failure,omitempty"`
}

// Target says what is scaled. Kind selects exactly one of the other fields.
type Target struct {
	Kind       string            `json:"kind,omitempty"` // log, kubernetes, aurora, rds, lambda
	Log        *LogTarget        `json:"log,omitempty"`
	Kubernetes *KubernetesTarget `json:"kubernetes,omitempty"`
	Aurora     *AuroraTarget     `json:"aurora,omitempty"`
	RDS        *RDSTarget        `json:"rds,omitempty"`
	Lambda     *LambdaTarget     `json:"lambda,omitempty"`
}

// LogTarget is an in-memory target that records what it would set.
type LogTarget struct {
	// Initial capacity the target reports before anything is set.
	Initial int32 `json:"initial,omitempty"`
}

// KubernetesTarget is any object with a /scale subresource.
type KubernetesTarget struct {
	APIVersion string `json:"api_version,omitempty"` // e.g. apps/v1, argoproj.io/v1alpha1
	Kind       string `json:"kind,omitempty"`        // e.g. Deployment, StatefulSet, Rollout
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	// TakeOver lets scaled act on an object an HPA or ScaledObject also targets.
	TakeOver bool `json:"take_over,omitempty"`
}

// AuroraTarget is the reader instances of an Aurora cluster.
type AuroraTarget struct {
	Region            string           `json:"region,omitempty"`
	ClusterIdentifier string           `json:"cluster_identifier,omitempty"`
	ReplicaOptions    `json:",inline"` // aws.go
}

// RDSTarget is the read replicas of an RDS instance.
type RDSTarget struct {
	Region         string           `json:"region,omitempty"`
	SourceInstance string           `json:"source_instance,omitempty"`
	ReplicaOptions `json:",inline"` // aws.go
}

// LambdaTarget is the provisioned concurrency of a function alias or version.
type LambdaTarget struct {
	Region        string           `json:"region,omitempty"`
	FunctionName  string           `json:"function_name,omitempty"`
	Qualifier     string           `json:"qualifier,omitempty"`
	LambdaOptions `json:",inline"` // aws.go
}

// Signal is a named PromQL expression that must return one value.
type Signal struct {
	Name  string `json:"name,omitempty"`
	Query string `json:"query,omitempty"`
	// MaxAge: a sample older than this at the tick is a failed signal (0: no limit beyond the source's own).
	MaxAge time.Duration `json:"max_age,omitempty"`
	// Replay reads the signal from a recorded trace instead of Prometheus,
	// for demos and backtests. A signal sets exactly one of Query and Replay.
	Replay *Replay `json:"replay,omitempty"`
}

// Replay plays a recorded trace (the CSV that sources.LoadTrace reads) as a
// signal, starting when the daemon starts.
type Replay struct {
	// Trace is the CSV file; a relative path is taken from the directory of
	// the config file.
	Trace string `json:"trace,omitempty"`
	// Speed is trace time per wall-clock time: 1 plays in real time, 60 plays
	// one trace minute per second (default 1).
	Speed float64 `json:"speed,omitempty"`
	// Loop starts the trace again at its end; without it the signal fails
	// once the trace is over.
	Loop bool `json:"loop,omitempty"`
	// Expr is the expression handed to the replay source: value (the recorded
	// number, default) or rate (the number divided by the trace step in
	// seconds, so a per-minute count reads per second), optionally followed
	// by "* F" or "/ F" with F a finite number > 0, e.g. "rate / 4".
	Expr string `json:"expr,omitempty"`
}

// Policy recommends a capacity. Type names the policy's type (a
// registered policy.PolicyType) and the key of its block, which Spec holds:
// `type: pid` with a `pid:` block.
type Policy struct {
	Name string            `json:"name,omitempty"`
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
	StabilizationWindow *time.Duration      `json:"stabilization_window,omitempty"`
	SelectPolicy        policy.SelectPolicy `json:"select_policy,omitempty"` // Max, Min, Disabled
	Policies            []RatePolicy        `json:"policies,omitempty"`
	// Tolerance around the target ratio within which nothing changes (HPA default 0.1).
	Tolerance *float64 `json:"tolerance,omitempty"`
}

// RatePolicy limits the change over a period, as HPAScalingPolicy.
type RatePolicy = policy.RateLimit

// OnFailure says what happens when a signal fails: hold (default) or fallback.
type OnFailure = policy.OnFailure

// Schedule raises the minimum (and optionally lowers the maximum) capacity
// from each time Start names, for Duration, in Timezone.
type Schedule = policy.ScheduleSpec
