//go:build kube

package actuators

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/scaled-dev/scaled/internal/kubetest"
)

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, kubetest.Options{}))
}

type kubeEnv struct {
	cp      *kubetest.ControlPlane
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	clients *KubeClients
	ns      string
}

func newKubeEnv(t *testing.T) *kubeEnv {
	t.Helper()
	cp := kubetest.Shared(t)
	clients, err := NewKubeClients(cp.Admin())
	if err != nil {
		t.Fatal(err)
	}
	return &kubeEnv{cp: cp, cs: kubernetes.NewForConfigOrDie(cp.Admin()), dyn: dynamic.NewForConfigOrDie(cp.Admin()),
		clients: clients, ns: cp.Namespace(t, strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))}
}

func podTemplate(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}},
	}
}

func (e *kubeEnv) deployment(t *testing.T, name string, replicas int32) {
	t.Helper()
	CreateDeployment(t, e.cs, e.ns, name, replicas)
}

// CreateDeployment makes Deployment name in namespace ns, asking for
// replicas pods labelled app=name, which never run (no node takes them).
// Exported, as EventMessages, for the package's external tests.
func CreateDeployment(t *testing.T, cs kubernetes.Interface, ns, name string, replicas int32) {
	t.Helper()
	_, err := cs.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *kubeEnv) target(t *testing.T, apiVersion, kind, name string, reg prometheus.Registerer, mut ...func(*KubernetesOptions)) *Kubernetes {
	t.Helper()
	o := KubernetesOptions{Clients: e.clients, Scaler: "s", Identity: "test", Metrics: NewKubeMetrics(reg)}
	for _, f := range mut {
		f(&o)
	}
	k, err := NewKubernetes(KubernetesTarget{APIVersion: apiVersion, Kind: kind, Namespace: e.ns, Name: name}, o)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// events returns the messages of the events with reason on name.
func (e *kubeEnv) events(t *testing.T, name, reason string) []string {
	t.Helper()
	return EventMessages(t, e.cs, e.ns, name, reason)
}

// EventMessages returns the messages of the events with reason on the
// object name in namespace ns.
func EventMessages(t *testing.T, cs kubernetes.Interface, ns, name, reason string) []string {
	t.Helper()
	list, err := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name == name && ev.Reason == reason {
			out = append(out, ev.Message)
		}
	}
	return out
}

func specReplicas(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns, name string) int64 {
	t.Helper()
	u, err := dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	return n
}

// scaleAndCheck reads, sets and reads back through the API, then checks the Event.
func scaleAndCheck(t *testing.T, e *kubeEnv, k *Kubernetes, gvr schema.GroupVersionResource, name string, from, to int32) {
	t.Helper()
	ctx := context.Background()
	c, err := k.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if c.Current != from {
		t.Fatalf("Read().Current = %d, want %d", c.Current, from)
	}
	if err := k.Set(ctx, to, "rps: 12 per replica over target 10"); err != nil {
		t.Fatalf("Set(%d): %v", to, err)
	}
	if got := specReplicas(t, e.dyn, gvr, e.ns, name); got != int64(to) {
		t.Fatalf("spec.replicas through the API = %d, want %d", got, to)
	}
	if c, err = k.Read(ctx); err != nil || c.Current != to {
		t.Fatalf("Read after Set = %+v, %v; want current %d", c, err, to)
	}
	// Setting what is there is a no-op: no second Event.
	if err := k.Set(ctx, to, "same"); err != nil {
		t.Fatalf("Set same: %v", err)
	}
	evs := e.events(t, name, EventReasonScaled)
	if len(evs) != 1 {
		t.Fatalf("Scaled events on %s = %q, want exactly one", name, evs)
	}
	if want := "from " + itoa(from) + " to " + itoa(to) + ": rps: 12 per replica over target 10"; !strings.Contains(evs[0], want) {
		t.Errorf("event message %q does not contain %q", evs[0], want)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func TestKubeScaleDeployment(t *testing.T) {
	e := newKubeEnv(t)
	e.deployment(t, "web", 2)
	k := e.target(t, "apps/v1", "Deployment", "web", nil)
	scaleAndCheck(t, e, k, appsv1.SchemeGroupVersion.WithResource("deployments"), "web", 2, 5)
	// Without controllers no pod exists: readyReplicas is absent, so ready is 0.
	if c, _ := k.Read(context.Background()); c.Ready != 0 {
		t.Errorf("ready = %d with no pods, want 0", c.Ready)
	}
}

func TestKubeScaleStatefulSet(t *testing.T) {
	e := newKubeEnv(t)
	_, err := e.cs.AppsV1().StatefulSets(e.ns).Create(context.Background(), &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(int32(1)), ServiceName: "db",
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, Template: podTemplate("db")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k := e.target(t, "apps/v1", "StatefulSet", "db", nil)
	scaleAndCheck(t, e, k, appsv1.SchemeGroupVersion.WithResource("statefulsets"), "db", 1, 3)
}

// A custom resource with a scale subresource, installed after the clients
// were made: discovery is refreshed when the kind is first unknown.
func TestKubeScaleCustomResource(t *testing.T) {
	e := newKubeEnv(t)
	group := "scaletest.example.com"
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets." + group},
		"spec": map[string]any{
			"group": group, "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": map[string]any{
					"spec": map[string]any{"type": "object", "properties": map[string]any{
						"replicas": map[string]any{"type": "integer"}, "selector": map[string]any{"type": "string"}}},
					"status": map[string]any{"type": "object", "properties": map[string]any{
						"replicas": map[string]any{"type": "integer"}, "selector": map[string]any{"type": "string"}}},
				}}},
				"subresources": map[string]any{"status": map[string]any{}, "scale": map[string]any{
					"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
			}},
		},
	}}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	ctx := context.Background()
	if _, err := e.dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}
	w := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": group + "/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}, "spec": map[string]any{"replicas": int64(4)}}}
	kubetest.Eventually(t, 30*time.Second, "CRD established", func() (bool, error) {
		_, err := e.dyn.Resource(gvr).Namespace(e.ns).Create(ctx, w, metav1.CreateOptions{})
		return err == nil, err
	})
	// status.replicas (what /scale reports as status) stands for ready when the kind has no readyReplicas.
	w, _ = e.dyn.Resource(gvr).Namespace(e.ns).Get(ctx, "w", metav1.GetOptions{})
	_ = unstructured.SetNestedField(w.Object, int64(3), "status", "replicas")
	if _, err := e.dyn.Resource(gvr).Namespace(e.ns).UpdateStatus(ctx, w, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := e.target(t, group+"/v1", "Widget", "w", nil)
	if c, err := k.Read(ctx); err != nil || c.Ready != 3 {
		t.Fatalf("Read = %+v, %v; want ready 3 from status.replicas", c, err)
	}
	scaleAndCheck(t, e, k, gvr, "w", 4, 6)
}

func TestKubeConflictIsRetriedOnTheFreshObject(t *testing.T) {
	e := newKubeEnv(t)
	e.deployment(t, "web", 2)
	reg := prometheus.NewPedanticRegistry()
	k := e.target(t, "apps/v1", "Deployment", "web", reg)
	writes := 0
	k.beforeUpdate = func() {
		writes++
		if writes > 1 {
			return
		}
		// Another writer wins between our read and our write.
		d, err := e.cs.AppsV1().Deployments(e.ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		d.Spec.Replicas = ptr.To(int32(7))
		if _, err := e.cs.AppsV1().Deployments(e.ns).Update(context.Background(), d, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}
	if err := k.Set(context.Background(), 4, "test"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if writes != 2 {
		t.Errorf("write attempts = %d, want 2 (one conflict, one retry)", writes)
	}
	if got := specReplicas(t, e.dyn, appsv1.SchemeGroupVersion.WithResource("deployments"), e.ns, "web"); got != 4 {
		t.Errorf("spec.replicas = %d, want 4", got)
	}
	// A conflict the retry resolved is no error of the target.
	// The Event says where the retry started from: the other writer's 7.
	if evs := e.events(t, "web", EventReasonScaled); len(evs) != 1 || !strings.Contains(evs[0], "from 7 to 4") {
		t.Errorf("events = %q, want one saying from 7 to 4", evs)
	}
}

func TestKubeRefusesATargetAnHPAScales(t *testing.T) {
	e := newKubeEnv(t)
	e.deployment(t, "web", 2)
	_, err := e.cs.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Create(context.Background(), &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web-hpa"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To(int32(1)), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(50))}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	k := e.target(t, "apps/v1", "Deployment", "web", reg)
	err = k.Set(context.Background(), 5, "test")
	if !errors.Is(err, ErrOtherAutoscaler) || !strings.Contains(err.Error(), "HorizontalPodAutoscaler web-hpa") {
		t.Fatalf("Set = %v, want ErrOtherAutoscaler naming web-hpa", err)
	}
	if r := ErrorReason(err); r != KubeOtherAutoscaler {
		t.Errorf("reason %q, want %q", r, KubeOtherAutoscaler)
	}
	if got := specReplicas(t, e.dyn, appsv1.SchemeGroupVersion.WithResource("deployments"), e.ns, "web"); got != 2 {
		t.Errorf("spec.replicas = %d after a refusal, want 2 untouched", got)
	}
	if evs := e.events(t, "web", EventReasonRefused); len(evs) != 1 || !strings.Contains(evs[0], "web-hpa") {
		t.Errorf("refusal events = %q, want one naming web-hpa", evs)
	}
	// An HPA on another object does not stop a take-over target, nor does
	// this one when take_over says so.
	k2, err := NewKubernetes(KubernetesTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: e.ns, Name: "web", TakeOver: true},
		KubernetesOptions{Clients: e.clients})
	if err != nil {
		t.Fatal(err)
	}
	if err := k2.Set(context.Background(), 5, "take over"); err != nil {
		t.Fatalf("Set with take_over: %v", err)
	}
	if got := specReplicas(t, e.dyn, appsv1.SchemeGroupVersion.WithResource("deployments"), e.ns, "web"); got != 5 {
		t.Errorf("spec.replicas = %d with take_over, want 5", got)
	}
}

// What goes wrong comes back named by reason, and Instrument counts each
// failed call once under it.
func TestKubeErrorsAreNamed(t *testing.T) {
	e := newKubeEnv(t)
	obs := &observedTarget{}
	k := Instrument(e.target(t, "apps/v1", "Deployment", "absent", prometheus.NewPedanticRegistry()), obs)
	if _, err := k.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "Deployment "+e.ns+"/absent not found") {
		t.Errorf("Read of a missing object = %v, want a not-found error naming it", err)
	}
	if err := k.Set(context.Background(), 3, "x"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Set of a missing object = %v, want not found", err)
	}
	u := Instrument(e.target(t, "example.com/v9", "Nothing", "x", prometheus.NewPedanticRegistry()), obs)
	if _, err := u.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "kind Nothing in api_version example.com/v9 is not served") {
		t.Errorf("Read of an unknown kind = %v", err)
	}
	e.deployment(t, "web", 1)
	w := Instrument(e.target(t, "apps/v1", "Deployment", "web", prometheus.NewPedanticRegistry()), obs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := w.Read(ctx); err == nil {
		t.Error("Read past its deadline succeeded")
	}
	want := []string{"read not_found", "set not_found", "read unknown_kind", "read timeout"}
	if diff := cmp.Diff(want, obs.calls); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}

func TestKubeEventsAreRateLimited(t *testing.T) {
	e := newKubeEnv(t)
	e.deployment(t, "web", 1)
	clk := clocktesting.NewFakePassiveClock(time.Now())
	k := e.target(t, "apps/v1", "Deployment", "web", prometheus.NewPedanticRegistry(), func(o *KubernetesOptions) {
		o.Clock, o.EventBurst, o.EventRefill = clk, 2, time.Minute
	})
	ctx := context.Background()
	for _, n := range []int32{2, 3, 4, 5} { // a flapping signal: four changes at once
		if err := k.Set(ctx, n, "flap"); err != nil {
			t.Fatal(err)
		}
	}
	if evs := e.events(t, "web", EventReasonScaled); len(evs) != 2 {
		t.Errorf("events after 4 changes with burst 2 = %d, want 2", len(evs))
	}
	if got := testutil.ToFloat64(k.o.Metrics.suppressed.WithLabelValues("s")); got != 2 {
		t.Errorf("suppressed = %v, want 2", got)
	}
	clk.SetTime(clk.Now().Add(time.Minute))
	if err := k.Set(ctx, 6, "later"); err != nil {
		t.Fatal(err)
	}
	if evs := e.events(t, "web", EventReasonScaled); len(evs) != 3 {
		t.Errorf("events a minute later = %d, want 3", len(evs))
	}
	if got := specReplicas(t, e.dyn, appsv1.SchemeGroupVersion.WithResource("deployments"), e.ns, "web"); got != 6 {
		t.Errorf("spec.replicas = %d, want 6: the rate limit holds Events back, never changes", got)
	}
}
