// Package registry keeps the kinds of one family (target kinds, policy
// types, signal sources) by name, each with the constructor of its
// configuration block. The package that owns a family's interface holds one
// Registry; each kind registers from an init function in its own file, as
// Prometheus' service discovery mechanisms do.
package registry

import (
	"fmt"
	"reflect"
	"slices"
)

// Registry maps names to block constructors. Register is meant for init
// functions; every other method may be called concurrently once they ran.
type Registry[K ~string, S any] struct {
	family string
	news   map[K]func() S
	types  map[reflect.Type]K
}

// New returns an empty registry; family names it in panics ("target kind").
func New[K ~string, S any](family string) *Registry[K, S] {
	return &Registry[K, S]{family: family, news: map[K]func() S{}, types: map[reflect.Type]K{}}
}

// Register adds name, whose block newBlock returns fresh, holding the
// defaults a key left out keeps. It panics on an empty or taken name, or
// when two names share a block type: both are wiring bugs.
func (r *Registry[K, S]) Register(name K, newBlock func() S) {
	if name == "" {
		panic(fmt.Sprintf("registry: %s with an empty name", r.family))
	}
	if _, taken := r.news[name]; taken {
		panic(fmt.Sprintf("registry: %s %q registered twice", r.family, name))
	}
	t := reflect.TypeOf(newBlock())
	if other, taken := r.types[t]; taken {
		panic(fmt.Sprintf("registry: %s %q has the block type of %q (%v)", r.family, name, other, t))
	}
	r.news[name] = newBlock
	r.types[t] = name
}

// New returns a fresh block of name, and false for an unknown name.
func (r *Registry[K, S]) New(name K) (S, bool) {
	f, ok := r.news[name]
	if !ok {
		var zero S
		return zero, false
	}
	return f(), true
}

// Names lists every registered name, sorted.
func (r *Registry[K, S]) Names() []K {
	out := make([]K, 0, len(r.news))
	for k := range r.news {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// NameOf returns the name whose block has the dynamic type of block.
func (r *Registry[K, S]) NameOf(block S) (K, bool) {
	k, ok := r.types[reflect.TypeOf(block)]
	return k, ok
}
