package leader

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/scaled-dev/scaled/pkg/config"
)

// standby records what the elector switched.
type standby struct {
	mu  sync.Mutex
	on  bool
	set int
}

func (s *standby) SetStandby(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on, s.set = on, s.set+1
}

func (s *standby) get() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.on
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leCfg(id string) config.LeaderElection {
	return config.LeaderElection{Enabled: true, Namespace: "scaled", LeaseName: "scaled", Identity: id,
		LeaseDuration: 1500 * time.Millisecond, RenewDeadline: 1 * time.Second, RetryPeriod: 200 * time.Millisecond}
}

// One of two electors leads and acts; the other stands by. When the leader
// stops (its context ends), it releases the lease and the other takes over
// without waiting for the lease to expire.
func TestOneLeadsTheOtherTakesOverOnRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lease timing for a few seconds")
	}
	client := newClient()
	sa, sb := &standby{}, &standby{}
	rega, regb := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
	a, err := New(client, leCfg("a"), sa, rega, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sa.get() {
		t.Fatal("a new elector must stand by before it holds the lease")
	}
	b, err := New(client, leCfg("b"), sb, regb, nil)
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(context.Background())
	adone := make(chan struct{})
	go func() { defer close(adone); _ = a.Run(actx) }()
	waitFor(t, "a leads", a.Leading)
	bctx, bcancel := context.WithCancel(context.Background())
	defer bcancel()
	bdone := make(chan struct{})
	go func() { defer close(bdone); _ = b.Run(bctx) }()
	time.Sleep(500 * time.Millisecond)
	if b.Leading() || !sb.get() || sa.get() {
		t.Fatalf("leading a=%v b=%v, standby a=%v b=%v: want only a acting", a.Leading(), b.Leading(), sa.get(), sb.get())
	}
	if got := testutil.ToFloat64(a.metrics.leader.WithLabelValues("0")); got != 1 {
		t.Errorf(`scaled_leader{shard="0"} on a = %v, want 1`, got)
	}
	acancel()
	<-adone
	if !sa.get() || testutil.ToFloat64(a.metrics.leader.WithLabelValues("0")) != 0 {
		t.Error("a stopped but does not stand by")
	}
	// Released, not left to expire: the lease no longer names a, so b may
	// take it at its next retry instead of after a lease duration.
	if l, err := client.CoordinationV1().Leases("scaled").Get(context.Background(), "scaled", metav1.GetOptions{}); err != nil ||
		(l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == "a") {
		t.Errorf("after a stopped the lease is %+v, %v; want it released (no holder) or held by b", l, err)
	}
	waitFor(t, "b takes over", b.Leading)
	l, err := client.CoordinationV1().Leases("scaled").Get(context.Background(), "scaled", metav1.GetOptions{})
	if err != nil || *l.Spec.HolderIdentity != "b" {
		t.Fatalf("lease = %+v, %v; want held by b", l, err)
	}
	bcancel()
	<-bdone
}

// coldTarget is a standby that also starts and stops scalers.
type coldTarget struct {
	standby
	runs  func(string) bool
	syncs []bool // what runs reported at each sync
}

func (c *coldTarget) SetRunning(f func(string) bool) { c.runs = f }

func (c *coldTarget) SyncRunning() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.syncs = append(c.syncs, c.runs("web"))
}

func (c *coldTarget) synced() []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bool(nil), c.syncs...)
}

// With one Lease and cold standby, a replica runs nothing until it leads,
// and its scalers start once it acts and stop before it releases.
func TestOneLeaseColdStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lease timing for a few seconds")
	}
	cfg := leCfg("a")
	cfg.Standby = config.StandbyCold
	target := &coldTarget{}
	e, err := New(newClient(), cfg, target, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if target.runs == nil || target.runs("web") {
		t.Fatal("a cold standby runs scalers before it holds the lease")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	waitFor(t, "a leads and syncs", func() bool { return len(target.synced()) == 1 })
	if !target.runs("web") || target.get() {
		t.Errorf("leading: runs %v, standby %v; want it running and acting", target.runs("web"), target.get())
	}
	cancel()
	<-done
	if got := target.synced(); len(got) != 2 || !got[0] || got[1] {
		t.Errorf("runs at each sync = %v, want [true false]", got)
	}
}

func TestNewNeedsNamespaceAndIdentity(t *testing.T) {
	c := leCfg("")
	if _, err := New(fake.NewClientset(), c, &standby{}, nil, nil); err == nil {
		t.Error("New without an identity succeeded")
	}
}
