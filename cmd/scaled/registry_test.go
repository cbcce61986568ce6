package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/viper"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/simulate"
)

// A target kind and a policy type registered here, in a test file and
// nowhere else, go through everything a built-in one does: config load,
// scaled check, the daemon's loop acting on the target, and scaled
// simulate. No file outside this one names them: that is the registry's
// promise (docs/configuration.md, "Extending scaled").

const (
	fakeTargetKind actuators.TargetKind = "fake_counter"
	fakePolicyType policy.PolicyType    = "fake_fixed"
)

func init() {
	actuators.Register(fakeTargetKind, func() actuators.TargetSpec { return &fakeCounterSpec{} })
	policy.Register(fakePolicyType, func() policy.PolicySpec { return &fakeFixedSpec{} })
}

// fakeCounterSpec is the block of a target that counts in memory what it is
// set to, by scaler, for the test to read.
type fakeCounterSpec struct {
	Initial int32 `json:"initial,omitempty"`
}

func (s *fakeCounterSpec) Default(string) {}

func (s *fakeCounterSpec) Validate(_ string, path *field.Path) field.ErrorList {
	if s.Initial < 0 {
		return field.ErrorList{fielderr.Invalid(path.Child("initial"), s.Initial, "must be >= 0")}
	}
	return nil
}

func (s *fakeCounterSpec) DefaultBehavior() policy.Behavior { return policy.DefaultBehavior() }

func (s *fakeCounterSpec) New(deps actuators.Deps) (actuators.Actuator, error) {
	c := &fakeCounter{cap: s.Initial}
	fakeCounters.Store(deps.Scaler, c)
	return c, nil
}

var fakeCounters sync.Map // scaler name -> *fakeCounter

type fakeCounter struct {
	mu   sync.Mutex
	cap  int32
	sets []int32
}

func (c *fakeCounter) Read(context.Context) (scaling.Capacity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return scaling.Capacity{Current: c.cap, Ready: c.cap}, nil
}

func (c *fakeCounter) Set(_ context.Context, n int32, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cap, c.sets = n, append(c.sets, n)
	return nil
}

func (c *fakeCounter) setsSoFar() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int32(nil), c.sets...)
}

// fakeFixedSpec is the block of a policy that recommends a fixed capacity
// while its signal reads.
type fakeFixedSpec struct {
	Signal   string `json:"signal,omitempty"`
	Replicas int32  `json:"replicas,omitempty"`
}

func (s *fakeFixedSpec) Default() {}

func (s *fakeFixedSpec) New(name string, ctx policy.ScalerContext, path *field.Path) (policy.Policy, field.ErrorList) {
	var errs field.ErrorList
	if e := ctx.RequireSignal(path.Child("signal"), s.Signal); e != nil {
		errs = append(errs, e)
	}
	if s.Replicas < 1 {
		errs = append(errs, fielderr.Invalid(path.Child("replicas"), s.Replicas, "must be >= 1"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &fakeFixed{name: name, spec: *s}, nil
}

type fakeFixed struct {
	name string
	spec fakeFixedSpec
}

func (p *fakeFixed) Name() string      { return p.name }
func (p *fakeFixed) Signals() []string { return []string{p.spec.Signal} }
func (p *fakeFixed) Recommend(in policy.Input) scaling.Recommendation {
	if r, ok := in.Signals[p.spec.Signal]; !ok || !r.OK() {
		return scaling.Recommendation{Abstain: true, Reason: "abstain: no reading"}
	}
	return scaling.Recommendation{Replicas: p.spec.Replicas, Reason: fmt.Sprintf("fixed at %d", p.spec.Replicas)}
}

// fakeKindsConfig is a config of one scaler that uses only the fake kinds;
// its signal replays a recorded trace, so the daemon runs on a fast clock.
func fakeKindsConfig(t *testing.T, replicas int) string {
	t.Helper()
	trace, err := filepath.Abs("../../testdata/traces/demo.csv")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fake.yaml")
	cfg := fmt.Sprintf(`listen: "127.0.0.1:0"
log: {level: error}
scalers:
  - name: fake
    target: {kind: fake_counter, fake_counter: {initial: 1}}
    signals: [{name: demand, replay: {trace: %s, speed: 60, loop: true, expr: rate}}]
    policies:
      - {name: fixed, type: fake_fixed, fake_fixed: {signal: demand, replicas: %d}}
    bounds: {min: 1, max: 10}
`, trace, replicas)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAKindRegisteredInATestGoesThroughTheWholeProduct(t *testing.T) {
	path := fakeKindsConfig(t, 5)

	t.Run("config load", func(t *testing.T) {
		cfg, err := config.Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		sc := cfg.Scalers[0]
		if _, ok := sc.Target.Spec.(*fakeCounterSpec); !ok || sc.Policies[0].Spec.(*fakeFixedSpec).Replicas != 5 {
			t.Errorf("target %#v, policy %#v", sc.Target, sc.Policies[0])
		}
	})

	t.Run("scaled check", func(t *testing.T) {
		var out bytes.Buffer
		if err := check(context.Background(), &out, viper.New(), path, "", false); err != nil {
			t.Fatalf("check: %v\n%s", err, out.String())
		}
		if want := path + ": valid, 1 scaler(s)\n"; out.String() != want {
			t.Errorf("check printed %q, want %q", out.String(), want)
		}
		bad := fakeKindsConfig(t, 0)
		out.Reset()
		err := check(context.Background(), &out, viper.New(), bad, "", false)
		want := bad + ": 1 problem(s)\n  scalers[0].policies[0].fake_fixed.replicas: 0: must be >= 1\n"
		if exitCode(err) != 2 || out.String() != want {
			t.Errorf("check of a bad fake block: exit %d, printed %q, want %q", exitCode(err), out.String(), want)
		}
	})

	t.Run("the daemon acts on the target", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- runDaemon(ctx, viper.New(), path, runFlags{}) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runDaemon: %v", err)
			}
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if c, ok := fakeCounters.Load("fake"); ok && len(c.(*fakeCounter).setsSoFar()) > 0 {
				if sets := c.(*fakeCounter).setsSoFar(); sets[0] != 5 {
					t.Errorf("the target was set to %v, want 5 first", sets)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the daemon never set the fake target")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("scaled simulate", func(t *testing.T) {
		timeline := filepath.Join(t.TempDir(), "timeline.csv")
		f := simulateFlags{config: path, trace: "../../testdata/traces/demo.csv", out: timeline, format: "json",
			initial: -1, params: simulate.DefaultParams(), hpaTargets: "0.6",
			history: historyFlags{rangeLen: 14 * 24 * time.Hour, step: time.Minute}}
		var out bytes.Buffer
		if err := runSimulate(context.Background(), &out, io.Discard, f); err != nil {
			t.Fatalf("simulate: %v", err)
		}
		fh, err := os.Open(timeline)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		rows, err := csv.NewReader(fh).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 100 || strings.Join(rows[0], ",") != simulate.TimelineHeader {
			t.Fatalf("timeline of %d rows, header %v", len(rows), rows[0])
		}
		for _, r := range rows[10:] { // once the first window is observed, the policy holds 5
			if r[4] != "5" {
				t.Fatalf("replicas %s at %s, want 5 from the fake policy", r[4], r[0])
			}
		}
	})
}
