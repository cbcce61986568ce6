package actuators

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// ReplicaOptions shape the readers scaled adds to an Aurora cluster or an RDS
// source instance. They are inlined in AuroraTarget and RDSTarget.
type ReplicaOptions struct {
	// NameTemplate names a new reader: {cluster} (aurora), {source} (rds),
	// {scaler} and {index} (required; the lowest free number from 1) are
	// replaced. A deterministic name keeps a creation idempotent across a
	// restart. Default "{cluster}-scaled-{index}" or "{source}-scaled-{index}".
	NameTemplate string `json:"name_template,omitempty"`
	// InstanceClass of new readers (default: the writer's or source's class).
	InstanceClass string `json:"instance_class,omitempty"`
	// ParameterGroup is the DB parameter group of new readers (default: the
	// writer's or source's).
	ParameterGroup string `json:"parameter_group,omitempty"`
	// AvailabilityZones new readers are spread over, fewest first (default:
	// the cluster's zones for aurora, the source subnet group's for rds).
	AvailabilityZones []string `json:"availability_zones,omitempty"`
	// MinReaders is a floor scale-in never crosses, whatever the policy says.
	MinReaders int32 `json:"min_readers,omitempty"`
	// Owner is the value of the ownership tag (scaled.dev/owner) on the
	// readers scaled creates; only those are ever deleted. Default: the
	// scaler's name. Keep it when renaming a scaler.
	Owner string `json:"owner,omitempty"`
	// Tags are added to every reader scaled creates.
	Tags map[string]string `json:"tags,omitempty"`
	// WriterMemory (aurora) is how long an instance once seen as the writer
	// is never deleted, and how long after a failover (the cluster seen
	// failing-over, its writer changed, or a failover event) no reader is:
	// DescribeDBClusters can name the old writer for minutes after a
	// failover. Default 15m; at least 1m.
	WriterMemory time.Duration `json:"writer_memory,omitempty"`
	// Endpoint overrides the service endpoint (a VPC endpoint, a test emulator).
	Endpoint string `json:"endpoint,omitempty"`
}

// LambdaOptions shape a Lambda target; inlined in LambdaTarget.
type LambdaOptions struct {
	// UnreservedMargin is the account concurrency left unreserved for every
	// other function: a request is clamped to the account's unreserved
	// concurrency plus this target's own, minus the margin. Default 100, the
	// least Lambda itself keeps on most accounts; an account with a low
	// concurrency quota keeps 10, and may set 10 here.
	UnreservedMargin *int32 `json:"unreserved_margin,omitempty"`
	// Endpoint overrides the service endpoint (a VPC endpoint, a test emulator).
	Endpoint string `json:"endpoint,omitempty"`
}

// AWS limits and defaults.
const (
	MaxAuroraReaders        = 15 // readers per Aurora cluster
	MaxRDSReplicas          = 15 // read replicas per RDS source instance
	DefaultUnreservedMargin = 100
	MinUnreservedMargin     = 10 // what Lambda keeps unreserved on a low-quota account
	DefaultWriterMemory     = 15 * time.Minute
	MinWriterMemory         = time.Minute
	DefaultAuroraName       = "{cluster}-scaled-{index}"
	DefaultRDSName          = "{source}-scaled-{index}"
)

// Guard defaults of the AWS target kinds. A new reader takes about ten
// minutes to serve and provisioned concurrency about one and a half, so
// reacting at pod speed buys little but churn and cost: these defaults wait
// out a blip before scaling out, add at most what one creation delay can
// absorb, and give capacity back slowly.
const (
	// Aurora and RDS readers.
	ReplicaScaleUpWindow   = 60 * time.Second
	ReplicaScaleUpPods     = 2
	ReplicaScaleUpPeriod   = 600 * time.Second
	ReplicaScaleDownWindow = 1800 * time.Second
	ReplicaScaleDownPods   = 1
	ReplicaScaleDownPeriod = 600 * time.Second
	// Lambda provisioned concurrency.
	LambdaScaleUpWindow    = 0 * time.Second
	LambdaScaleUpPercent   = 100
	LambdaScaleUpPeriod    = 60 * time.Second
	LambdaScaleDownWindow  = 600 * time.Second
	LambdaScaleDownPercent = 10
	LambdaScaleDownPeriod  = 60 * time.Second
)

// Startup delays of the AWS target kinds (StartupDelayer): a new Aurora
// reader or RDS read replica serves after about ten minutes, a
// provisioned-concurrency allocation after about one and a half.
const (
	ReplicaStartupDelay = 10 * time.Minute
	LambdaStartupDelay  = 90 * time.Second
)

// replicaBehavior is the default guard behaviour of Aurora readers and RDS
// read replicas.
func replicaBehavior() policy.Behavior {
	return policy.Behavior{
		ScaleUp: policy.Rules{StabilizationWindow: ReplicaScaleUpWindow, Select: policy.SelectMax, Tolerance: policy.DefaultTolerance.Up,
			Limits: []policy.RateLimit{{Type: policy.RatePods, Value: ReplicaScaleUpPods, Period: ReplicaScaleUpPeriod}}},
		ScaleDown: policy.Rules{StabilizationWindow: ReplicaScaleDownWindow, Select: policy.SelectMax, Tolerance: policy.DefaultTolerance.Down,
			Limits: []policy.RateLimit{{Type: policy.RatePods, Value: ReplicaScaleDownPods, Period: ReplicaScaleDownPeriod}}},
	}
}

// lambdaBehavior is the default guard behaviour of Lambda provisioned
// concurrency.
func lambdaBehavior() policy.Behavior {
	return policy.Behavior{
		ScaleUp: policy.Rules{StabilizationWindow: LambdaScaleUpWindow, Select: policy.SelectMax, Tolerance: policy.DefaultTolerance.Up,
			Limits: []policy.RateLimit{{Type: policy.RatePercent, Value: LambdaScaleUpPercent, Period: LambdaScaleUpPeriod}}},
		ScaleDown: policy.Rules{StabilizationWindow: LambdaScaleDownWindow, Select: policy.SelectMax, Tolerance: policy.DefaultTolerance.Down,
			Limits: []policy.RateLimit{{Type: policy.RatePercent, Value: LambdaScaleDownPercent, Period: LambdaScaleDownPeriod}}},
	}
}

// fill sets the options a file left unset: the kind's name template and
// the scaler as owner.
func (o *ReplicaOptions) fill(name, scaler string) {
	if o.NameTemplate == "" {
		o.NameTemplate = name
	}
	if o.Owner == "" {
		o.Owner = scaler
	}
}

// endpointPrivileged is the block's endpoint key when it is set: only the
// platform may send scaled's credentials elsewhere (Reach).
func endpointPrivileged(endpoint string) []string {
	if endpoint != "" {
		return []string{"endpoint"}
	}
	return nil
}

// DefaultBehavior implements TargetSpec for both replica kinds: a reader
// takes minutes to serve.
func (o *ReplicaOptions) DefaultBehavior() policy.Behavior { return replicaBehavior() }

// StartupDelay implements StartupDelayer for both replica kinds: a new
// Aurora reader or RDS read replica serves after about ten minutes.
func (o *ReplicaOptions) StartupDelay() time.Duration { return ReplicaStartupDelay }

// replicaKind is what tells the two replica kinds apart: Aurora readers of
// a cluster and RDS read replicas of a source instance are otherwise the
// same block (ReplicaOptions) and the same target (replicaSet).
type replicaKind struct {
	kind        TargetKind
	parentKey   string // the block's key that names the cluster or source instance
	defaultName string // the name template a block that sets none takes
	max         int32  // readers at most
	maxWhy      string
}

// reach is what a block of the kind reaches: its parent, in region.
func (k replicaKind) reach(parent string, region *string, o *ReplicaOptions) Reach {
	return Reach{Resource: string(k.kind) + ":" + parent, ResourceKey: k.parentKey, Privileged: endpointPrivileged(o.Endpoint),
		Region: region, Replica: o, DefaultName: k.defaultName}
}

// validate checks a block of the kind: its parent, then the kind's own
// errors (own), then the options.
func (k replicaKind) validate(path *field.Path, parent, scaler string, o *ReplicaOptions, own field.ErrorList) field.ErrorList {
	var errs field.ErrorList
	if parent == "" {
		errs = append(errs, fielderr.Required(path.Child(k.parentKey), parent, "must not be empty"))
	}
	errs = append(errs, own...)
	return append(errs, o.validate(path, parent, scaler, k.max)...)
}

// DB instance identifiers: 1 to 63 letters, digits or hyphens, starting with
// a letter, no two hyphens in a row, not ending with one.
var dbIdentifierRE = regexp.MustCompile(`^[a-zA-Z](?:[a-zA-Z0-9]|-[a-zA-Z0-9])*$`)

// RenderName fills a name template.
func RenderName(template, parent, scaler string, index int) string {
	return strings.NewReplacer("{cluster}", parent, "{source}", parent, "{scaler}", scaler,
		"{index}", fmt.Sprint(index)).Replace(template)
}

// validate checks the options of a target whose parent (cluster or source
// instance) and scaler render the reader names, at most max readers.
func (o *ReplicaOptions) validate(path *field.Path, parent, scaler string, max int32) field.ErrorList {
	var errs field.ErrorList
	// Empty fields take their defaults (Default, or the target's constructor).
	switch {
	case o.NameTemplate == "":
	case !strings.Contains(o.NameTemplate, "{index}"):
		errs = append(errs, fielderr.Invalid(path.Child("name_template"), o.NameTemplate, "must contain {index}"))
	default:
		// The longest name it can make must be a valid DB instance identifier.
		if n := RenderName(o.NameTemplate, parent, scaler, int(max)); len(n) > 63 || !dbIdentifierRE.MatchString(n) {
			errs = append(errs, fielderr.Invalid(path.Child("name_template"), o.NameTemplate,
				"makes %q: a DB instance identifier is 1 to 63 letters, digits or hyphens, starts with a letter, has no two hyphens in a row and does not end with one", n))
		}
	}
	if o.WriterMemory != 0 && o.WriterMemory < MinWriterMemory {
		errs = append(errs, fielderr.Invalid(path.Child("writer_memory"), o.WriterMemory.String(), "must be at least %s (or left out: %s)", MinWriterMemory, DefaultWriterMemory))
	}
	if o.MinReaders < 0 || o.MinReaders > max {
		errs = append(errs, fielderr.Invalid(path.Child("min_readers"), o.MinReaders, "must be in 0..%d", max))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) {
		if strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "scaled.dev/") {
			errs = append(errs, fielderr.Invalid(path.Child("tags"), k, "keys starting with aws: or scaled.dev/ are reserved"))
		}
	}
	return errs
}
