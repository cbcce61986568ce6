//go:build kube

package kube

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/kubetest"
)

const (
	leaseDuration = 4 * time.Second
	failoverTick  = time.Second
)

// Two scaled processes share a Lease: only the leader acts, and when it is
// killed (no release), the other takes over within the lease duration,
// starting from the target's current replicas.
func TestLeaderFailoverBetweenTwoProcesses(t *testing.T) {
	c := sharedCluster(t)
	kubeconfig := c.WriteKubeconfig("scaled-sa", saToken(t)) // the processes run as deploy/'s service account
	ns := c.namespace(t, "failover", 1, "web")
	bin := buildScaled(t)
	// A constant 30 per second against 10 per replica: scaled wants 3.
	cfg := webConfig(t, ns, failoverTick, 30, fmt.Sprintf(`leader_election:
  enabled: true
  namespace: scaled
  lease_name: scaled
  lease_duration: %s
  renew_deadline: 3s
  retry_period: 500ms
`, leaseDuration))
	replicas := func() int32 { return c.replicas(t, ns, "web") }
	// knock sets the replicas back to 1, as another writer would.
	knock := func() { c.setReplicas(t, ns, "web", 1) }
	holder := func() string { return c.leaseHolder("scaled") }

	a := startDaemon(t, bin, cfg, kubeconfig, "scaled-a")
	kubetest.Eventually(t, 30*time.Second, "a leads and scales to 3", func() (bool, error) { return holder() == "scaled-a" && replicas() == 3, nil })
	b := startDaemon(t, bin, cfg, kubeconfig, "scaled-b")
	kubetest.Eventually(t, 30*time.Second, "b stands by and decides", func() (bool, error) {
		v, err := b.metric(`scaled_leader{shard="0"}`)
		if err != nil {
			return false, err
		}
		d, err := b.metric(`scaled_desired_replicas{scaler="web"}`)
		return v == "0" && d == "3", err
	})
	// While a leads, every knock is undone by a, never by b.
	for i := 0; i < 3; i++ {
		knock()
		kubetest.Eventually(t, 5*time.Second, "the leader restores 3", func() (bool, error) { return replicas() == 3, nil })
	}

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil { // no release: b must wait for the lease to expire
		t.Fatal(err)
	}
	killed := time.Now()
	_ = a.cmd.Wait()
	knock()
	kubetest.Eventually(t, leaseDuration+10*time.Second, "b takes over and restores 3", func() (bool, error) {
		return holder() == "scaled-b" && replicas() == 3, nil
	})
	failover := time.Since(killed)
	t.Logf("failover: %s from SIGKILL of the leader to the new leader's first change (lease %s, tick %s)",
		failover.Round(10*time.Millisecond), leaseDuration, failoverTick)
	if limit := leaseDuration + 2*failoverTick + time.Second; failover > limit {
		t.Errorf("failover took %s, want under %s", failover, limit)
	}
	// No double actuation: b changed nothing while a was alive, a nothing after.
	bScaled := b.scaledAt(t)
	if len(bScaled) == 0 {
		t.Fatal("b never scaled")
	}
	for _, at := range bScaled {
		if at.Before(killed) {
			t.Errorf("b scaled at %s, before the leader was killed at %s", at.Format(time.RFC3339Nano), killed.Format(time.RFC3339Nano))
		}
	}
	if n := len(a.scaledAt(t)); n != 4 {
		t.Errorf("a scaled %d times, want 4 (the first scale-up and three knocks)", n)
	}
	// A graceful stop releases the lease at once.
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = b.cmd.Wait()
	if h := holder(); h != "" {
		t.Errorf("lease holder after SIGTERM = %q, want released", h)
	}
}
