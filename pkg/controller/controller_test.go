package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// runner records what the controller asks of the manager.
type runner struct {
	mu      sync.Mutex
	running map[string]config.Scaler
	sets    int
	acting  bool
	failSet error
}

func (r *runner) Set(rs resolved.Scaler) error {
	sc := rs.Declared.(config.Scaler)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failSet != nil {
		return r.failSet
	}
	r.sets++
	r.running[sc.Name] = sc
	return nil
}

func (r *runner) Remove(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.running[name]
	delete(r.running, name)
	return ok
}

func (r *runner) Acting(string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acting
}

const validSpec = `{
  "target": {"kind": "kubernetes", "kubernetes": {"api_version": "apps/v1", "kind": "Deployment", "name": "web"}},
  "signals": [{"name": "rps", "query": "sum(rate(http_requests_total{job=\"web\"}[2m]))"}],
  "policies": [{"name": "rps", "type": "target_tracking", "target_tracking": {"signal": "rps", "target_type": "average_value", "target": 50}}],
  "bounds": {"min": 2, "max": 20}}`

func scaler(t *testing.T, ns, name string, generation int64, spec string) *unstructured.Unstructured {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": v1alpha1.APIVersion, "kind": v1alpha1.Kind, "spec": s}}
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetGeneration(generation)
	u.SetUID(types.UID("uid-" + ns + "-" + name))
	return u
}

type fixture struct {
	c      *Controller
	r      *runner
	clock  *clocktesting.FakeClock
	write  *dynamicfake.FakeDynamicClient
	core   *kubefake.Clientset
	cfg    *config.Config
	ctx    context.Context
	cancel context.CancelFunc
}

func newFixture(t *testing.T, objs ...*unstructured.Unstructured) *fixture {
	t.Helper()
	cfg := config.Defaults()
	cfg.Prometheus.URL = "http://prom:9090"
	cfg.ScalerObjects.Enabled = true
	scheme := runtime.NewScheme()
	lists := map[schema.GroupVersionResource]string{v1alpha1.GroupVersionResource: "ScalerList"}
	var robjs []runtime.Object
	for _, o := range objs {
		robjs = append(robjs, o.DeepCopy())
	}
	f := &fixture{
		r:     &runner{running: map[string]config.Scaler{}, acting: true},
		clock: clocktesting.NewFakeClock(t0),
		write: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, lists, robjs...),
		core:  kubefake.NewClientset(),
		cfg:   cfg,
	}
	c, err := New(cfg, Options{Watch: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, lists), Write: f.write, Core: f.core,
		Runner: f.r, Identity: "test", Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	for _, o := range objs {
		f.put(t, o)
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	t.Cleanup(f.cancel)
	return f
}

// put places obj in the informer's cache, as a watch event would.
func (f *fixture) put(t *testing.T, obj *unstructured.Unstructured) {
	t.Helper()
	if err := f.c.informers[""].GetStore().Update(obj); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) sync(t *testing.T, key string) {
	t.Helper()
	if err := f.c.sync(f.ctx, key); err != nil {
		t.Fatalf("sync %s: %v", key, err)
	}
}

// writeStatus runs the status writer for key once, and returns the status
// it wrote, or nil.
func (f *fixture) writeStatus(t *testing.T, key string) *v1alpha1.ScalerStatus {
	t.Helper()
	f.write.ClearActions()
	if err := f.c.status.write(f.ctx, key); err != nil {
		t.Fatalf("write %s: %v", key, err)
	}
	var got *v1alpha1.ScalerStatus
	for _, a := range f.write.Actions() {
		p, ok := a.(clienttesting.PatchAction)
		if !ok || p.GetSubresource() != "status" {
			t.Fatalf("unexpected action %v", a)
		}
		var ops []struct {
			Path  string                `json:"path"`
			Value v1alpha1.ScalerStatus `json:"value"`
		}
		if err := json.Unmarshal(p.GetPatch(), &ops); err != nil || len(ops) != 1 || ops[0].Path != "/status" {
			t.Fatalf("patch %s: %v", p.GetPatch(), err)
		}
		got = &ops[0].Value
		// The API server would now hold it, and the informer show it.
		obj := f.c.object(key).DeepCopy()
		raw, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(got)
		obj.Object["status"] = raw
		f.put(t, obj)
	}
	return got
}

func condition(s *v1alpha1.ScalerStatus, typ string) string {
	for _, c := range s.Conditions {
		if c.Type == typ {
			return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
		}
	}
	return "absent"
}

func decision(key string, current, desired int32, outcome scaling.Outcome, at time.Time) scaling.Decision {
	return scaling.Decision{Scaler: key, Time: at, Current: current, Ready: current, Desired: desired, Outcome: outcome,
		Direction: scaling.DirectionOf(current, desired), Signals: []scaling.SignalValue{{Name: "rps", Value: 123.456789}}}
}

// A created Scaler runs, named namespace/name; its status follows what
// scaled decides, written when something shown changes.
func TestAScalerRunsAndItsStatusFollows(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "web", 1, validSpec))
	f.sync(t, "shop/web")
	sc, ok := f.r.running["shop/web"]
	if !ok || sc.Signals[0].Expr() != `sum(rate(http_requests_total{job="web",namespace="shop"}[2m]))` {
		t.Fatalf("running = %v; want shop/web with its query confined", f.r.running)
	}
	s := f.writeStatus(t, "shop/web")
	if s == nil || s.ObservedGeneration != 1 || s.Target != "Deployment/web" || condition(s, "Ready") != "Unknown WaitingForDecision: the spec is valid; scaled has not decided yet" {
		t.Fatalf("status before a decision = %+v", s)
	}

	f.clock.Step(15 * time.Second)
	f.c.Add(decision("shop/web", 2, 5, scaling.OutcomeApplied, f.clock.Now()))
	s = f.writeStatus(t, "shop/web")
	if s == nil {
		t.Fatal("no status written after the first decision")
	}
	want := map[string]string{
		"Ready":         "True TargetFound: the spec is valid and its target was read",
		"Active":        "True Acting: scaled sets the target's capacity",
		"Limited":       "False WithinLimits: no bound, schedule or rate limit held the last decision back",
		"SignalFailing": "False SignalsOK: every signal was read",
	}
	for typ, w := range want {
		if got := condition(s, typ); got != w {
			t.Errorf("%s = %q, want %q", typ, got, w)
		}
	}
	if *s.Current != 2 || *s.Desired != 5 || *s.Ready != 2 || s.LastDecision.Outcome != "applied" || s.Signals[0].Value != "123.5" {
		t.Errorf("status = %+v, %+v", s, s.LastDecision)
	}
	evs, _ := f.core.CoreV1().Events("shop").List(f.ctx, metav1.ListOptions{})
	if len(evs.Items) != 1 || evs.Items[0].Reason != "Scaled" || evs.Items[0].InvolvedObject.Kind != "Scaler" ||
		!strings.HasPrefix(evs.Items[0].Message, "Scaled Deployment/web from 2 to 5") {
		t.Errorf("events = %+v, want one Scaled on the Scaler", evs.Items)
	}

	// The same again, a tick later: nothing to write.
	f.clock.Step(15 * time.Second)
	f.c.Add(decision("shop/web", 5, 5, scaling.OutcomeUnchanged, f.clock.Now()))
	if s := f.writeStatus(t, "shop/web"); s == nil || s.LastDecision.Outcome != "unchanged" {
		t.Fatalf("outcome changed to unchanged: status %+v", s)
	}
	for range 4 {
		f.clock.Step(15 * time.Second)
		f.c.Add(decision("shop/web", 5, 5, scaling.OutcomeUnchanged, f.clock.Now()))
		if s := f.writeStatus(t, "shop/web"); s != nil {
			t.Fatalf("an unchanged decision was written: %+v", s)
		}
	}
	// ...until a refresh is due.
	f.clock.Step(config.DefaultStatusRefresh)
	f.c.Add(decision("shop/web", 5, 5, scaling.OutcomeUnchanged, f.clock.Now()))
	if s := f.writeStatus(t, "shop/web"); s == nil || !s.LastDecision.Time.Time.Equal(f.clock.Now()) {
		t.Errorf("no refresh after %s: %+v", config.DefaultStatusRefresh, s)
	}
}

// A semantic problem refuses the spec with the message scaled check
// prints; the previous valid spec keeps running.
func TestAnInvalidSpecIsRefusedAndTheLastValidOneRuns(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "web", 1, validSpec))
	f.sync(t, "shop/web")
	before := f.r.running["shop/web"]
	bad := strings.Replace(validSpec, `"signal": "rps"`, `"signal": "latency"`, 1)
	f.put(t, scaler(t, "shop", "web", 2, bad))
	f.sync(t, "shop/web")
	if f.r.sets != 1 || !before.Equal(f.r.running["shop/web"]) {
		t.Errorf("an invalid spec reached the manager (%d sets)", f.r.sets)
	}
	s := f.writeStatus(t, "shop/web")
	want := `False InvalidSpec: spec.policies[0].target_tracking.signal: "latency": must name one of the scaler's signals: rps (nothing of this generation runs; the last valid spec keeps running)`
	if s == nil || condition(s, "Ready") != want || s.ObservedGeneration != 2 {
		t.Errorf("status = %+v\nReady = %s\nwant %s", s, condition(s, "Ready"), want)
	}
	evs, _ := f.core.CoreV1().Events("shop").List(f.ctx, metav1.ListOptions{})
	if len(evs.Items) != 1 || evs.Items[0].Type != corev1.EventTypeWarning || evs.Items[0].Reason != "InvalidSpec" {
		t.Errorf("events = %+v, want one InvalidSpec warning", evs.Items)
	}
}

// Tenancy: a Scaler that targets another namespace's Deployment never runs.
func TestAnotherNamespacesTargetIsRefused(t *testing.T) {
	spec := strings.Replace(validSpec, `"name": "web"}`, `"namespace": "bank", "name": "web"}`, 1)
	f := newFixture(t, scaler(t, "shop", "web", 1, spec))
	f.sync(t, "shop/web")
	if len(f.r.running) != 0 {
		t.Fatalf("running = %v, want nothing", f.r.running)
	}
	s := f.writeStatus(t, "shop/web")
	if got := condition(s, "Ready"); !strings.HasPrefix(got, `False InvalidSpec: spec.target.kubernetes.namespace: "bank": must be the Scaler's own namespace, "shop"`) {
		t.Errorf("Ready = %s", got)
	}
	if got := condition(s, "Active"); got != "False NotStarted: no valid spec of this Scaler runs" {
		t.Errorf("Active = %s", got)
	}
}

// A deleted Scaler stops; a replica that does not act for a Scaler never
// writes its status.
func TestDeleteStopsAndStandbyNeverWrites(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "web", 1, validSpec))
	f.sync(t, "shop/web")
	f.r.acting = false
	f.c.Add(decision("shop/web", 2, 5, scaling.OutcomeDryRun, f.clock.Now()))
	if s := f.writeStatus(t, "shop/web"); s != nil {
		t.Errorf("a standby wrote %+v", s)
	}
	if err := f.c.informers[""].GetStore().Delete(f.c.object("shop/web")); err != nil {
		t.Fatal(err)
	}
	f.sync(t, "shop/web")
	if len(f.r.running) != 0 || len(f.c.status.states) != 0 {
		t.Errorf("after delete: running %v, states %v", f.r.running, f.c.status.states)
	}
}

// The informer keeps of a Scaler what scaled reads, not managedFields nor
// kubectl's copy of the applied object.
func TestTrimKeepsWhatScaledReads(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.APIVersion, "kind": v1alpha1.Kind,
		"metadata": map[string]any{
			"name": "web", "namespace": "shop", "generation": int64(2),
			"annotations":   map[string]any{lastApplied: `{"spec":{}}`, "team": "shop"},
			"managedFields": []any{map[string]any{"manager": "kubectl", "operation": "Apply"}},
		},
		"spec": map[string]any{"bounds": map[string]any{"max": int64(3)}},
	}}
	got, err := trim(u)
	if err != nil {
		t.Fatal(err)
	}
	g := got.(*unstructured.Unstructured)
	if len(g.GetManagedFields()) != 0 || g.GetAnnotations()[lastApplied] != "" {
		t.Errorf("trimmed object still holds managedFields or %s: %v", lastApplied, g.Object["metadata"])
	}
	if g.GetAnnotations()["team"] != "shop" || g.GetGeneration() != 2 || g.Object["spec"] == nil {
		t.Errorf("trim dropped what scaled reads: %v", g.Object)
	}
	if tomb, _ := trim(cache.DeletedFinalStateUnknown{Key: "shop/web"}); tomb == nil {
		t.Error("a tombstone was lost")
	}
}

// A target's warning (a reader that died as it was created) is a Warning
// Event on its Scaler, recorded at the next status write.
func TestATargetsWarningIsAnEventOnTheScaler(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "web", 1, validSpec))
	f.sync(t, "shop/web")
	w, ok := f.c.TargetObserver("shop/web").(actuators.WarningObserver)
	if !ok {
		t.Fatal("the controller's target observer takes no warnings")
	}
	w.ObserveWarning(actuators.WarningReaderDied, "reader orders-scaled-1 that scaled created is incompatible-parameters and never served: no reader is created for 30m")
	f.writeStatus(t, "shop/web")
	evs, _ := f.core.CoreV1().Events("shop").List(f.ctx, metav1.ListOptions{})
	var got []string
	for _, e := range evs.Items {
		got = append(got, e.Type+" "+e.Reason+" "+e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+": "+e.Message)
	}
	want := []string{"Warning ReaderDiedOnCreation Scaler/web: reader orders-scaled-1 that scaled created is incompatible-parameters and never served: no reader is created for 30m"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
