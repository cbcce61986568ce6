package registry

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type block interface{ isBlock() }
type a struct{ n int }
type b struct{ n int }

func (*a) isBlock() {}
func (*b) isBlock() {}

func TestRegistry(t *testing.T) {
	r := New[string, block]("test kind")
	r.Register("beta", func() block { return &b{n: 2} })
	r.Register("alpha", func() block { return &a{n: 1} })
	if diff := cmp.Diff([]string{"alpha", "beta"}, r.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	x, ok := r.New("alpha")
	if _, isA := x.(*a); !ok || !isA {
		t.Errorf("New(alpha) = %T, %v", x, ok)
	}
	if y, _ := r.New("alpha"); y == x {
		t.Error("New returned the same block twice; each call must make a fresh one")
	}
	if _, ok := r.New("gamma"); ok {
		t.Error("New of an unknown name succeeded")
	}
	if n, ok := r.NameOf(&b{n: 3}); !ok || n != "beta" {
		t.Errorf("NameOf(*b) = %q, %v", n, ok)
	}
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"empty name", func() { r.Register("", func() block { return &a{n: 1} }) }},
		{"taken name", func() { r.Register("alpha", func() block { return &b{n: 2} }) }},
		{"taken block type", func() { r.Register("gamma", func() block { return &a{n: 1} }) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			tc.f()
		})
	}
}
