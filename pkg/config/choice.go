package config

import (
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// A choice is a mapping that holds one block among several registered by
// name: a target's kind block, a policy's type block, a signal's source. Its
// rule, written once here for all three: the block named by the choice is
// set, and no other registered block is. The registries say which names
// exist; the blocks' keys are named after them, so `kind: kubernetes` goes
// with a `kubernetes:` block.

// block is one registered block a choice's mapping holds.
type block struct {
	name string
	node *yaml.Node
}

// choice decodes the mapping n: a key that is a field of plain (by its json
// tag) decodes into it; a key in names is a block, returned in file order
// for the caller to decode once it knows the choice (a null block counts as
// absent); any other key is unknown.
func (d *decoder) choice(n *yaml.Node, path *field.Path, plain reflect.Value, names []string) []block {
	if n.Kind != yaml.MappingNode {
		d.add(fielderr.TypeInvalid(path, shape(n), "must be a mapping"))
		return nil
	}
	fields := fieldsOf(plain.Type())
	var blocks []block
	d.keys(n, path, func(key string, k, val *yaml.Node) {
		if f, ok := fields.byName[key]; ok {
			d.value(val, plain.FieldByIndex(f.index), path.Child(key))
			return
		}
		if slices.Contains(names, key) {
			if val = resolveNode(val); val != nil && !isNull(val) {
				blocks = append(blocks, block{key, val})
			}
			return
		}
		d.unknownKey(path, key, k.Line, append(slices.Clone(fields.names), names...))
	})
	return blocks
}

// decodeBlock decodes a block into spec, a pointer a registry made.
func (d *decoder) decodeBlock(b block, spec any, path *field.Path) {
	d.value(b.node, reflect.ValueOf(spec).Elem(), path.Child(b.name))
}

// checkChoice reports what breaks the rule of a choice at path. key names
// the choice ("kind", "type"; "" when the block itself does, as a signal's
// source); chosen is its value; names are the registered names; set says
// whether chosen's block is set; others are the other registered blocks the
// mapping held.
func checkChoice(path *field.Path, key, chosen string, names []string, set bool, others []string) field.ErrorList {
	var errs field.ErrorList
	switch {
	case key == "" && chosen == "":
		errs = append(errs, fielderr.Problem(path, "must set one of %s", strings.Join(names, ", ")))
	case !slices.Contains(names, chosen) && key != "":
		errs = append(errs, fielderr.NotSupported(path.Child(key), chosen, names))
	case !slices.Contains(names, chosen):
		errs = append(errs, fielderr.NotSupported(path, chosen, names))
	case !set && key == "":
		errs = append(errs, fielderr.Required(path.Child(chosen), nil, "must be set"))
	case !set:
		errs = append(errs, fielderr.Required(path.Child(chosen), nil, "must be set when %s is %s", key, chosen))
	}
	for _, o := range others {
		if key == "" {
			errs = append(errs, fielderr.Forbidden(path.Child(o), "must be absent when %s is set", chosen))
		} else {
			errs = append(errs, fielderr.Forbidden(path.Child(o), "must be absent when %s is %q", key, chosen))
		}
	}
	return errs
}

// A OneOf is a family of blocks a choice holds one of, as its registry
// lists them: target kinds chosen by `kind`, policy types by `type`,
// signal sources by the block itself. The config decodes and checks
// choices with it; the CRD generator writes their schema from it.
type OneOf struct {
	// Key is the key that names the chosen block; "" when the block names
	// itself (a signal's source).
	Key string
	// Names are the registered names, sorted.
	Names func() []string
	// New returns a fresh block of name, and false for an unknown name.
	New func(name string) (any, bool)
	// NameOf returns the name whose block has the dynamic type of block.
	NameOf func(block any) (string, bool)
}

// The registered families, each a view of its registry.
var (
	TargetKinds   = oneOf("kind", actuators.Kinds, actuators.NewSpec, actuators.KindOf)
	PolicyTypes   = oneOf("type", policy.Types, policy.NewSpec, policy.TypeOf)
	SignalSources = oneOf("", sources.Kinds, sources.NewSpec, sources.KindOf)
)

// oneOf is the OneOf of a registry's names, constructor and reverse lookup.
func oneOf[K ~string, S any](key string, names func() []K, newSpec func(K) (S, bool), nameOf func(S) (K, bool)) OneOf {
	return OneOf{
		Key:   key,
		Names: func() []string { return kindNames(names()) },
		New:   func(name string) (any, bool) { return newSpec(K(name)) },
		NameOf: func(block any) (string, bool) {
			s, ok := block.(S)
			if !ok {
				return "", false
			}
			k, ok := nameOf(s)
			return string(k), ok
		},
	}
}

// decode reads the mapping n of a choice: the plain fields into plain, and
// the chosen block, returned with its name; the names of the other blocks
// set are returned too. chosen names the block to keep once the plain
// fields are read; nil keeps the first block in the file.
func (o OneOf) decode(d *decoder, n *yaml.Node, path *field.Path, plain reflect.Value, chosen func() string) (name string, spec any, others []string) {
	for _, b := range d.choice(n, path, plain, o.Names()) {
		if spec != nil || (chosen != nil && b.name != chosen()) {
			others = append(others, b.name)
			continue
		}
		s, _ := o.New(b.name)
		d.decodeBlock(b, s, path)
		name, spec = b.name, s
	}
	return name, spec, others
}

// check applies the rule of a choice at path: chosen is registered, its
// block spec is set and of that name, and none of others is set. set says
// whether spec is the chosen block, to be validated.
func (o OneOf) check(path *field.Path, chosen string, spec any, others []string) (set bool, errs field.ErrorList) {
	set = spec != nil
	if k, _ := o.NameOf(spec); set && k != chosen { // a block of another name, set in code
		set, others = false, append([]string{k}, others...)
	}
	return set, checkChoice(path, o.Key, chosen, o.Names(), set, others)
}

// decodeNode reads a policy: name, type, and the block of its type.
func (p *Policy) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	_, spec, others := PolicyTypes.decode(d, n, path, reflect.ValueOf(p).Elem(), func() string { return string(p.Type) })
	p.Spec, _ = spec.(policy.PolicySpec)
	p.others = others
}

// check applies the rule of a choice to the policy at path: its type is
// registered, its block is set and of that type, and no other type's is.
func (p *Policy) check(path *field.Path) field.ErrorList {
	_, errs := PolicyTypes.check(path, string(p.Type), p.Spec, p.others)
	return errs
}

// decodeNode reads a signal: name, max_age, and its one source block; the
// first source block in the file is the signal's source.
func (s *Signal) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	name, spec, others := SignalSources.decode(d, n, path, reflect.ValueOf(s).Elem(), nil)
	s.Source = SignalSource{others: others}
	if spec != nil {
		s.Source.Kind, s.Source.Spec = sources.SourceKind(name), spec.(sources.SourceSpec)
	}
}

// check applies the rule of a choice to a signal's source, at the signal's
// path: exactly one registered source block is set, and it is valid.
func (src *SignalSource) check(path *field.Path) field.ErrorList {
	set, errs := SignalSources.check(path, string(src.Kind), src.Spec, src.others)
	if set {
		errs = append(errs, src.Spec.Validate(path.Child(string(src.Kind)))...)
	}
	return errs
}

// decodeNode reads a target: kind, and the block of its kind.
func (t *Target) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	_, spec, others := TargetKinds.decode(d, n, path, reflect.ValueOf(t).Elem(), func() string { return string(t.Kind) })
	t.Spec, _ = spec.(actuators.TargetSpec)
	t.others = others
}

// check applies the rule of a choice to the target at path, and validates
// its block; scaler is the scaler's name.
func (t *Target) check(scaler string, path *field.Path) field.ErrorList {
	set, errs := TargetKinds.check(path, string(t.Kind), t.Spec, t.others)
	if set {
		errs = append(errs, t.Spec.Validate(scaler, path.Child(string(t.Kind)))...)
	}
	if qr, ok := t.Spec.(actuators.QueryReader); ok && set && len(errs) == 0 {
		for _, q := range qr.Queries() {
			if err := sources.CheckPromQL(q.Query); err != nil {
				errs = append(errs, fielderr.Invalid(path.Child(string(t.Kind), q.Key), q.Query, "%v", err))
			}
		}
	}
	return errs
}

// kindNames are a registry's names, sorted as it lists them.
func kindNames[K ~string](kinds []K) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}
