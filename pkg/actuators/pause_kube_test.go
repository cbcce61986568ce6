//go:build kube

package actuators_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// A workload scaled to 0 replicas while the scaler's bounds.min is above 0
// is paused, as the HPA reads it (kubectl scale --replicas=0): scaled
// leaves it at 0 and records why, until someone scales it up again. The
// scaled.dev/paused annotation pauses it where it is, and
// scaled.dev/paused-replicas holds it at the count it names, as KEDA's
// annotations do. Each start and end of a pause is an Event on the object,
// and the decision says why it held. With bounds.min 0, 0 replicas are not
// a pause: the scaler scales from zero.
func TestKubePauseAsTheHPAAndKEDA(t *testing.T) {
	cp := kubetest.Shared(t)
	cs := kubernetes.NewForConfigOrDie(cp.Admin())
	clients, err := actuators.NewKubeClients(cp.Admin())
	if err != nil {
		t.Fatal(err)
	}
	ns := cp.Namespace(t, "pause")
	ctx := context.Background()
	deployment := func(name string, replicas int32) {
		t.Helper()
		actuators.CreateDeployment(t, cs, ns, name, replicas)
	}
	replicas := func(name string) int32 {
		t.Helper()
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}
	annotate := func(name string, ann map[string]any) {
		t.Helper()
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
		if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	events := func(name, reason string) []string {
		t.Helper()
		return actuators.EventMessages(t, cs, ns, name, reason)
	}
	rps := &fakes.Source{Value: 50} // the signal is not what these tests are about
	scaler := func(name string, minReplicas int32) *engine.Scaler {
		t.Helper()
		k, err := actuators.NewKubernetes(actuators.KubernetesTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: name},
			actuators.KubernetesOptions{Clients: clients, Scaler: name, Identity: "test"})
		if err != nil {
			t.Fatal(err)
		}
		// 50 requests/s at 10 per replica: 5 replicas.
		tt, err := policy.NewTargetTracking("rps", "rps", policy.TargetAverageValue, 10, policy.DefaultTolerance)
		if err != nil {
			t.Fatal(err)
		}
		dec, errs := policy.NewDecider(policy.Spec{Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Min: minReplicas, Max: 10}}, nil)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		return engine.NewScaler(engine.ScalerSpec{Name: name, Decider: dec, Actuator: k, Interval: 15 * time.Second, QueryTimeout: 5 * time.Second,
			Signals: []engine.Signal{{Name: "rps", Expr: "rps", Source: rps}}}, nil, nil, nil)
	}
	pausedBy := func(d scaling.Decision) string {
		for _, a := range d.Adjustments {
			if a.Guard == policy.GuardPaused {
				return a.Reason
			}
		}
		return ""
	}
	now := time.Now()
	tick := func(s *engine.Scaler) scaling.Decision {
		t.Helper()
		now = now.Add(15 * time.Second)
		d := s.Tick(ctx, now)
		if d.Error != "" {
			t.Fatalf("tick: %s", d.Error)
		}
		return d
	}

	deployment("web", 0)
	web := scaler("web", 1)
	d := tick(web)
	if got := replicas("web"); got != 0 || d.Desired != 0 || d.Outcome != scaling.OutcomeUnchanged {
		t.Fatalf("0 replicas with bounds.min 1: replicas %d, decision %d (%s); want left at 0, as the HPA does", got, d.Desired, d.Outcome)
	}
	if why := pausedBy(d); !strings.Contains(why, "0 replicas while bounds.min is 1") {
		t.Errorf("decision's pause reason %q: want it to say 0 replicas and bounds.min 1", why)
	}
	tick(web) // still paused: one Event for the pause, not one per tick
	if ev := events("web", actuators.EventReasonPaused); len(ev) != 1 || !strings.Contains(ev[0], "autoscaling is paused") {
		t.Errorf("%s events %q: want one saying autoscaling is paused", actuators.EventReasonPaused, ev)
	}

	// Someone scales it up: scaled takes over again.
	if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := tick(web); d.Outcome != scaling.OutcomeApplied || replicas("web") != 5 {
		t.Fatalf("after a scale to 2: decision %d (%s), replicas %d; want 5 applied", d.Desired, d.Outcome, replicas("web"))
	}
	if ev := events("web", actuators.EventReasonResumed); len(ev) != 1 {
		t.Errorf("%s events %q: want one", actuators.EventReasonResumed, ev)
	}

	// The paused annotation holds it where it is, whatever the signal says.
	annotate("web", map[string]any{actuators.AnnotationPaused: "true"})
	rps.Set(80, nil)         // 8 replicas
	web2 := scaler("web", 1) // a fresh scaler: no stabilisation from the last one
	if d := tick(web2); replicas("web") != 5 || !strings.Contains(pausedBy(d), `annotation scaled.dev/paused is "true"`) {
		t.Fatalf("paused annotation: replicas %d, reason %q; want held at 5 naming the annotation", replicas("web"), pausedBy(d))
	}
	// paused-replicas holds it at the count it names.
	annotate("web", map[string]any{actuators.AnnotationPaused: nil, actuators.AnnotationPausedReplicas: "3"})
	if d := tick(web2); replicas("web") != 3 || d.Outcome != scaling.OutcomeApplied {
		t.Fatalf("paused-replicas 3: replicas %d, outcome %s; want set to 3", replicas("web"), d.Outcome)
	}
	if d := tick(web2); replicas("web") != 3 || d.Outcome != scaling.OutcomeUnchanged {
		t.Fatalf("paused-replicas 3, next tick: replicas %d, outcome %s; want held at 3", replicas("web"), d.Outcome)
	}
	// Without the annotations it scales again.
	annotate("web", map[string]any{actuators.AnnotationPausedReplicas: nil})
	if d := tick(web2); replicas("web") != 8 || pausedBy(d) != "" {
		t.Fatalf("annotations removed: replicas %d, pause %q; want 8 and no pause", replicas("web"), pausedBy(d))
	}

	// bounds.min 0: 0 replicas are where a scale to zero left it, not a pause.
	deployment("zero", 0)
	if d := tick(scaler("zero", 0)); replicas("zero") != 8 || pausedBy(d) != "" {
		t.Fatalf("0 replicas with bounds.min 0: replicas %d, pause %q; want scaled from zero to 8", replicas("zero"), pausedBy(d))
	}
}

// A shadow needs only to read: a dry-run scaler whose ServiceAccount may
// only get the Deployment and its scale decides from the replicas the
// Deployment has, and never needs more (a write with the same rights is
// forbidden, so nothing was written).
func TestKubeDryRunShadowNeedsOnlyRead(t *testing.T) {
	cp := kubetest.Shared(t)
	cs := kubernetes.NewForConfigOrDie(cp.Admin())
	ns := cp.Namespace(t, "shadow")
	ctx := context.Background()
	actuators.CreateDeployment(t, cs, ns, "web", 4)
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments", "deployments/scale"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "read"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "shadow", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token, err := cp.ServiceAccountToken(ctx, ns, "shadow")
	if err != nil {
		t.Fatal(err)
	}
	clients, err := actuators.NewKubeClients(cp.TokenConfig(token))
	if err != nil {
		t.Fatal(err)
	}
	k, err := actuators.NewKubernetes(actuators.KubernetesTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "web"},
		actuators.KubernetesOptions{Clients: clients, Scaler: "web", Identity: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tt, err := policy.NewTargetTracking("rps", "rps", policy.TargetAverageValue, 10, policy.DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	dec, errs := policy.NewDecider(policy.Spec{Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Min: 1, Max: 20}}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s := engine.NewScaler(engine.ScalerSpec{Name: "web", Decider: dec, Actuator: k, Interval: 15 * time.Second, QueryTimeout: 5 * time.Second,
		DryRun: true, Signals: []engine.Signal{{Name: "rps", Expr: "rps", Source: fakes.Constant(90)}}}, nil, nil, nil)
	var d scaling.Decision
	kubetest.Eventually(t, 30*time.Second, "the Role to take effect", func() (bool, error) {
		d = s.Tick(ctx, time.Now())
		return d.Error == "", nil
	})
	if d.Current != 4 || d.Desired != 9 || d.Outcome != scaling.OutcomeDryRun {
		t.Errorf("shadow decision: current %d, desired %d, outcome %s; want 4 (the Deployment's), 9, dry_run", d.Current, d.Desired, d.Outcome)
	}
	if err := k.Set(ctx, 9, "test"); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("Set with read-only rights = %v, want forbidden: the test's rights must not allow a write", err)
	}
}
