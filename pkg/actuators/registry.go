package actuators

import (
	"errors"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/registry"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// TargetKind names a kind of target: the `kind` of a scaler's target, and
// the key of its block (`kind: kubernetes` with a `kubernetes:` block).
type TargetKind string

// TargetSpec is the configuration block of one target kind, decoded from a
// config file or a Scaler object through its json tags. Each kind's file
// holds its spec, its defaults, its validation, its guard defaults, its
// constructor and one Register call.
type TargetSpec interface {
	// Default fills the keys the block left unset; scaler is the name of
	// the scaler the target belongs to. It is idempotent.
	Default(scaler string)
	// Validate checks the (defaulted) block, every problem under path (the
	// block's own), all at once. It is pure: it makes no call.
	Validate(scaler string, path *field.Path) field.ErrorList
	// DefaultBehavior is the guard behaviour a scaler of this kind starts
	// from: its behavior block fills it key by key. Pods take the HPA's
	// (policy.DefaultBehavior); slower capacity waits longer.
	DefaultBehavior() policy.Behavior
	// New builds the target's actuator. It makes no call to the target:
	// the first Read does, so that scaled starts while the target or its
	// API is not there yet.
	New(deps Deps) (Actuator, error)
}

// BlockOptional is implemented by the spec of a kind whose every key has a
// default: its block may be left out, so `kind: log` alone is a target.
type BlockOptional interface {
	BlockOptional()
}

// StartupDelayer is implemented by the spec of a kind whose capacity is
// known to take a while to serve once asked for (an Aurora reader, Lambda's
// provisioned concurrency). A scaler without a startup_delay of its own
// plans for this one; for other kinds (pods: it depends on the workload) the
// delay is unknown unless the scaler says it.
type StartupDelayer interface {
	StartupDelay() time.Duration
}

// Ceilinged is implemented by the spec of a kind whose capacity has a
// ceiling of its own, whatever the account: a scaler's bounds.max beyond
// it is refused when the config is checked, not found out at a Set.
type Ceilinged interface {
	// Ceiling is the most capacity the target can have, and why.
	Ceiling() (max int32, why string)
}

// Reach is what a target acts on, as the confinement of a Scaler object
// (a scaler that a namespace's users write) sees it. The zero Reach acts
// on nothing outside scaled.
type Reach struct {
	// Namespace is the Kubernetes namespace of the object the target
	// scales; NamespaceKey is the block's key that sets it.
	Namespace, NamespaceKey string
	// Resource names what the target scales outside the cluster, as the
	// scaler_objects.allow_aws list matches it: <kind>:<identifier>
	// (aurora:orders-db); ResourceKey is the block's key that holds the
	// identifier.
	Resource, ResourceKey string
	// Privileged are the block's keys that are set and that only the
	// platform may set: they send scaled's own credentials elsewhere (an
	// endpoint override).
	Privileged []string
	// Region is the block's region key (nil: the kind has none; "" in it:
	// scaled's default region), which a grant pins.
	Region *string
	// Replica are the block's reader options (Aurora, RDS; nil for other
	// kinds), whose owner tag, class, name template, parameter group,
	// zones and tags a grant fixes; DefaultName is the name template the
	// kind fills in when the block leaves it unset.
	Replica     *ReplicaOptions
	DefaultName string
}

// Reacher is implemented by the spec of every kind a Scaler object may
// use; a kind that does not say what it reaches is refused there.
type Reacher interface {
	Reach() Reach
}

// Namespaced is implemented by the spec of a kind whose target lives in a
// Kubernetes namespace: a Scaler object's target defaults to the object's
// own namespace.
type Namespaced interface {
	// DefaultNamespace sets the namespace if the block left it unset. It
	// runs before Default.
	DefaultNamespace(namespace string)
}

// Deps are what a target's constructor may use; the daemon makes one per
// scaler and shares the clients behind it among all targets.
type Deps struct {
	// Scaler names the scaler: a label of its metrics, the default owner of
	// what it creates.
	Scaler string
	Logger *zap.Logger        // with the scaler's name; nil: no logs
	Clock  clock.PassiveClock // nil: the real clock
	// Kube returns the process's Kubernetes clients, made at first use.
	Kube func() (*KubeClients, error)
	// Identity names this process in what targets record (Events).
	Identity string
	// KubeMetrics counts what Kubernetes targets suppress (nil: nothing).
	KubeMetrics *KubeMetrics
	// AWS returns what every AWS target of a region ("" for the default
	// chain's) shares: config, clients, request budget, listing; made at
	// first use.
	AWS func(region string) (*AWSRegion, error)
	// Prometheus returns the configured Prometheus, for targets read
	// through it (observed); nil: none is configured.
	Prometheus func() (InstantQuerier, error)
	// Warnings is told of what the target finds wrong and acts on by
	// itself (nil: the log and the status only).
	Warnings WarningObserver
}

// newAWS builds the AWS target t of region with build, from the region's
// shared options.
func newAWS[T any, A Actuator](d Deps, region string, t T, build func(T, AWSOptions) (A, error)) (Actuator, error) {
	o, err := d.awsOptions(region)
	if err != nil {
		return nil, err
	}
	a, err := build(t, o)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (d Deps) awsOptions(region string) (AWSOptions, error) {
	if d.AWS == nil {
		return AWSOptions{}, errors.New("no AWS configuration to build an AWS target with")
	}
	r, err := d.AWS(region)
	if err != nil {
		return AWSOptions{}, err
	}
	return AWSOptions{Config: r.config, Region: r, Scaler: d.Scaler, Logger: d.Logger, Clock: d.Clock, Warnings: d.Warnings}, nil
}

var targetKinds = registry.New[TargetKind, TargetSpec]("target kind")

// Register makes a target kind known to configs: newSpec returns a fresh
// block of the kind, holding the defaults a key left out keeps. Call it from
// an init function of the kind's file. It panics on a taken name.
func Register(kind TargetKind, newSpec func() TargetSpec) { targetKinds.Register(kind, newSpec) }

// Kinds lists every registered target kind, sorted.
func Kinds() []TargetKind { return targetKinds.Names() }

// NewSpec returns a fresh block of kind, and false for an unknown kind.
func NewSpec(kind TargetKind) (TargetSpec, bool) { return targetKinds.New(kind) }

// KindOf names the kind whose block spec is.
func KindOf(spec TargetSpec) (TargetKind, bool) { return targetKinds.NameOf(spec) }
