package leader

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestJumpHash(t *testing.T) {
	// Reference values of the published algorithm.
	for _, tc := range []struct {
		key  uint64
		n    int
		want int
	}{{0, 60, 0}, {1, 60, 55}, {2, 60, 46}, {256, 1024, 520}, {0xDEAD10CC, 1, 0}} {
		if got := jumpHash(tc.key, tc.n); got != tc.want {
			t.Errorf("jumpHash(%d, %d) = %d, want %d", tc.key, tc.n, got, tc.want)
		}
	}
}

func TestShardOfSpreadsAndMovesLittle(t *testing.T) {
	const names = 2000
	count := make([]int, 4)
	moved := 0
	for i := 0; i < names; i++ {
		name := fmt.Sprintf("scaler-%d", i)
		s4, s5 := ShardOf(name, 4), ShardOf(name, 5)
		if s4 != ShardOf(name, 4) {
			t.Fatalf("ShardOf(%q) is not stable", name)
		}
		count[s4]++
		if s5 != s4 {
			moved++
			if s5 != 4 {
				t.Errorf("%s moved from shard %d to %d going from 4 to 5 shards; only moves to the new shard are allowed", name, s4, s5)
			}
		}
		if ShardOf(name, 1) != 0 {
			t.Errorf("ShardOf(%q, 1) = %d, want 0", name, ShardOf(name, 1))
		}
	}
	for i, c := range count {
		if c < names/4*8/10 || c > names/4*12/10 {
			t.Errorf("shard %d got %d of %d names, want within 20%% of %d", i, c, names, names/4)
		}
	}
	if moved < names/5*8/10 || moved > names/5*12/10 {
		t.Errorf("%d of %d names moved going from 4 to 5 shards, want about 1/5", moved, names)
	}
}

func TestClientLimits(t *testing.T) {
	cfg := leCfg("a")
	for _, tc := range []struct {
		shards int
		retry  time.Duration
		qps    float32
		burst  int
	}{
		{4, 500 * time.Millisecond, 32, 64}, // 8 electors, 2 requests each per 0.5s
		{4, 2 * time.Second, 8, 16},
		{1, 2 * time.Second, 5, 10}, // never below client-go's default
	} {
		cfg.Shards, cfg.RetryPeriod = tc.shards, tc.retry
		if qps, burst := ClientLimits(cfg); qps != tc.qps || burst != tc.burst {
			t.Errorf("ClientLimits(shards %d, retry %s) = %v, %d; want %v, %d", tc.shards, tc.retry, qps, burst, tc.qps, tc.burst)
		}
	}
}

func TestLeaseNames(t *testing.T) {
	got := []string{ShardLease("scaled", 0), ShardLease("scaled", 3), MemberLease("scaled", 1)}
	if diff := cmp.Diff([]string{"scaled-shard-0", "scaled-shard-3", "scaled-member-1"}, got); diff != "" {
		t.Error(diff)
	}
}

// acting records the predicate a Sharded hands the manager.
type acting struct {
	mu sync.Mutex
	f  func(string) bool
}

func (a *acting) SetActing(f func(string) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.f = f
}

func (a *acting) actsFor(scaler string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f(scaler)
}

type replica struct {
	s      *Sharded
	act    *acting
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t *testing.T, client *fake.Clientset, id string, shards int) *replica {
	t.Helper()
	cfg := leCfg(id)
	cfg.Shards = shards
	// client-go reads the lease duration from the record, in whole seconds.
	cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod = time.Second, 600*time.Millisecond, 100*time.Millisecond
	r := &replica{act: &acting{}, reg: prometheus.NewPedanticRegistry(), done: make(chan struct{})}
	var err error
	if r.s, err = NewSharded(client, cfg, r.act, r.reg, zaptest.NewLogger(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { defer close(r.done); _ = r.s.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

// noOverlap fails the test if two replicas hold one shard.
func noOverlap(t *testing.T, rs ...*replica) {
	t.Helper()
	by := map[int]int{}
	for i, r := range rs {
		for _, s := range r.s.Held() {
			if j, ok := by[s]; ok {
				t.Errorf("shard %d held by replicas %d and %d", s, j, i)
			}
			by[s] = i
		}
	}
}

// A replica alone takes every shard; a second one joining gets half after
// the rebalance; when the first stops, the second takes them all at once
// (released). Each replica acts exactly for the scalers of its shards.
func TestShardsSpreadAndMoveOnStop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lease timing for a few seconds")
	}
	const n = 4
	client := fake.NewClientset()
	a := startReplica(t, client, "a", n)
	if a.act.actsFor("web") {
		t.Fatal("a new replica acts before it holds a shard")
	}
	waitFor(t, "a holds every shard", func() bool { return len(a.s.Held()) == n })
	b := startReplica(t, client, "b", n)
	waitFor(t, "the shards spread", func() bool {
		noOverlap(t, a, b)
		return len(a.s.Held()) == 2 && len(b.s.Held()) == 2
	})
	if a.s.Members() != 2 || b.s.Members() != 2 {
		t.Errorf("members a=%d b=%d, want 2", a.s.Members(), b.s.Members())
	}
	// Stable: nothing moves once each holds its share.
	heldA := a.s.Held()
	time.Sleep(time.Second)
	if diff := cmp.Diff(heldA, a.s.Held()); diff != "" {
		t.Errorf("a's shards moved while balanced (-before +after):\n%s", diff)
	}
	noOverlap(t, a, b)
	for i := 0; i < 50; i++ {
		name := "scaler-" + strconv.Itoa(i)
		shard := ShardOf(name, n)
		inA := contains(a.s.Held(), shard)
		if a.act.actsFor(name) != inA || b.act.actsFor(name) == inA {
			t.Errorf("%s (shard %d): a acts %v, b acts %v; want exactly the holder of the shard (a holds %v)",
				name, shard, a.act.actsFor(name), b.act.actsFor(name), a.s.Held())
		}
	}
	for _, s := range a.s.Held() {
		if got := testutil.ToFloat64(a.s.gauge.WithLabelValues(strconv.Itoa(s))); got != 1 {
			t.Errorf("scaled_leader{shard=%q} on a = %v, want 1", strconv.Itoa(s), got)
		}
	}
	a.stop()
	if len(a.s.Held()) != 0 || a.act.actsFor("scaler-1") {
		t.Errorf("a stopped and still holds %v", a.s.Held())
	}
	// a released its shard leases (no lease expiry needed): none names a.
	for i := 0; i < n; i++ {
		l, err := client.CoordinationV1().Leases("scaled").Get(context.Background(), ShardLease("scaled", i), metav1.GetOptions{})
		if err != nil || (l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == "a") {
			t.Errorf("after a stopped shard lease %d is %+v, %v; want it released or held by b", i, l, err)
		}
	}
	waitFor(t, "b takes every shard", func() bool { return len(b.s.Held()) == n })
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
