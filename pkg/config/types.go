package config

import (
	"time"

	promconfig "github.com/prometheus/common/config"
)

// Config is the whole file. Keys are snake_case so that viper (which folds
// case) and SCALED_* environment variables map onto them one to one.
type Config struct {
	Prometheus Prometheus `yaml:"prometheus"`
	// Interval is the default tick of every scaler.
	Interval time.Duration `yaml:"interval"`
	// DryRun makes every scaler only log and export; a scaler may not undo it.
	DryRun bool   `yaml:"dry_run"`
	Listen string `yaml:"listen"`
	Log    Log    `yaml:"log"`
	// DecisionHistory is how many decisions per scaler the HTTP API keeps.
	DecisionHistory int      `yaml:"decision_history"`
	Scalers         []Scaler `yaml:"scalers"`
	// LeaderElection lets several replicas run with one acting (leader.go).
	LeaderElection LeaderElection `yaml:"leader_election"`
}

// Prometheus is where signals are read.
type Prometheus struct {
	// URL of the Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir).
	URL string `yaml:"url"`
	// HTTP is the standard prometheus/common client configuration: bearer
	// token (file), basic auth, TLS, proxy, custom headers.
	HTTP         promconfig.HTTPClientConfig `yaml:"http_config"`
	QueryTimeout time.Duration               `yaml:"query_timeout"`
}

// Log selects the log level and encoding.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json, console
}

// Scaler is one target and the signals, policies and guards that size it.
type Scaler struct {
	Name     string   `yaml:"name"`
	Target   Target   `yaml:"target"`
	Signals  []Signal `yaml:"signals"`
	Policies []Policy `yaml:"policies"`
	// Combine is how several policies combine: max (default), min, priority.
	Combine   string     `yaml:"combine"`
	Schedules []Schedule `yaml:"schedules"` // policies.go
	Bounds    Bounds     `yaml:"bounds"`
	Behavior  Behavior   `yaml:"behavior"`
	OnFailure OnFailure  `yaml:"on_failure"`
	// DryRun forces this scaler into dry run even when the daemon is live.
	DryRun *bool `yaml:"dry_run"`
	// Interval overrides the global tick for this scaler (0: inherit).
	Interval time.Duration `yaml:"interval"`
	// StartupDelay is how long capacity asked for takes to serve: a pod
	// pulling its image and warming up, a node joining, a reader being
	// created. Policies and guards that plan ahead read it (0: the target
	// kind's, see KindStartupDelay).
	StartupDelay time.Duration `yaml:"startup_delay"`
}

// Target says what is scaled. Kind selects exactly one of the other fields.
type Target struct {
	Kind       string            `yaml:"kind"` // log, kubernetes, aurora, rds, lambda
	Log        *LogTarget        `yaml:"log,omitempty"`
	Kubernetes *KubernetesTarget `yaml:"kubernetes,omitempty"`
	Aurora     *AuroraTarget     `yaml:"aurora,omitempty"`
	RDS        *RDSTarget        `yaml:"rds,omitempty"`
	Lambda     *LambdaTarget     `yaml:"lambda,omitempty"`
}

// LogTarget is an in-memory target that records what it would set.
type LogTarget struct {
	// Initial capacity the target reports before anything is set.
	Initial int32 `yaml:"initial"`
}

// KubernetesTarget is any object with a /scale subresource.
type KubernetesTarget struct {
	APIVersion string `yaml:"api_version"` // e.g. apps/v1, argoproj.io/v1alpha1
	Kind       string `yaml:"kind"`        // e.g. Deployment, StatefulSet, Rollout
	Namespace  string `yaml:"namespace"`
	Name       string `yaml:"name"`
	// TakeOver lets scaled act on an object an HPA or ScaledObject also targets.
	TakeOver bool `yaml:"take_over"`
}

// AuroraTarget is the reader instances of an Aurora cluster.
type AuroraTarget struct {
	Region            string           `yaml:"region"`
	ClusterIdentifier string           `yaml:"cluster_identifier"`
	ReplicaOptions    `yaml:",inline"` // aws.go
}

// RDSTarget is the read replicas of an RDS instance.
type RDSTarget struct {
	Region         string           `yaml:"region"`
	SourceInstance string           `yaml:"source_instance"`
	ReplicaOptions `yaml:",inline"` // aws.go
}

// LambdaTarget is the provisioned concurrency of a function alias or version.
type LambdaTarget struct {
	Region        string           `yaml:"region"`
	FunctionName  string           `yaml:"function_name"`
	Qualifier     string           `yaml:"qualifier"`
	LambdaOptions `yaml:",inline"` // aws.go
}

// Signal is a named PromQL expression that must return one value.
type Signal struct {
	Name  string `yaml:"name"`
	Query string `yaml:"query"`
	// MaxAge: a sample older than this at the tick is a failed signal (0: no limit beyond the source's own).
	MaxAge time.Duration `yaml:"max_age"`
	// Replay reads the signal from a recorded trace instead of Prometheus,
	// for demos and backtests. A signal sets exactly one of Query and Replay.
	Replay *Replay `yaml:"replay,omitempty"`
}

// Replay plays a recorded trace (the CSV that sources.LoadTrace reads) as a
// signal, starting when the daemon starts.
type Replay struct {
	// Trace is the CSV file; a relative path is taken from the directory of
	// the config file.
	Trace string `yaml:"trace"`
	// Speed is trace time per wall-clock time: 1 plays in real time, 60 plays
	// one trace minute per second (default 1).
	Speed float64 `yaml:"speed"`
	// Loop starts the trace again at its end; without it the signal fails
	// once the trace is over.
	Loop bool `yaml:"loop"`
	// Expr is the expression handed to the replay source: value (the recorded
	// number, default) or rate (the number divided by the trace step in
	// seconds, so a per-minute count reads per second), optionally followed
	// by "* F" or "/ F" with F a finite number > 0, e.g. "rate / 4".
	Expr string `yaml:"expr"`
}

// Policy recommends a capacity. Type selects exactly one of the other fields.
type Policy struct {
	Name           string          `yaml:"name"`
	Type           string          `yaml:"type"` // target_tracking, pid, step
	TargetTracking *TargetTracking `yaml:"target_tracking,omitempty"`
	PID            *PID            `yaml:"pid,omitempty"`        // policies.go
	Step           *Step           `yaml:"step,omitempty"`       // policies.go
	Predictive     *Predictive     `yaml:"predictive,omitempty"` // predictive.go
}

// TargetTracking holds a signal at a target, as the Kubernetes HPA does.
type TargetTracking struct {
	Signal string `yaml:"signal"`
	// TargetType: value (ratio x ready replicas, HPA Object/Value),
	// average_value (total / per-replica target, HPA AverageValue),
	// utilization (value with the HPA Resource metric's direction rule).
	TargetType string  `yaml:"target_type"`
	Target     float64 `yaml:"target"`
}

// Bounds are the capacity limits that always hold.
type Bounds struct {
	Min int32 `yaml:"min"`
	Max int32 `yaml:"max"`
}

// Behavior mirrors HPA v2 spec.behavior, per direction.
type Behavior struct {
	ScaleUp   *ScalingRules `yaml:"scale_up"`
	ScaleDown *ScalingRules `yaml:"scale_down"`
}

// ScalingRules mirrors autoscaling/v2 HPAScalingRules. Nil fields take the HPA defaults.
type ScalingRules struct {
	StabilizationWindow *time.Duration `yaml:"stabilization_window"`
	SelectPolicy        string         `yaml:"select_policy"` // Max, Min, Disabled
	Policies            []RatePolicy   `yaml:"policies"`
	// Tolerance around the target ratio within which nothing changes (HPA default 0.1).
	Tolerance *float64 `yaml:"tolerance"`
	// StartupHold (scale_down only, default 0: off) holds a fall at the
	// highest recommendation of the last startup_hold x startup delays
	// (policy.StartupHold): a window that grows with the startup delay.
	StartupHold float64 `yaml:"startup_hold"`
}

// RatePolicy limits the change over a period, as HPAScalingPolicy.
type RatePolicy struct {
	Type   string        `yaml:"type"` // Pods, Percent
	Value  int32         `yaml:"value"`
	Period time.Duration `yaml:"period"`
}

// OnFailure says what happens when a signal fails.
type OnFailure struct {
	Mode     string `yaml:"mode"` // hold (default), fallback
	Fallback int32  `yaml:"fallback"`
}
