//go:build kube

package kube

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/pkg/actuators"
)

// With rbac.namespaces, the chart's service account scales in the listed
// namespaces and nowhere else: not in another namespace, not in kube-system.
func TestConfinedServiceAccountScalesOnlyInItsNamespaces(t *testing.T) {
	cp := kubetest.Shared(t)
	admin := kubernetes.NewForConfigOrDie(cp.Admin())
	ctx := context.Background()
	allowed, denied := cp.Namespace(t, "allowed"), cp.Namespace(t, "denied")
	for _, ns := range []string{allowed, denied, "kube-system"} {
		if _, err := admin.AppsV1().Deployments(ns).Create(ctx, fakeNodeDeployment("web", 1), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = admin.AppsV1().Deployments("kube-system").Delete(ctx, "web", metav1.DeleteOptions{}) })
	const release = "confined"
	if _, err := kubectl(t, []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"scaled-confined"}}`), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	helm := kubetest.Tool("helm")
	if helm == "" {
		t.Fatal("helm is not installed (hack/kube/install.sh)")
	}
	y, err := run(helm, "template", release, filepath.Join(repoRoot(t), "deploy", "helm", "scaled"), "--namespace", "scaled-confined",
		"--set", "rbac.namespaces={"+allowed+"}", "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(y), "kind: ClusterRole") {
		t.Fatalf("the confined chart renders a ClusterRole:\n%s", y)
	}
	if _, err := kubectl(t, y, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	tok, err := cp.ServiceAccountToken(ctx, "scaled-confined", release)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := actuators.NewKubeClients(cp.TokenConfig(tok))
	if err != nil {
		t.Fatal(err)
	}
	target := func(ns string) *actuators.Kubernetes {
		k, err := actuators.NewKubernetes(actuators.KubernetesTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "web"},
			actuators.KubernetesOptions{Clients: clients, Identity: "confined-test"})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if err := target(allowed).Set(ctx, 3, "confined test"); err != nil { // lists HPAs and ScaledObjects, writes /scale, records an Event
		t.Fatalf("scale in a listed namespace: %v", err)
	}
	for _, ns := range []string{denied, "kube-system"} {
		k := target(ns)
		if _, err := k.Read(ctx); err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Errorf("read in %s = %v, want forbidden", ns, err)
		}
		if err := k.Set(ctx, 5, "x"); err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Errorf("scale in %s = %v, want forbidden", ns, err)
		}
		if d, err := admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil || *d.Spec.Replicas != 1 {
			t.Errorf("%s/web was scaled without permission: %v %v", ns, d.Spec.Replicas, err)
		}
	}
}
