//go:build kube

package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/leader"
)

type standbyFlag struct{ on chan bool }

func (s standbyFlag) SetStandby(on bool) {
	select {
	case s.on <- on:
	default:
	}
}

// scaled, as the service account deploy/base binds, can do its whole job:
// read and scale a Deployment and a StatefulSet, check for HPAs and
// ScaledObjects, record Events, hold its Lease; and nothing else: no Secrets,
// no kinds it was not granted, no writes to the workloads themselves.
func TestServiceAccountCanDoItsJobAndNoMore(t *testing.T) {
	c := sharedCluster(t)
	cp, admin := c.ControlPlane, c.admin
	tok := saToken(t)
	ns := c.namespace(t, "rbac", 1, "web")
	ctx := context.Background()
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, secret("db-password"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := cp.TokenConfig(tok)
	clients, err := actuators.NewKubeClients(sa)
	if err != nil {
		t.Fatal(err)
	}
	target := func(apiVersion, kind, name string) *actuators.Kubernetes {
		k, err := actuators.NewKubernetes(actuators.KubernetesTarget{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name},
			actuators.KubernetesOptions{Clients: clients, Identity: "rbac-test"})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}

	// The whole job.
	web := target("apps/v1", "Deployment", "web")
	if _, err := web.Read(ctx); err != nil {
		t.Fatalf("read as the service account: %v", err)
	}
	if err := web.Set(ctx, 3, "rbac test"); err != nil { // lists HPAs and ScaledObjects, writes /scale, records an Event
		t.Fatalf("set as the service account: %v", err)
	}
	d, err := admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 3 {
		t.Fatalf("deployment after set = %v, %v; want 3 replicas", d.Spec.Replicas, err)
	}
	evs, err := admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=" + actuators.EventReasonScaled})
	if err != nil || len(evs.Items) != 1 || evs.Items[0].Source.Host != "rbac-test" {
		t.Fatalf("events = %+v, %v; want the one the service account recorded", evs, err)
	}
	lctx, cancel := context.WithCancel(ctx)
	sb := standbyFlag{on: make(chan bool, 4)}
	el, err := leader.New(kubernetes.NewForConfigOrDie(sa), config.LeaderElection{Enabled: true, Namespace: "scaled", LeaseName: "scaled",
		Identity: "rbac-test", LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond},
		sb, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = el.Run(lctx) }()
	kubetest.Eventually(t, 20*time.Second, "the service account holds its lease", func() (bool, error) { return el.Leading(), nil })
	cancel()
	<-done
	lease, err := admin.CoordinationV1().Leases("scaled").Get(ctx, "scaled", metav1.GetOptions{})
	if err != nil || (lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "") {
		t.Errorf("lease after release = %+v, %v; want no holder (ReleaseOnCancel)", lease.Spec, err)
	}

	// And no more.
	saCS := kubernetes.NewForConfigOrDie(sa)
	if _, err := saCS.CoreV1().Secrets(ns).Get(ctx, "db-password", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get secret as scaled = %v, want Forbidden", err)
	}
	if _, err := saCS.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as scaled = %v, want Forbidden", err)
	}
	d.Spec.Replicas = nil
	d.Labels = map[string]string{"tampered": "yes"}
	if _, err := saCS.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("update the deployment itself as scaled = %v, want Forbidden (only /scale is granted)", err)
	}
	if _, err := saCS.CoordinationV1().Leases(ns).Create(ctx, lease.DeepCopy(), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create a lease outside its namespace = %v, want Forbidden", err)
	}
	// A kind with /scale that was not granted: a ReplicationController.
	if _, err := kubectl(t, []byte(`{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"rc","namespace":"`+ns+`"},
"spec":{"replicas":1,"selector":{"app":"rc"},"template":{"metadata":{"labels":{"app":"rc"}},"spec":{"containers":[{"name":"c","image":"example.invalid/c"}]}}}}`),
		"apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	rc := target("v1", "ReplicationController", "rc")
	if _, err := rc.Read(ctx); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("read a kind not granted = %v, want forbidden", err)
	}
	if err := rc.Set(ctx, 2, "x"); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("scale a kind not granted = %v, want forbidden", err)
	}
	if got, _ := admin.CoreV1().ReplicationControllers(ns).Get(ctx, "rc", metav1.GetOptions{}); got == nil || *got.Spec.Replicas != 1 {
		t.Errorf("replication controller was scaled without permission")
	}
}

func secret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"password": "hunter2"}}
}
