package actuators

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestReadyOf(t *testing.T) {
	scale := &autoscalingv1.Scale{Status: autoscalingv1.ScaleStatus{Replicas: 4}}
	for _, tc := range []struct {
		name string
		obj  map[string]any
		want int32
	}{
		{"readyReplicas", map[string]any{"apiVersion": "apps/v1", "status": map[string]any{"readyReplicas": int64(3)}}, 3},
		{"apps omits 0", map[string]any{"apiVersion": "apps/v1", "status": map[string]any{"replicas": int64(4)}}, 0},
		{"rollout omits 0", map[string]any{"apiVersion": "argoproj.io/v1alpha1", "status": map[string]any{}}, 0},
		{"custom kind without readyReplicas", map[string]any{"apiVersion": "example.com/v1", "status": map[string]any{"replicas": int64(4)}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readyOf(&unstructured.Unstructured{Object: tc.obj}, scale); got != tc.want {
				t.Errorf("readyOf = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestTargetsMatchesScaleTargetRef(t *testing.T) {
	k, err := NewKubernetes(KubernetesTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: "web"},
		KubernetesOptions{Clients: &KubeClients{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		apiVersion, kind, name string
		want                   bool
	}{
		{"apps/v1", "Deployment", "web", true},
		{"apps/v1beta2", "Deployment", "web", true}, // another version of the same group
		{"apps/v1", "StatefulSet", "web", false},
		{"apps/v1", "Deployment", "api", false},
		{"example.com/v1", "Deployment", "web", false},
		{"a/b/c", "Deployment", "web", false},
	} {
		if got := k.targets(tc.apiVersion, tc.kind, tc.name); got != tc.want {
			t.Errorf("targets(%s, %s, %s) = %v, want %v", tc.apiVersion, tc.kind, tc.name, got, tc.want)
		}
	}
	if _, err := NewKubernetes(KubernetesTarget{APIVersion: "a/b/c"}, KubernetesOptions{Clients: &KubeClients{}}); err == nil {
		t.Error("a bad api_version was accepted")
	}
}
