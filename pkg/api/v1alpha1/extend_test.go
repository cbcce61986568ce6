package v1alpha1_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// A target kind and a policy type registered here, in this test file and
// nowhere else, are known to the file's config and to Scaler objects the
// way a built-in one is, and the tests of this package that list the
// registered kinds (spec_test.go, manifest_test.go) run with them in the
// registry and still pass: adding a kind is its own file, not an edit of
// unrelated tests. The target does not say what it acts on, so a Scaler
// object that names it is refused, saying why.

const (
	meterKind  actuators.TargetKind = "proof_meter"
	fixedType  policy.PolicyType    = "proof_fixed"
	notReached                      = "cannot be used in a Scaler object: this kind does not say what it acts on (its block implements no actuators.Reacher), so scaled cannot hold it to the Scaler's namespace; only scaled's own config may use it"
)

func init() {
	actuators.Register(meterKind, func() actuators.TargetSpec { return &meterSpec{} })
	policy.Register(fixedType, func() policy.PolicySpec { return &fixedSpec{} })
}

// meterSpec is a target that holds its capacity in memory.
type meterSpec struct {
	Start int32 `json:"start,omitempty"`
}

func (s *meterSpec) Default(string) {}

func (s *meterSpec) Validate(_ string, path *field.Path) field.ErrorList {
	if s.Start < 0 {
		return field.ErrorList{fielderr.Invalid(path.Child("start"), s.Start, "must be >= 0")}
	}
	return nil
}

func (s *meterSpec) DefaultBehavior() policy.Behavior { return policy.DefaultBehavior() }

func (s *meterSpec) New(actuators.Deps) (actuators.Actuator, error) { return &meter{n: s.Start}, nil }

type meter struct{ n int32 }

func (m *meter) Read(context.Context) (scaling.Capacity, error) {
	return scaling.Capacity{Current: m.n, Ready: m.n}, nil
}

func (m *meter) Set(_ context.Context, n int32, _ string) error { m.n = n; return nil }

// fixedSpec is a policy that recommends a fixed capacity.
type fixedSpec struct {
	Replicas int32 `json:"replicas,omitempty"`
}

func (s *fixedSpec) Default() {}

func (s *fixedSpec) New(name string, _ policy.ScalerContext, path *field.Path) (policy.Policy, field.ErrorList) {
	if s.Replicas < 1 {
		return nil, field.ErrorList{fielderr.Invalid(path.Child("replicas"), s.Replicas, "must be >= 1")}
	}
	return fixed{name, s.Replicas}, nil
}

type fixed struct {
	name string
	n    int32
}

func (p fixed) Name() string { return p.name }
func (p fixed) Recommend(policy.Input) scaling.Recommendation {
	return scaling.Recommendation{Replicas: p.n, Reason: "fixed"}
}

func TestAKindRegisteredInATestFileIsKnownEverywhere(t *testing.T) {
	if !slices.Contains(actuators.Kinds(), meterKind) || !slices.Contains(policy.Types(), fixedType) {
		t.Fatalf("registered %v and %v, want %s and %s among them", actuators.Kinds(), policy.Types(), meterKind, fixedType)
	}
	file := func(start, replicas string) []byte {
		return []byte(`prometheus: {url: "http://prom:9090"}
scalers:
  - name: meter
    target: {kind: proof_meter, proof_meter: {start: ` + start + `}}
    signals: [{name: rps, query: x}]
    policies: [{name: fixed, type: proof_fixed, proof_fixed: {replicas: ` + replicas + `}}]
    bounds: {max: 10}
`)
	}

	t.Run("the file's config accepts them", func(t *testing.T) {
		cfg, err := config.LoadData("", file("1", "3"), nil)
		if err != nil {
			t.Fatal(err)
		}
		sc := cfg.Scalers[0]
		if tg, ok := sc.Target.Spec.(*meterSpec); !ok || tg.Start != 1 {
			t.Errorf("target %#v, want a proof_meter block starting at 1", sc.Target)
		}
		if p, ok := sc.Policies[0].Spec.(*fixedSpec); !ok || p.Replicas != 3 {
			t.Errorf("policy %#v, want a proof_fixed block of 3 replicas", sc.Policies[0])
		}
	})

	t.Run("and checks their blocks under their own keys", func(t *testing.T) {
		_, err := config.LoadData("", file("-1", "0"), nil)
		var got []string
		if p, ok := err.(config.Problems); ok {
			got = fielderr.Lines(field.ErrorList(p))
		}
		want := []string{`scalers[0].target.proof_meter.start: -1: must be >= 0`, `scalers[0].policies[0].proof_fixed.replicas: 0: must be >= 1`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
		}
	})

	cfg := config.Defaults()
	cfg.Prometheus.URL = "http://prom:9090"
	cfg.ScalerObjects.Enabled = true
	object := func(spec string) *unstructured.Unstructured {
		var s map[string]any
		if err := json.Unmarshal([]byte(spec), &s); err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": v1alpha1.APIVersion, "kind": v1alpha1.Kind, "spec": s}}
		u.SetNamespace("shop")
		u.SetName("meter")
		return u
	}

	t.Run("a Scaler object may use the policy type", func(t *testing.T) {
		_, errs := v1alpha1.Spec(object(`{"target": {"kind": "log"}, "signals": [{"name": "rps", "query": "x"}],
		  "policies": [{"name": "fixed", "type": "proof_fixed", "proof_fixed": {"replicas": 3}}], "bounds": {"max": 10}}`), cfg)
		if len(errs) > 0 {
			t.Errorf("problems: %v", fielderr.Lines(errs))
		}
	})

	t.Run("a Scaler object is refused the target kind, saying why", func(t *testing.T) {
		_, errs := v1alpha1.Spec(object(`{"target": {"kind": "proof_meter", "proof_meter": {"start": 1}}, "signals": [{"name": "rps", "query": "x"}],
		  "policies": [{"name": "fixed", "type": "proof_fixed", "proof_fixed": {"replicas": 3}}], "bounds": {"max": 10}}`), cfg)
		want := []string{`spec.target.kind: "proof_meter": ` + notReached}
		if diff := cmp.Diff(want, fielderr.Lines(errs)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
}
