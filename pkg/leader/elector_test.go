package leader

import (
	"context"
	"fmt"
	"slices"
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

	"github.com/scaled-dev/scaled/pkg/config"
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
		{4, 500 * time.Millisecond, 20, 40}, // 4 electors and the presence, 2 requests each per 0.5s
		{64, 2 * time.Second, 65, 130},
		{4, 2 * time.Second, 5, 10}, // never below client-go's default
	} {
		cfg.Shards, cfg.RetryPeriod = tc.shards, tc.retry
		if qps, burst := ClientLimits(cfg); qps != tc.qps || burst != tc.burst {
			t.Errorf("ClientLimits(shards %d, retry %s) = %v, %d; want %v, %d", tc.shards, tc.retry, qps, burst, tc.qps, tc.burst)
		}
	}
}

// acting records the predicates an Elector hands the manager (acting, and
// running with cold standby), and calls onSync at each SyncRunning.
type acting struct {
	mu     sync.Mutex
	f      func(string) bool
	runs   func(string) bool
	syncs  int
	onSync func(runs func(string) bool)
}

func (a *acting) SetRunning(f func(string) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.runs = f
}

func (a *acting) SyncRunning() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.syncs++
	if a.onSync != nil {
		a.onSync(a.runs)
	}
}

func (a *acting) runsFor(scaler string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runs != nil && a.runs(scaler)
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
	id     string
	e      *Elector
	act    *acting
	cancel context.CancelFunc
	done   chan struct{}
}

// startReplica runs a sharded elector with cold standby (the default), and
// checks at each of its syncs that a shard it stops running while it runs
// is still its own: the scalers stop before a balancing release. (On
// shutdown the process stops its scalers before it ends the election.)
func startReplica(t *testing.T, client *fake.Clientset, id string, shards int) *replica {
	t.Helper()
	cfg := leCfg(id)
	cfg.Shards = shards
	// client-go reads the lease duration from the record, in whole seconds.
	cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod = time.Second, 600*time.Millisecond, 100*time.Millisecond
	r := &replica{id: id, act: &acting{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make([]bool, shards)
	r.act.onSync = func(runs func(string) bool) {
		for i := range shards {
			now := runs(scalerOfShard(i, shards))
			if ran[i] && !now && ctx.Err() == nil {
				l, err := client.CoordinationV1().Leases("scaled").Get(context.Background(), ShardLease("scaled", i), metav1.GetOptions{})
				if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != id {
					t.Errorf("%s stopped running shard %d after its Lease was released (%v)", id, i, err)
				}
			}
			ran[i] = now
		}
	}
	var err error
	if r.e, err = NewSharded(client, cfg, r.act, prometheus.NewPedanticRegistry(), zaptest.NewLogger(t)); err != nil {
		t.Fatal(err)
	}
	r.cancel = cancel
	go func() { defer close(r.done); _ = r.e.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// scalerOfShard is a scaler name in shard i of n.
func scalerOfShard(i, n int) string {
	for j := 0; ; j++ {
		if name := "scaler-" + strconv.Itoa(j); ShardOf(name, n) == i {
			return name
		}
	}
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

// shares are how many shards each replica holds, in the order given, and
// fails the test if two hold one shard.
func shares(t *testing.T, rs ...*replica) []int {
	t.Helper()
	by := map[int]string{}
	var out []int
	for _, r := range rs {
		held := r.e.Held()
		for _, s := range held {
			if other, ok := by[s]; ok {
				t.Errorf("shard %d held by %s and %s", s, other, r.id)
			}
			by[s] = r.id
		}
		out = append(out, len(held))
	}
	return out
}

// Replicas started one after another end up with even shares: the first
// takes every shard, releases half when the second appears, and one more
// when the third does (2, 1, 1 of 4; the ceiling rule alone would stop at
// 2, 2, 0). Each acts exactly for the scalers of its shards. When one
// stops, the others take its shards at once (it released them).
func TestShardsBalanceAsReplicasJoinAndLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lease timing for a few seconds")
	}
	const n = 4
	client := newClient()
	a := startReplica(t, client, "a", n)
	if a.act.actsFor("web") {
		t.Fatal("a new replica acts before it holds a shard")
	}
	waitFor(t, "a holds every shard", func() bool { return slices.Equal(shares(t, a), []int{4}) })
	b := startReplica(t, client, "b", n)
	waitFor(t, "a and b hold 2 each", func() bool { return slices.Equal(shares(t, a, b), []int{2, 2}) })
	c := startReplica(t, client, "c", n)
	waitFor(t, "a, b and c hold 2, 1, 1", func() bool {
		got := shares(t, a, b, c)
		slices.Sort(got)
		return slices.Equal(got, []int{1, 1, 2})
	})
	// Stable: nothing moves once balanced.
	before := [][]int{a.e.Held(), b.e.Held(), c.e.Held()}
	time.Sleep(time.Second)
	if diff := cmp.Diff(before, [][]int{a.e.Held(), b.e.Held(), c.e.Held()}); diff != "" {
		t.Errorf("shards moved while balanced (-before +after):\n%s", diff)
	}
	for i := 0; i < 50; i++ {
		name := "scaler-" + strconv.Itoa(i)
		shard := ShardOf(name, n)
		var actors []string
		for _, r := range []*replica{a, b, c} {
			if r.act.actsFor(name) {
				actors = append(actors, r.id)
				if !slices.Contains(r.e.Held(), shard) {
					t.Errorf("%s acts for %s (shard %d) and holds %v", r.id, name, shard, r.e.Held())
				}
			}
		}
		if len(actors) != 1 {
			t.Errorf("%s (shard %d) is acted on by %v, want exactly one replica", name, shard, actors)
		}
		for _, r := range []*replica{a, b, c} {
			if r.act.runsFor(name) != r.act.actsFor(name) {
				t.Errorf("%s runs %s: %v, acts for it: %v; cold standby runs what it acts for", r.id, name, r.act.runsFor(name), r.act.actsFor(name))
			}
		}
	}
	for _, r := range []*replica{a, b, c} {
		for s := 0; s < n; s++ {
			want := 0.0
			if slices.Contains(r.e.Held(), s) {
				want = 1
			}
			if got := testutil.ToFloat64(r.e.metrics.leader.WithLabelValues(strconv.Itoa(s))); got != want {
				t.Errorf("scaled_leader{shard=%q} on %s = %v, want %v", strconv.Itoa(s), r.id, got, want)
			}
		}
		if got := testutil.ToFloat64(r.e.metrics.held); got != float64(len(r.e.Held())) {
			t.Errorf("scaled_leader_shards_held on %s = %v, want %d", r.id, got, len(r.e.Held()))
		}
	}
	// The one holding two stops: it releases its shards and deletes its
	// presence, so the others take over without waiting for a lease to
	// run out, and hold 2 and 2.
	rs := []*replica{a, b, c}
	slices.SortFunc(rs, func(x, y *replica) int { return len(y.e.Held()) - len(x.e.Held()) })
	gone, rest := rs[0], rs[1:]
	gone.stop()
	if len(gone.e.Held()) != 0 || gone.act.actsFor("scaler-1") {
		t.Errorf("%s stopped and still holds %v", gone.id, gone.e.Held())
	}
	for i := 0; i < n; i++ {
		l, err := client.CoordinationV1().Leases("scaled").Get(context.Background(), ShardLease("scaled", i), metav1.GetOptions{})
		if err != nil || (l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == gone.id) {
			t.Errorf("after %s stopped shard lease %d is %+v, %v; want it released", gone.id, i, l.Spec, err)
		}
	}
	if presenceExists(client, "scaled", gone.id) {
		t.Errorf("%s stopped and its presence lease is still there", gone.id)
	}
	waitFor(t, "the two others hold 2 each", func() bool { return slices.Equal(shares(t, rest...), []int{2, 2}) })
}

// Warm standby (and one Lease by default) never asks its target to start
// or stop scalers: a target that only switches acting is enough.
func TestWarmStandbyNeedsOnlyActing(t *testing.T) {
	cfg := leCfg("a")
	cfg.Shards, cfg.Standby = 4, config.StandbyWarm
	if _, err := NewSharded(fake.NewClientset(), cfg, onlyActing{}, nil, nil); err != nil {
		t.Errorf("warm standby: %v", err)
	}
	cfg.Standby = config.StandbyCold
	if _, err := NewSharded(fake.NewClientset(), cfg, onlyActing{}, nil, nil); err == nil {
		t.Error("cold standby accepted a target that cannot start and stop scalers")
	}
}

type onlyActing struct{}

func (onlyActing) SetActing(func(string) bool) {}

func TestNewShardedNeedsShards(t *testing.T) {
	cfg := leCfg("a")
	if _, err := NewSharded(fake.NewClientset(), cfg, &acting{}, nil, nil); err == nil {
		t.Error("NewSharded with 0 shards succeeded")
	}
}
