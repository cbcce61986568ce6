//go:build kube

package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/pkg/leader"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

const (
	shardCount  = 4
	shardRetry  = 500 * time.Millisecond
	shardTick   = time.Second
	shardLease  = "scaled" // deploy/base's Role grants the Leases of the namespace scaled
	perShard    = 2
	shardWindow = 5 * time.Second
)

// decisions are a daemon's decisions for a scaler, from its HTTP API.
func (d *daemon) decisions(t *testing.T, scaler string) []scaling.Decision {
	t.Helper()
	ds, err := d.proc.Decisions(scaler, 0)
	if err != nil {
		t.Fatalf("decisions of %s on %s: %v", scaler, d.id, err)
	}
	return ds
}

// decided lists the scalers a daemon keeps decisions of, from its HTTP API.
func (d *daemon) decided(t *testing.T) []string {
	t.Helper()
	s, err := d.proc.Scalers()
	if err != nil {
		t.Fatalf("scalers of %s: %v", d.id, err)
	}
	return s
}

// ofShards are the scalers of names that belong to the shards h gives id, sorted.
func ofShards(names []string, h map[int]string, id string) []string {
	out := []string{}
	for _, name := range names {
		if h[leader.ShardOf(name, shardCount)] == id {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// shardedScalers are perShard names on each shard.
func shardedScalers() []string {
	var out []string
	per := make([]int, shardCount)
	for i := 0; len(out) < perShard*shardCount; i++ {
		name := "svc-" + strconv.Itoa(i)
		if s := leader.ShardOf(name, shardCount); per[s] < perShard {
			per[s]++
			out = append(out, name)
		}
	}
	return out
}

// applied is when a daemon acted for a scaler.
type applied struct {
	at time.Time
	by string
}

// shardLeases reads the shard Leases and the presence Leases of the
// deployment named lease.
type shardLeases struct {
	t     *testing.T
	admin kubernetes.Interface
	lease string
}

// holders are the holders of the shard Leases, by shard; a released or
// never taken shard is absent.
func (s shardLeases) holders() map[int]string {
	out := map[int]string{}
	for i := 0; i < shardCount; i++ {
		l, err := s.admin.CoordinationV1().Leases("scaled").Get(context.Background(), leader.ShardLease(s.lease, i), metav1.GetOptions{})
		if err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
			out[i] = *l.Spec.HolderIdentity
		}
	}
	return out
}

// presences are the holders of the presence Leases labelled with lease.
func (s shardLeases) presences() []string {
	list, err := s.admin.CoordinationV1().Leases("scaled").List(context.Background(), metav1.ListOptions{LabelSelector: leader.ReplicaLabel + "=" + s.lease})
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, l := range list.Items {
		if l.Spec.HolderIdentity != nil {
			out = append(out, *l.Spec.HolderIdentity)
		}
	}
	slices.Sort(out)
	return out
}

// clear deletes the deployment's Leases, so that runs do not see each
// other's.
func (s shardLeases) clear() {
	ctx := context.Background()
	leases := s.admin.CoordinationV1().Leases("scaled")
	_ = leases.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: leader.ReplicaLabel + "=" + s.lease})
	for i := 0; i < shardCount; i++ {
		_ = leases.Delete(ctx, leader.ShardLease(s.lease, i), metav1.DeleteOptions{})
	}
}

// count is how many shards each holder holds.
func count(h map[int]string) map[string]int {
	out := map[string]int{}
	for _, id := range h {
		out[id]++
	}
	return out
}

// sortedShares are the counts of h, smallest first, with zero for each of
// ids that holds nothing.
func sortedShares(h map[int]string, ids ...string) []int {
	c := count(h)
	var out []int
	for _, id := range ids {
		out = append(out, c[id])
	}
	slices.Sort(out)
	return out
}

// Without balancing, every replica campaigning for every shard with
// client-go's leaderelection (knative.dev/pkg's lease buckets), the first
// replica to start takes every shard and keeps it: three replicas started
// one after another hold 4, 0 and 0 of four shards for as long as the first
// lives. This is why scaled balances.
func TestCampaigningForEveryShardAloneDoesNotSpread(t *testing.T) {
	admin := sharedCluster(t).admin
	leases := shardLeases{t: t, admin: admin, lease: "unbalanced"}
	t.Cleanup(leases.clear)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	campaign := func(id string) {
		for i := 0; i < shardCount; i++ {
			le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
				Lock: &resourcelock.LeaseLock{
					LeaseMeta:  metav1.ObjectMeta{Namespace: "scaled", Name: leader.ShardLease("unbalanced", i)},
					Client:     admin.CoordinationV1(),
					LockConfig: resourcelock.ResourceLockConfig{Identity: id},
				},
				LeaseDuration: leaseDuration, RenewDeadline: 3 * time.Second, RetryPeriod: shardRetry, ReleaseOnCancel: true,
				Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
			})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { le.Run(ctx) })
		}
	}
	campaign("first")
	kubetest.Eventually(t, 20*time.Second, "the first replica holds every shard", func() (bool, error) {
		return len(leases.holders()) == shardCount, nil
	})
	campaign("second")
	time.Sleep(time.Second)
	campaign("third")
	time.Sleep(2 * leaseDuration)
	got := sortedShares(leases.holders(), "first", "second", "third")
	t.Logf("shards held after %s, one after another, without balancing: %v", 2*leaseDuration+time.Second, count(leases.holders()))
	if !slices.Equal(got, []int{0, 0, shardCount}) {
		t.Errorf("shares without balancing = %v, want the first holding all %d", got, shardCount)
	}
}

// Three scaled processes share 4 shard Leases and 8 scalers with log
// targets that want a change at every tick. Started one after another, the
// shards spread 4; 2, 2; and 2, 1, 1. With cold standby (the default with
// shards) each process runs only the scalers of the shards it holds: its
// scaled_scalers and its decisions API show those and no other, and each
// scaler is acted on by one process at a time. When the holder of two is
// killed, the survivors take its shards within twice the lease duration,
// hold 2 and 2, start its scalers and act for them, and the dead replica's
// presence Lease is deleted.
func TestShardsSpreadAndFailOverBetweenProcesses(t *testing.T) {
	c := sharedCluster(t)
	kubeconfig := c.WriteKubeconfig("scaled-sa", saToken(t)) // deploy/'s service account: its Role grants the Leases
	leases := shardLeases{t: t, admin: c.admin, lease: shardLease}
	leases.clear()
	t.Cleanup(leases.clear)
	dir := t.TempDir()
	bin := buildScaled(t)
	// 30 and 60 per second in turn against 10 per replica: every tick wants
	// 3 or 6, a change.
	writeTrace(t, filepath.Join(dir, "load.csv"), func(i int) int { return 30 + 30*(i%2) })
	scalers := shardedScalers()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `
interval: %s
decision_history: 1000
log: {level: info, format: json}
leader_election:
  enabled: true
  namespace: scaled
  lease_name: %s
  lease_duration: %s
  renew_deadline: 3s
  retry_period: %s
  shards: %d
scalers:
`, shardTick, shardLease, leaseDuration, shardRetry, shardCount)
	for _, name := range scalers {
		fmt.Fprintf(&cfg, `- name: %s
  target: {kind: log, log: {initial: 2}}
  signals: [{name: load, replay: {trace: load.csv, loop: true}}]
  policies:
  - {name: load, type: target_tracking, target_tracking: {signal: load, target_type: average_value, target: 10}}
  bounds: {min: 1, max: 10}
  behavior:
    scale_up: {policies: [{type: Pods, value: 100, period: 1s}]}
    scale_down: {stabilization_window: 0s, policies: [{type: Pods, value: 100, period: 1s}]}
`, name)
	}
	path := filepath.Join(dir, "scaled.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	// One after another: each waits for the spread the previous ones settle on.
	ids := []string{"shard-a", "shard-b", "shard-c"}
	ds := map[string]*daemon{}
	want := [][]int{{shardCount}, {2, 2}, {1, 1, 2}}
	var spreadTimes []string
	var spread map[int]string
	for i, id := range ids {
		ds[id] = startDaemon(t, bin, path, kubeconfig, id)
		start := time.Now()
		kubetest.Eventually(t, 30*time.Second, fmt.Sprintf("%d replicas hold %v", i+1, want[i]), func() (bool, error) {
			spread = leases.holders()
			return len(spread) == shardCount && slices.Equal(sortedShares(spread, ids[:i+1]...), want[i]), nil
		})
		spreadTimes = append(spreadTimes, fmt.Sprintf("%s after %s joined", time.Since(start).Round(10*time.Millisecond), id))
	}
	t.Logf("spread %v: %s", count(spread), strings.Join(spreadTimes, ", "))
	if got := leases.presences(); !slices.Equal(got, ids) {
		t.Errorf("presence leases held by %v, want %v", got, ids)
	}
	// Steady: for a window the holders do not change, and every scaler is
	// decided and applied only by the holder of its shard.
	from := time.Now()
	time.Sleep(shardWindow)
	to := time.Now()
	if h := leases.holders(); fmt.Sprint(h) != fmt.Sprint(spread) {
		t.Fatalf("holders moved while balanced: %v, then %v", spread, h)
	}
	for _, id := range ids {
		held := 0
		for s := 0; s < shardCount; s++ {
			want := "0"
			if spread[s] == id {
				want = "1"
				held++
			}
			if got, err := ds[id].metric(fmt.Sprintf(`scaled_leader{shard="%d"}`, s)); err != nil || got != want {
				t.Errorf("scaled_leader{shard=%q} on %s = %q, %v; want %s", strconv.Itoa(s), id, got, err, want)
			}
		}
		if got, err := ds[id].metric("scaled_leader_shards_held"); err != nil || got != strconv.Itoa(held) {
			t.Errorf("scaled_leader_shards_held on %s = %q, %v; want %d", id, got, err, held)
		}
		runs := ofShards(scalers, spread, id)
		if got, err := ds[id].metric("scaled_scalers"); err != nil || got != strconv.Itoa(len(runs)) {
			t.Errorf("scaled_scalers on %s = %q, %v; want %d, the scalers of its %d shards", id, got, err, len(runs), held)
		}
		if got := ds[id].decided(t); !slices.Equal(got, runs) {
			t.Errorf("%s keeps decisions of %v, want only those of its shards %v", id, got, runs)
		}
	}
	for _, name := range scalers {
		holder := spread[leader.ShardOf(name, shardCount)]
		for id, d := range ds {
			var nApplied, nDry, n int
			for _, dec := range d.decisions(t, name) {
				if dec.Time.Before(from) || dec.Time.After(to) {
					continue
				}
				n++
				switch dec.Outcome {
				case scaling.OutcomeApplied:
					nApplied++
				case scaling.OutcomeDryRun:
					nDry++
				}
			}
			if id == holder && (nApplied < 3 || nDry != 0) {
				t.Errorf("%s on its holder %s: %d applied, %d dry run in %s; want it acting at every tick", name, id, nApplied, nDry, shardWindow)
			}
			if id != holder && n != 0 {
				t.Errorf("%s on %s (holder %s): %d decisions in %s; want none: a cold standby does not run it", name, id, holder, n, shardWindow)
			}
		}
	}

	// Kill the process that holds two shards, without release.
	var victim string
	for id, n := range count(spread) {
		if n == 2 {
			victim = id
		}
	}
	var lost []int
	for s, id := range spread {
		if id == victim {
			lost = append(lost, s)
		}
	}
	sort.Ints(lost)
	history := map[string][]applied{} // every applied decision, by scaler
	collect := func(d *daemon) {
		for _, name := range scalers {
			for _, dec := range d.decisions(t, name) {
				if dec.Outcome == scaling.OutcomeApplied {
					history[name] = append(history[name], applied{dec.Time, d.id})
				}
			}
		}
	}
	collect(ds[victim])
	if err := ds[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = ds[victim].cmd.Wait()
	delete(ds, victim)
	var survivors []string
	for id := range ds {
		survivors = append(survivors, id)
	}
	var after map[int]string
	kubetest.Eventually(t, 2*leaseDuration+15*time.Second, "the survivors hold 2 and 2", func() (bool, error) {
		after = leases.holders()
		return len(after) == shardCount && slices.Equal(sortedShares(after, survivors...), []int{2, 2}), nil
	})
	leased := time.Since(killed)
	time.Sleep(2 * shardTick) // a tick of every new holder
	for _, d := range ds {
		collect(d)
	}
	// Takeover: the first change a survivor made for a scaler of a lost shard.
	var takeover time.Duration
	for _, name := range scalers {
		if s := leader.ShardOf(name, shardCount); !slices.Contains(lost, s) {
			continue
		}
		first := time.Time{}
		for _, a := range history[name] {
			if a.by != victim && a.at.After(killed) && (first.IsZero() || a.at.Before(first)) {
				first = a.at
			}
		}
		if first.IsZero() {
			t.Errorf("%s (shard %d, lost): no survivor acted for it", name, leader.ShardOf(name, shardCount))
			continue
		}
		takeover = max(takeover, first.Sub(killed))
	}
	t.Logf("takeover: %s from SIGKILL of %s (shards %v) to the survivors holding 2 and 2, %s to the last of its scalers acted on by a survivor (lease %s, retry %s, tick %s)",
		leased.Round(10*time.Millisecond), victim, lost, takeover.Round(10*time.Millisecond), leaseDuration, shardRetry, shardTick)
	if limit := 2 * leaseDuration; leased > limit {
		t.Errorf("the survivors took %s to hold every shard, want under %s", leased, limit)
	}
	if limit := 2*leaseDuration + shardTick; takeover > limit {
		t.Errorf("takeover took %s, want under %s (2 x lease duration, then the scaler's next tick)", takeover, limit)
	}
	// The survivors now run every scaler between them, each its own shards'.
	total := 0
	for id, d := range ds {
		runs := ofShards(scalers, after, id)
		total += len(runs)
		if got := d.decided(t); !slices.Equal(got, runs) {
			t.Errorf("after the takeover %s keeps decisions of %v, want those of its shards %v", id, got, runs)
		}
		if got, err := d.metric("scaled_scalers"); err != nil || got != strconv.Itoa(len(runs)) {
			t.Errorf("after the takeover scaled_scalers on %s = %q, %v; want %d", id, got, err, len(runs))
		}
	}
	if total != len(scalers) {
		t.Errorf("the survivors run %d scalers, want all %d", total, len(scalers))
	}
	kubetest.Eventually(t, 2*leaseDuration, "the dead replica's presence lease is deleted", func() (bool, error) {
		return !slices.Contains(leases.presences(), victim), nil
	})
	// One actor at a time: from the steady window on, each scaler was acted
	// on by its shard's holder only, and for a lost shard by the victim until
	// the kill and by one survivor, the new holder, after it. Before that
	// (a holder releasing its surplus as each replica joined) a scaler
	// changes hands at most twice, never back and forth.
	for _, name := range scalers {
		shard := leader.ShardOf(name, shardCount)
		hs := history[name]
		sort.Slice(hs, func(i, j int) bool { return hs[i].at.Before(hs[j].at) })
		var early []string
		late, afterKill := map[string]bool{}, map[string]bool{}
		for i, a := range hs {
			switch {
			case a.at.Before(from):
				if i == 0 || hs[i-1].by != a.by {
					early = append(early, a.by)
				}
			case a.at.Before(killed):
				late[a.by] = true
			default:
				afterKill[a.by] = true
			}
		}
		if len(early) > 3 {
			t.Errorf("%s changed hands %v before the steady window: more than the spreading explains", name, early)
		}
		if want := map[string]bool{spread[shard]: true}; fmt.Sprint(late) != fmt.Sprint(want) {
			t.Errorf("%s (shard %d): acted on by %v between the spread and the kill, want only %v", name, shard, late, want)
		}
		if want := map[string]bool{after[shard]: true}; fmt.Sprint(afterKill) != fmt.Sprint(want) {
			t.Errorf("%s (shard %d): acted on by %v after the kill, want only its holder %v", name, shard, afterKill, want)
		}
	}
	// A graceful stop releases every Lease at once and deletes the
	// presence Leases.
	for _, d := range ds {
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range ds {
		_ = d.cmd.Wait()
	}
	if h := leases.holders(); len(h) != 0 {
		t.Errorf("shard holders after SIGTERM = %v, want all released", h)
	}
	if p := leases.presences(); len(p) != 0 {
		t.Errorf("presence leases after SIGTERM = %v, want none", p)
	}
}
