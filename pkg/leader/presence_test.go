package leader

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// putPresence writes id's presence Lease as its heartbeat would, renewed at
// renew (on id's own clock).
func putPresence(t *testing.T, c *fake.Clientset, leaseName, id string, renew time.Time) {
	t.Helper()
	ctx := context.Background()
	leases := c.CoordinationV1().Leases("scaled")
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: ReplicaLease(leaseName, id), Namespace: "scaled", Labels: map[string]string{ReplicaLabel: leaseName}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(id), LeaseDurationSeconds: ptr.To[int32](4),
			RenewTime: &metav1.MicroTime{Time: renew}},
	}
	old, err := leases.Get(ctx, l.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
	case err == nil:
		l.ResourceVersion = old.ResourceVersion
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

func presenceExists(c *fake.Clientset, leaseName, id string) bool {
	_, err := c.CoordinationV1().Leases("scaled").Get(context.Background(), ReplicaLease(leaseName, id), metav1.GetOptions{})
	return err == nil
}

// A replica is live while its Lease keeps changing within its duration, as
// seen on the observer's clock (the renewTime written by a skewed clock does
// not matter); one that stopped is counted out after the duration and its
// Lease deleted. Leases of another deployment are not looked at.
func TestPresenceLiveWhileRenewed(t *testing.T) {
	c := newClient()
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	p := newPresence(c, "scaled", "scaled", "a", 4*time.Second, time.Second, clk)
	look := func() []string {
		t.Helper()
		live, err := p.look(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return live
	}
	skewed := clk.Now().Add(-time.Hour) // b's clock is an hour behind
	putPresence(t, c, "scaled", "b", skewed)
	putPresence(t, c, "scaled", "c", clk.Now())
	putPresence(t, c, "other", "d", clk.Now())
	if diff := cmp.Diff([]string{"a", "b", "c"}, look()); diff != "" {
		t.Fatalf("live at first look (-want +got):\n%s", diff)
	}
	for i := 1; i <= 3; i++ { // b renews every 2s, c never again
		clk.Step(2 * time.Second)
		putPresence(t, c, "scaled", "b", skewed.Add(time.Duration(i)*2*time.Second))
		look()
	}
	// c last changed 6s ago by a's clock: out, and its Lease deleted.
	if diff := cmp.Diff([]string{"a", "b"}, look()); diff != "" {
		t.Errorf("live after c stopped renewing (-want +got):\n%s", diff)
	}
	if presenceExists(c, "scaled", "c") {
		t.Error("c's expired presence lease was not deleted")
	}
	if !presenceExists(c, "other", "d") {
		t.Error("another deployment's presence lease was deleted")
	}
}

// A replica renews a presence Lease labelled with its deployment's
// lease_name while it runs, and deletes it when it leaves.
func TestPresenceRenewsAndLeaves(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the lease controller for a moment")
	}
	c := newClient()
	p := newPresence(c, "scaled", "scaled", "a", 4*time.Second, 50*time.Millisecond, clocktesting.NewFakeClock(time.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.renew(ctx) }()
	waitFor(t, "a's presence lease exists", func() bool { return presenceExists(c, "scaled", "a") })
	cancel()
	<-done
	l, err := c.CoordinationV1().Leases("scaled").Get(context.Background(), ReplicaLease("scaled", "a"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Labels[ReplicaLabel] != "scaled" || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "a" ||
		l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds != 4 {
		t.Errorf("presence lease = %+v, want labelled %s=scaled, held by a for 4s", l, ReplicaLabel)
	}
	if err := p.leave(time.Second); err != nil {
		t.Fatal(err)
	}
	if presenceExists(c, "scaled", "a") {
		t.Error("a left and its presence lease is still there")
	}
	if err := p.leave(time.Second); err != nil {
		t.Errorf("leaving twice: %v", err)
	}
}

func TestLeaseNames(t *testing.T) {
	got := []string{ShardLease("scaled", 0), ShardLease("scaled", 3), ReplicaLease("scaled", "web-7d9f_1a2b3c4d")}
	if diff := cmp.Diff([]string{"scaled-shard-0", "scaled-shard-3", "scaled-replica-8577d2cf4698aed9"}, got); diff != "" {
		t.Error(diff)
	}
}
