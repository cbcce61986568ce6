//go:build kube

package kube

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/pkg/actuators"
)

func fakeNodeDeployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{
					Containers:   []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}},
					Tolerations:  []corev1.Toleration{kubetest.FakeNodeToleration},
					NodeSelector: map[string]string{"type": "kwok"},
				},
			}},
	}
}

// With controllers, a scheduler and a kwok node, pods follow what scaled
// sets, and the ready count scaled reads is the pods that are ready.
func TestPodsFollowTheScale(t *testing.T) {
	c := sharedCluster(t)
	ns := c.namespace(t, "follow", 1, "web")
	cs := c.admin
	ctx := context.Background()
	clients, err := actuators.NewKubeClients(c.Admin())
	if err != nil {
		t.Fatal(err)
	}
	k, err := actuators.NewKubernetes(actuators.KubernetesTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "web"},
		actuators.KubernetesOptions{Clients: clients})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int32{4, 2} {
		start := time.Now()
		if err := k.Set(ctx, n, "test"); err != nil {
			t.Fatal(err)
		}
		kubetest.Eventually(t, 60*time.Second, "ready replicas follow", func() (bool, error) {
			c, err := k.Read(ctx)
			if err != nil {
				return false, err
			}
			pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil {
				return false, err
			}
			ready := int32(0)
			for _, p := range pods.Items {
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
						ready++
					}
				}
			}
			return c.Current == n && c.Ready == n && ready == n, nil
		})
		t.Logf("scaled to %d: %d ready pods after %s", n, n, time.Since(start).Round(100*time.Millisecond))
	}
}
