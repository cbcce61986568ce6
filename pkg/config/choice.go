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

// kindNames are a registry's names, sorted as it lists them.
func kindNames[K ~string](kinds []K) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

// decodeNode reads a policy: name, type, and the block of its type.
func (p *Policy) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	p.Spec, p.others = nil, nil
	for _, b := range d.choice(n, path, reflect.ValueOf(p).Elem(), kindNames(policy.Types())) {
		if b.name != string(p.Type) {
			p.others = append(p.others, b.name)
			continue
		}
		spec, _ := policy.NewSpec(p.Type)
		d.decodeBlock(b, spec, path)
		p.Spec = spec
	}
}

// check applies the rule of a choice to the policy at path: its type is
// registered, its block is set and of that type, and no other type's is.
func (p *Policy) check(path *field.Path) field.ErrorList {
	set, others := p.Spec != nil, p.others
	if t, _ := policy.TypeOf(p.Spec); set && t != p.Type { // a block of another type, set in code
		set, others = false, append([]string{string(t)}, others...)
	}
	return checkChoice(path, "type", string(p.Type), kindNames(policy.Types()), set, others)
}

// decodeNode reads a signal: name, max_age, and its one source block; the
// first source block in the file is the signal's source.
func (s *Signal) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	s.Source = SignalSource{}
	for _, b := range d.choice(n, path, reflect.ValueOf(s).Elem(), kindNames(sources.Kinds())) {
		if s.Source.Spec != nil {
			s.Source.others = append(s.Source.others, b.name)
			continue
		}
		spec, _ := sources.NewSpec(sources.SourceKind(b.name))
		d.decodeBlock(b, spec, path)
		s.Source.Kind, s.Source.Spec = sources.SourceKind(b.name), spec
	}
}

// check applies the rule of a choice to a signal's source, at the signal's
// path: exactly one registered source block is set, and it is valid.
func (src *SignalSource) check(path *field.Path) field.ErrorList {
	set, others := src.Spec != nil, src.others
	if k, _ := sources.KindOf(src.Spec); set && k != src.Kind { // a block of another kind, set in code
		set, others = false, append([]string{string(k)}, others...)
	}
	errs := checkChoice(path, "", string(src.Kind), kindNames(sources.Kinds()), set, others)
	if set {
		errs = append(errs, src.Spec.Validate(path.Child(string(src.Kind)))...)
	}
	return errs
}

// decodeNode reads a target: kind, and the block of its kind.
func (t *Target) decodeNode(d *decoder, n *yaml.Node, path *field.Path) {
	t.Spec, t.others = nil, nil
	for _, b := range d.choice(n, path, reflect.ValueOf(t).Elem(), kindNames(actuators.Kinds())) {
		if b.name != string(t.Kind) {
			t.others = append(t.others, b.name)
			continue
		}
		spec, _ := actuators.NewSpec(t.Kind)
		d.decodeBlock(b, spec, path)
		t.Spec = spec
	}
}

// check applies the rule of a choice to the target at path, and validates
// its block; scaler is the scaler's name.
func (t *Target) check(scaler string, path *field.Path) field.ErrorList {
	set, others := t.Spec != nil, t.others
	if k, _ := actuators.KindOf(t.Spec); set && k != t.Kind { // a block of another kind, set in code
		set, others = false, append([]string{string(k)}, others...)
	}
	errs := checkChoice(path, "kind", string(t.Kind), kindNames(actuators.Kinds()), set, others)
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
