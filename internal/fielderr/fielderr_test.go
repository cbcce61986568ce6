package fielderr

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

type kind string

func TestFormat(t *testing.T) {
	p := field.NewPath("scalers").Index(0)
	got := Lines(field.ErrorList{
		Invalid(p.Child("name"), "", "must not be empty"),
		Invalid(p.Child("target", "kind"), kind("k8s"), "must be one of %s", "log"),
		Required(p.Child("target", "kubernetes"), nil, "must be set when kind is kubernetes"),
		Forbidden(p.Child("target", "log"), "must be absent when kind is %q", "kubernetes"),
		Invalid(p.Child("interval"), 500*time.Millisecond, "must be >= 1s"),
		Invalid(p.Child("bounds", "max"), int32(0), "must be >= 1"),
		Invalid(p.Child("target_tracking", "target"), math.NaN(), "must be > 0"),
		TypeInvalid(p.Child("bounds", "max"), Shown("20.9"), "must be an integer"),
		Problem(p.Child("policies"), "must list at least one policy"),
		NotSupported(p.Child("combine"), "avg", []string{"max", "min"}),
		Duplicate(p.Child("name"), "web", "duplicate of %s", "scalers[0].name"),
		Problem(nil, "kp, ki and kd are all 0"),
	})
	want := []string{
		`scalers[0].name: "": must not be empty`,
		`scalers[0].target.kind: "k8s": must be one of log`,
		`scalers[0].target.kubernetes: null: must be set when kind is kubernetes`,
		`scalers[0].target.log: present: must be absent when kind is "kubernetes"`,
		`scalers[0].interval: 500ms: must be >= 1s`,
		`scalers[0].bounds.max: 0: must be >= 1`,
		`scalers[0].target_tracking.target: NaN: must be > 0`,
		`scalers[0].bounds.max: 20.9: must be an integer`,
		`scalers[0].policies: must list at least one policy`,
		`scalers[0].combine: "avg": must be one of max, min`,
		`scalers[0].name: "web": duplicate of scalers[0].name`,
		`kp, ki and kd are all 0`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Without keeps a problem only when no problem seen is at its field or
// above it; a field that merely starts alike (bounds.maximum beside
// bounds.max) is another field.
func TestWithout(t *testing.T) {
	p := func(path string) *field.Error { return Problem(field.NewPath(path), "x") }
	seen := field.ErrorList{p("bounds.max"), p("signals[0]")}
	errs := field.ErrorList{p("bounds.max"), p("bounds.max.x"), p("bounds.maximum"), p("signals[0].query"), p("signals[1]"), p("bounds")}
	var got []string
	for _, e := range Without(errs, seen) {
		got = append(got, e.Field)
	}
	if want := []string{"bounds.maximum", "signals[1]", "bounds"}; !slices.Equal(got, want) {
		t.Errorf("Without kept %v, want %v", got, want)
	}
}
