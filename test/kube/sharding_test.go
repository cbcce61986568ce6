//go:build kube

package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/pkg/leader"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

const (
	shardCount  = 4
	shardRetry  = 500 * time.Millisecond
	shardTick   = time.Second
	shardLease  = "scaled" // the names deploy/base's Role grants: scaled-shard-0..3, scaled-member-0..3
	perShard    = 2
	shardWindow = 5 * time.Second
)

// decisions are a daemon's decisions for a scaler, from its HTTP API.
func (d *daemon) decisions(t *testing.T, scaler string) []scaling.Decision {
	t.Helper()
	resp, err := http.Get("http://" + d.listen + "/api/v1/decisions?scaler=" + scaler)
	if err != nil {
		t.Fatalf("decisions of %s on %s: %v", scaler, d.id, err)
	}
	defer resp.Body.Close()
	var body struct {
		Decisions []scaling.Decision `json:"decisions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decisions of %s on %s: %v", scaler, d.id, err)
	}
	return body.Decisions
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

// Three scaled processes share 4 shard Leases and 8 scalers with log
// targets that want a change at every tick: each scaler is acted on by one
// process at a time (the holder of its shard; the others decide in dry run),
// the shards spread, and when a holder is killed its shards are taken over
// within the lease duration.
func TestShardsSpreadAndFailOverBetweenProcesses(t *testing.T) {
	cp := kubetest.Shared(t)
	kubeconfig := cp.WriteKubeconfig("scaled-sa", saToken(t)) // deploy/'s service account: its Role names the shard Leases
	admin := kubernetes.NewForConfigOrDie(cp.Admin())
	ctx := context.Background()
	dir := t.TempDir()
	bin := buildScaled(t)
	// 30 and 60 per second in turn against 10 per replica: every tick wants
	// 3 or 6, a change.
	var trace strings.Builder
	trace.WriteString("timestamp,value\n")
	for i := 0; i < 600; i++ {
		fmt.Fprintf(&trace, "%d,%d\n", 1700000000+i, 30+30*(i%2))
	}
	if err := os.WriteFile(filepath.Join(dir, "load.csv"), []byte(trace.String()), 0o600); err != nil {
		t.Fatal(err)
	}
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
	holders := func() map[int]string {
		out := map[int]string{}
		for i := 0; i < shardCount; i++ {
			l, err := admin.CoordinationV1().Leases("scaled").Get(ctx, leader.ShardLease(shardLease, i), metav1.GetOptions{})
			if err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
				out[i] = *l.Spec.HolderIdentity
			}
		}
		return out
	}
	count := func(h map[int]string) map[string]int {
		out := map[string]int{}
		for _, id := range h {
			out[id]++
		}
		return out
	}

	ds := map[string]*daemon{}
	for _, id := range []string{"shard-a", "shard-b", "shard-c"} {
		ds[id] = startDaemon(t, bin, path, kubeconfig, id)
	}
	// Spread: every shard held, no process above its share ceil(4/3) = 2.
	var spread map[int]string
	start := time.Now()
	kubetest.Eventually(t, 40*time.Second, "the shards spread over the processes", func() (bool, error) {
		spread = holders()
		if len(spread) != shardCount {
			return false, nil
		}
		for _, n := range count(spread) {
			if n > 2 {
				return false, nil
			}
		}
		return true, nil
	})
	t.Logf("spread after %s: %v", time.Since(start).Round(10*time.Millisecond), spread)
	// Steady: for a window the holders do not change, and every scaler is
	// applied only by the holder of its shard, and decided in dry run by
	// the others.
	from := time.Now()
	time.Sleep(shardWindow)
	to := time.Now()
	if h := holders(); fmt.Sprint(h) != fmt.Sprint(spread) {
		t.Fatalf("holders moved while balanced: %v, then %v", spread, h)
	}
	for _, id := range []string{"shard-a", "shard-b", "shard-c"} {
		for s := 0; s < shardCount; s++ {
			want := "0"
			if spread[s] == id {
				want = "1"
			}
			if got, err := ds[id].metric(fmt.Sprintf(`scaled_leader{shard="%d"}`, s)); err != nil || got != want {
				t.Errorf("scaled_leader{shard=%q} on %s = %q, %v; want %s", strconv.Itoa(s), id, got, err, want)
			}
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
			// A standby's own log target stays where it was left: the
			// ticks that want just that are unchanged, the others dry run.
			if id != holder && (nApplied != 0 || nDry == 0 || n < 3) {
				t.Errorf("%s on %s (holder %s): %d applied, %d dry run of %d in %s; want it deciding in dry run only", name, id, holder, nApplied, nDry, n, shardWindow)
			}
		}
	}

	// Kill a process that holds shards, without release.
	victim := spread[0]
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
	kubetest.Eventually(t, leaseDuration+15*time.Second, "the survivors hold every shard", func() (bool, error) {
		h := holders()
		for s := 0; s < shardCount; s++ {
			if h[s] == "" || h[s] == victim {
				return false, nil
			}
		}
		return true, nil
	})
	leased := time.Since(killed)
	time.Sleep(2 * shardTick) // a tick of every new holder
	after := holders()
	if c := count(after); len(c) != 2 || c[victim] != 0 {
		t.Errorf("holders after the kill: %v; want both survivors holding shards", after)
	}
	for _, d := range ds {
		collect(d)
	}
	// Takeover: the first change a survivor made for a scaler of a lost shard.
	var takeover time.Duration
	for _, name := range scalers {
		if s := leader.ShardOf(name, shardCount); !containsInt(lost, s) {
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
		if d := first.Sub(killed); d > takeover {
			takeover = d
		}
	}
	t.Logf("takeover: %s from SIGKILL of %s (shards %v) to survivors holding every shard, %s to the last of its scalers acted on by a survivor (lease %s, retry %s, tick %s)",
		leased.Round(10*time.Millisecond), victim, lost, takeover.Round(10*time.Millisecond), leaseDuration, shardRetry, shardTick)
	// client-go retries every retry period plus up to 1.2 of it (jitter):
	// it sees the last renewal up to 2.2 periods late and tries to take the
	// expired lease up to 2.2 periods late; then up to one interval to the
	// scaler's next tick; and a second of slack for a loaded machine under
	// the race detector.
	if limit := leaseDuration + 2*22*shardRetry/10 + shardTick + time.Second; takeover > limit {
		t.Errorf("takeover took %s, want under %s", takeover, limit)
	}
	// One actor at a time: from the steady window on, each scaler was acted
	// on by its shard's holder only, and for a lost shard by the victim until
	// the kill and by one survivor, the new holder, after it. Before that
	// (the first holder releasing its surplus) a scaler changes hands at
	// most twice, never back and forth.
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
			t.Errorf("%s changed hands %v before the steady window: more than the rebalance explains", name, early)
		}
		if want := map[string]bool{spread[shard]: true}; fmt.Sprint(late) != fmt.Sprint(want) {
			t.Errorf("%s (shard %d): acted on by %v between the spread and the kill, want only %v", name, shard, late, want)
		}
		if want := map[string]bool{after[shard]: true}; fmt.Sprint(afterKill) != fmt.Sprint(want) {
			t.Errorf("%s (shard %d): acted on by %v after the kill, want only its holder %v", name, shard, afterKill, want)
		}
	}
	// A graceful stop releases every Lease at once.
	for _, d := range ds {
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range ds {
		_ = d.cmd.Wait()
	}
	if h := holders(); len(h) != 0 {
		t.Errorf("shard holders after SIGTERM = %v, want all released", h)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
