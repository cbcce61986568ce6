package policy

import (
	"errors"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/internal/registry"
)

// PolicyType names a kind of policy: the `type` of a scaler's policy, and
// the key of its block (`type: pid` with a `pid:` block).
type PolicyType string

// PolicySpec is the configuration block of one policy type, decoded from a
// config file or a Scaler object through its json tags. Each type's file
// holds its spec, its defaults, its constructor and one Register call.
type PolicySpec interface {
	// Default fills the keys the block left unset. It is idempotent.
	Default()
	// New validates the (defaulted) block and builds the policy called
	// name: the constructor is the validator, so what was validated is what
	// runs. Every problem is a field error under path, the block's own path
	// (scalers[0].policies[1].pid), all of them at once. New does not keep
	// ctx's slices, and builds a fresh policy, with fresh state, each call.
	New(name string, ctx ScalerContext, path *field.Path) (Policy, field.ErrorList)
}

// ScalerContext is what a policy may know of the scaler it belongs to.
type ScalerContext struct {
	// Signals are the names of the scaler's signals; a policy may read only
	// these. nil (a policy built in code, not from a scaler) skips the check.
	Signals []string
	// Tolerance is the scaler's behaviour tolerance, per direction.
	Tolerance Tolerance
	// StartupDelay is how long capacity asked for takes to serve, as the
	// scaler states it or its target kind knows it; 0 when neither does. A
	// policy that plans ahead plans this far unless its block says otherwise.
	StartupDelay time.Duration
}

// RequireSignal checks that name, at path, is one of the scaler's signals.
func (c ScalerContext) RequireSignal(path *field.Path, name string) *field.Error {
	switch {
	case c.Signals == nil && name == "":
		return fielderr.Required(path, name, "must name a signal")
	case c.Signals == nil || slices.Contains(c.Signals, name):
		return nil
	case len(c.Signals) == 0:
		return fielderr.Invalid(path, name, "must name one of the scaler's signals, and it has none")
	}
	return fielderr.Invalid(path, name, "must name one of the scaler's signals: %s", strings.Join(c.Signals, ", "))
}

var policyTypes = registry.New[PolicyType, PolicySpec]("policy type")

// Register makes a policy type known to configs: newSpec returns a fresh
// block of the type, holding the defaults a key left out keeps. Call it
// from an init function of the type's file. It panics on a taken name.
func Register(t PolicyType, newSpec func() PolicySpec) { policyTypes.Register(t, newSpec) }

// Types lists every registered policy type, sorted.
func Types() []PolicyType { return policyTypes.Names() }

// NewSpec returns a fresh block of type t, and false for an unknown type.
func NewSpec(t PolicyType) (PolicySpec, bool) { return policyTypes.New(t) }

// TypeOf names the type whose block spec is.
func TypeOf(spec PolicySpec) (PolicyType, bool) { return policyTypes.NameOf(spec) }

// asError turns the problems of a constructor called in code into one
// error, a line per problem, with the paths relative to the policy.
func asError(errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(fielderr.Lines(errs), "\n"))
}
