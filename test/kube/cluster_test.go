//go:build kube

package kube

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/scaled-dev/scaled/internal/kubetest"
)

// cluster is the shared control plane as this package's tests start from
// it: clients as admin, and Deployments on the fake nodes, read and scaled
// as another writer would.
type cluster struct {
	*kubetest.ControlPlane
	admin kubernetes.Interface
	dyn   dynamic.Interface
}

// sharedCluster is the package's control plane with its admin clients.
func sharedCluster(t *testing.T) *cluster {
	t.Helper()
	cp := kubetest.Shared(t)
	return &cluster{ControlPlane: cp, admin: kubernetes.NewForConfigOrDie(cp.Admin()), dyn: dynamic.NewForConfigOrDie(cp.Admin())}
}

// namespace is a new namespace named after prefix, holding a Deployment of
// the given replicas on the fake nodes for each of names.
func (c *cluster) namespace(t *testing.T, prefix string, replicas int32, names ...string) string {
	t.Helper()
	ns := c.Namespace(t, prefix)
	for _, name := range names {
		c.deploy(t, ns, name, replicas)
	}
	return ns
}

// deploy creates Deployment ns/name of the given replicas on the fake nodes.
func (c *cluster) deploy(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	if _, err := c.admin.AppsV1().Deployments(ns).Create(context.Background(), fakeNodeDeployment(name, replicas), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// replicas is the replicas Deployment ns/name's scale asks for.
func (c *cluster) replicas(t *testing.T, ns, name string) int32 {
	t.Helper()
	s, err := c.admin.AppsV1().Deployments(ns).GetScale(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.Replicas
}

// setReplicas sets Deployment ns/name's scale to n, unconditionally, as
// another writer would.
func (c *cluster) setReplicas(t *testing.T, ns, name string, n int32) {
	t.Helper()
	s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
	if _, err := c.admin.AppsV1().Deployments(ns).UpdateScale(context.Background(), name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// leaseHolder is who holds Lease scaled/name, "" when no one does (or it
// cannot be read).
func (c *cluster) leaseHolder(name string) string {
	l, err := c.admin.CoordinationV1().Leases("scaled").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// writeTrace writes a replay trace to path: 600 one-second steps, value(i)
// at step i, so that a value is there one second after start.
func writeTrace(t *testing.T, path string, value func(i int) int) {
	t.Helper()
	var trace strings.Builder
	trace.WriteString("timestamp,value\n")
	for i := range 600 {
		fmt.Fprintf(&trace, "%d,%d\n", 1700000000+i, value(i))
	}
	if err := os.WriteFile(path, []byte(trace.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}
