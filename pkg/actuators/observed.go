package actuators

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// KindObserved is a target scaled only watches, through Prometheus: its
// current and ready capacity are PromQL queries (kube-state-metrics'
// replicas of a Deployment the HPA scales, for instance). It is for a
// shadow in dry run where scaled cannot, or must not, reach the target
// itself; it never sets anything.
const KindObserved TargetKind = "observed"

func init() {
	Register(KindObserved, func() TargetSpec { return &ObservedTarget{} })
}

// ObservedTarget is the observed block of a target.
type ObservedTarget struct {
	// Current is a PromQL query for the capacity the target is asked to
	// have (kube_deployment_spec_replicas).
	Current string `json:"current,omitempty"`
	// Ready is a PromQL query for the part of it that serves
	// (kube_deployment_status_replicas_ready); unset: all of Current.
	Ready string `json:"ready,omitempty"`
}

var (
	_ TargetSpec  = (*ObservedTarget)(nil)
	_ ReadOnly    = (*ObservedTarget)(nil)
	_ QueryReader = (*ObservedTarget)(nil)
)

// QueryReader is implemented by the spec of a kind that reads PromQL: the
// config checks each query, by the key of the block that holds it, as it
// checks a signal's.
type QueryReader interface {
	Queries() []KeyedQuery
}

// KeyedQuery is one query of a target's block and its key there.
type KeyedQuery struct{ Key, Query string }

// Queries implements QueryReader.
func (t *ObservedTarget) Queries() []KeyedQuery {
	q := []KeyedQuery{{"current", t.Current}}
	if t.Ready != "" {
		q = append(q, KeyedQuery{"ready", t.Ready})
	}
	return q
}

// ReadOnly is implemented by the spec of a kind that can only be read: a
// scaler with such a target must run in dry run, which the config checks.
type ReadOnly interface {
	ReadOnly() string
}

// ReadOnly implements ReadOnly.
func (t *ObservedTarget) ReadOnly() string {
	return "an observed target is only read through Prometheus"
}

// Default implements TargetSpec.
func (t *ObservedTarget) Default(string) {}

// Validate implements TargetSpec.
func (t *ObservedTarget) Validate(_ string, path *field.Path) field.ErrorList {
	if strings.TrimSpace(t.Current) == "" {
		return field.ErrorList{fielderr.Required(path.Child("current"), t.Current,
			"must be a PromQL query for the target's current capacity, e.g. sum(kube_deployment_spec_replicas{namespace=\"shop\",deployment=\"web\"})")}
	}
	return nil
}

// DefaultBehavior implements TargetSpec: the HPA's, as for pods.
func (t *ObservedTarget) DefaultBehavior() policy.Behavior { return policy.DefaultBehavior() }

// New implements TargetSpec.
func (t *ObservedTarget) New(deps Deps) (Actuator, error) {
	if deps.Prometheus == nil {
		return nil, errors.New("observed target: no Prometheus to read it from")
	}
	clk := deps.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Observed{t: *t, prometheus: deps.Prometheus, clock: clk}, nil
}

// InstantQuerier evaluates one PromQL query at one time (sources.Querier
// is one). It fails as sources.Querier does, with a *scaling.SignalError.
type InstantQuerier interface {
	Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error)
}

// ErrReadOnly is returned by Set of a target that can only be read.
var ErrReadOnly = errors.New("target is read-only")

// Observed reads a target's capacity from Prometheus and refuses every Set.
type Observed struct {
	t          ObservedTarget
	prometheus func() (InstantQuerier, error)
	clock      clock.PassiveClock
}

var _ Actuator = (*Observed)(nil)

// Read evaluates the current and ready queries now. A failed query, or a
// value that is not a count of replicas, fails the read: the tick then
// holds, as for any target that cannot be read.
func (o *Observed) Read(ctx context.Context) (scaling.Capacity, error) {
	q, err := o.prometheus()
	if err != nil {
		return scaling.Capacity{}, fmt.Errorf("observed target: %w", err)
	}
	now := o.clock.Now()
	current, err := o.count(ctx, q, "current", o.t.Current, now)
	if err != nil {
		return scaling.Capacity{}, err
	}
	ready := current
	if o.t.Ready != "" {
		if ready, err = o.count(ctx, q, "ready", o.t.Ready, now); err != nil {
			return scaling.Capacity{}, err
		}
	}
	return scaling.Capacity{Current: current, Ready: min(ready, current)}, nil
}

func (o *Observed) count(ctx context.Context, q InstantQuerier, key, expr string, now time.Time) (int32, error) {
	s, err := q.Query(ctx, expr, now)
	if err != nil {
		return 0, fmt.Errorf("observed target: %s: %w", key, err)
	}
	v := s.Value
	if math.IsNaN(v) || v < 0 || v > math.MaxInt32 || v != math.Trunc(v) {
		return 0, fmt.Errorf("observed target: %s: %q is %v: must be a whole number of replicas in [0, %d]", key, expr, v, math.MaxInt32)
	}
	return int32(v), nil
}

// Set refuses: scaled only watches this target.
func (o *Observed) Set(context.Context, int32, string) error {
	return fmt.Errorf("%w: an observed target is only read through Prometheus; run its scaler with dry_run: true", ErrReadOnly)
}
