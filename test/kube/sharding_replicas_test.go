//go:build kube

package kube

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/leader"
)

const (
	replicaShards  = 2
	replicaScalers = 40
	replicaWindow  = 3 * time.Second
)

// Four scaled processes (two shards, two replicas for each) share 40
// Scaler objects with cold standby: two processes hold a shard each and
// run only its Scalers, the other two stand by and run nothing. Each Scaler
// is decided every interval by its shard's holder alone, which alone
// changes its target, writes its status and records its Events. When the
// holder of one shard is SIGKILLed, a standby takes the shard and decides
// every one of its Scalers within the lease duration, two of client-go's
// jittered retry periods (seeing the Lease expire, taking it), an interval
// and a second; no Scaler is ever
// decided by two live processes, the other shard's holder keeps deciding
// its own every interval throughout, and after the takeover a change is
// acted on, written and recorded by each shard's new holder only.
func TestScalerObjectsAcrossShardsAndReplicasSurviveATakeover(t *testing.T) {
	c := scalersCluster(t)
	admin, dyn := c.admin, c.dyn
	ns := c.Namespace(t, "sharded-replicas")
	const lease = "scaled-replicas"
	leases := shardLeases{t: t, admin: admin, lease: lease}
	leases.clear()
	t.Cleanup(leases.clear)
	prom := promtest.Start(t)
	rps := prom.Gauge("app_rps", "namespace")
	rps.WithLabelValues(ns).Set(42)
	prom.WaitFor(t, fmt.Sprintf(`sum(app_rps{namespace=%q})`, ns), 42, 30*time.Second)

	// Every Scaler reads the same load: 42 per second against 10 per
	// replica, 5 replicas, what each log target starts with.
	var manifests strings.Builder
	var keys []string
	shardOf := map[string]int{}
	for i := range replicaScalers {
		name := "s-" + strconv.Itoa(i)
		key := ns + "/" + name
		keys = append(keys, key)
		shardOf[key] = leader.ShardOf(key, replicaShards)
		manifests.Write(scalerManifest(ns, name, `target: {kind: log, log: {initial: 5}}
signals: [{name: rps, query: 'sum(app_rps)'}]
policies: [{name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}]
bounds: {min: 1, max: 20}
behavior: {scale_up: {policies: [{type: Pods, value: 100, period: 1s}]}}
`))
		manifests.WriteString("---\n")
	}
	if n := len(slices.DeleteFunc(slices.Collect(maps.Values(shardOf)), func(s int) bool { return s != 0 })); n == 0 || n == replicaScalers {
		t.Fatalf("%d of %d Scalers on shard 0: want both shards used", n, replicaScalers)
	}
	if out, err := kubectl(t, []byte(manifests.String()), "apply", "-f", "-"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cfg := writeConfig(t, fmt.Sprintf(`
interval: %s
log: {level: info, format: json}
prometheus: {url: %q}
leader_election: {enabled: true, namespace: scaled, lease_name: %s, lease_duration: %s, renew_deadline: 3s, retry_period: %s, shards: %d}
scaler_objects: {enabled: true, namespaces: [%s]}
`, failoverTick, prom.URL(), lease, leaseDuration, shardRetry, replicaShards, ns))
	kubeconfig := c.WriteKubeconfig("scaled-sa", saToken(t))
	bin := buildScaled(t)
	ds := map[string]*daemon{}
	for _, id := range []string{"r-a", "r-b"} {
		ds[id] = startDaemon(t, bin, cfg, kubeconfig, id)
	}
	var spread map[int]string
	kubetest.Eventually(t, 30*time.Second, "r-a and r-b hold a shard each", func() (bool, error) {
		spread = leases.holders()
		return len(spread) == replicaShards && spread[0] != spread[1], fmt.Errorf("holders %v", spread)
	})
	for _, id := range []string{"r-c", "r-d"} {
		ds[id] = startDaemon(t, bin, cfg, kubeconfig, id)
	}
	kubetest.Eventually(t, 30*time.Second, "four replicas present", func() (bool, error) {
		return len(leases.presences()) == 4, fmt.Errorf("presences %v", leases.presences())
	})
	if h := leases.holders(); fmt.Sprint(h) != fmt.Sprint(spread) {
		t.Fatalf("standbys joining moved the shards: %v, then %v", spread, h)
	}
	holderOf := func(key string) *daemon { return ds[spread[shardOf[key]]] }

	// Steady: each Scaler decided every interval by its holder, by nobody else.
	kubetest.Eventually(t, 10*time.Second, "every Scaler deciding on its shard's holder", func() (bool, error) {
		for _, key := range keys {
			if holderOf(key).lastDecision(t, key) == nil {
				return false, fmt.Errorf("%s not decided by %s", key, holderOf(key).id)
			}
		}
		return true, nil
	})
	from := time.Now()
	time.Sleep(replicaWindow)
	byProcess := decidedBy(t, ds, keys, from, time.Now())
	for _, key := range keys {
		if got := byProcess[key]; len(got) != 1 || got[holderOf(key).id] < int(replicaWindow/failoverTick)-1 {
			t.Errorf("%s decided %v times by each process in %s, want only by its holder %s, at every %s tick", key, got, replicaWindow, holderOf(key).id, failoverTick)
		}
	}
	// A change: each holder acts for its Scalers, writes their statuses
	// and records their Events; the standbys write nothing.
	changed := changeLoad(t, prom, rps, ns, 70)
	expectActedOnBy(t, dyn, admin, ns, keys, 7, changed, func(key string) string { return holderOf(key).id })
	for _, id := range []string{"r-a", "r-b", "r-c", "r-d"} {
		writes := ds[id].proc.Value(t, `scaled_scaler_status_writes_total{result="ok"}`)
		if holds := slices.Contains(slices.Collect(maps.Values(spread)), id); holds != (writes > 0) {
			t.Errorf("%s wrote %g statuses, holding a shard: %v; want writes from the holders only", id, writes, holds)
		}
	}

	// SIGKILL the holder of shard 0.
	victim := ds[spread[0]]
	lost := []string{}
	for _, key := range keys {
		if shardOf[key] == 0 {
			lost = append(lost, key)
		}
	}
	before := map[string]time.Time{} // the victim's last decision of each
	for _, key := range lost {
		ds := victim.decisions(t, key)
		before[key] = ds[len(ds)-1].Time
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = victim.cmd.Wait()
	delete(ds, victim.id)
	var after map[int]string
	kubetest.Eventually(t, 2*leaseDuration+10*time.Second, "a standby takes shard 0 and decides its Scalers", func() (bool, error) {
		after = leases.holders()
		d := ds[after[0]]
		if d == nil {
			return false, fmt.Errorf("holders %v", after)
		}
		for _, key := range lost {
			if d.lastDecision(t, key) == nil {
				return false, fmt.Errorf("%s not decided by %s yet", key, d.id)
			}
		}
		return true, nil
	})
	heir := ds[after[0]]
	if after[1] != spread[1] {
		t.Errorf("shard 1 moved from %s to %s when shard 0's holder died", spread[1], after[1])
	}
	if heir.id == spread[1] {
		t.Errorf("shard 0 went to %s, the holder of shard 1, not to a standby", heir.id)
	}
	takeover := time.Duration(0)
	for _, key := range lost {
		first := heir.decisions(t, key)[0].Time
		if !first.After(killed) || !first.After(before[key]) {
			t.Errorf("%s decided by %s at %s, before %s was killed at %s (its last decision there %s)", key, heir.id,
				first.Format(time.RFC3339Nano), victim.id, killed.Format(time.RFC3339Nano), before[key].Format(time.RFC3339Nano))
		}
		takeover = max(takeover, first.Sub(killed))
	}
	// client-go waits 1 to 2.2 retry periods between tries; a second more
	// for a process to start its Scalers and the API server to answer on a
	// loaded 2-core machine.
	limit := leaseDuration + 2*(shardRetry*22/10) + failoverTick + time.Second
	t.Logf("2 shards x 2 replicas, %d Scalers: %s from SIGKILL of %s to %s deciding the last of shard 0's %d Scalers (limit %s: lease %s, two jittered retries of %s, interval %s and a second)",
		replicaScalers, takeover.Round(10*time.Millisecond), victim.id, heir.id, len(lost), limit, leaseDuration, shardRetry, failoverTick)
	if takeover > limit {
		t.Errorf("takeover took %s, want within %s: the lease duration, two jittered retry periods, an interval and a second", takeover, limit)
	}
	holderOf = func(key string) *daemon { return ds[after[shardOf[key]]] }

	// Every Scaler keeps deciding every interval, each on one process only;
	// the Scalers of shard 1 never stopped.
	from = time.Now()
	time.Sleep(replicaWindow)
	byProcess = decidedBy(t, ds, keys, from, time.Now())
	for _, key := range keys {
		if got := byProcess[key]; len(got) != 1 || got[holderOf(key).id] < int(replicaWindow/failoverTick)-1 {
			t.Errorf("after the takeover %s decided %v times by each process in %s, want only by its holder %s, at every %s tick", key, got, replicaWindow, holderOf(key).id, failoverTick)
		}
	}
	for _, key := range keys {
		if shardOf[key] != 1 {
			continue
		}
		var gap time.Duration
		dec := ds[spread[1]].decisions(t, key)
		for i := 1; i < len(dec); i++ {
			if dec[i].Time.After(killed.Add(-failoverTick)) {
				gap = max(gap, dec[i].Time.Sub(dec[i-1].Time))
			}
		}
		if gap > 2*failoverTick {
			t.Errorf("%s (shard 1) went %s without a decision across the takeover of shard 0, want every %s", key, gap, failoverTick)
		}
	}
	changed = changeLoad(t, prom, rps, ns, 90)
	expectActedOnBy(t, dyn, admin, ns, keys, 9, changed, func(key string) string { return holderOf(key).id })
	for id, d := range ds {
		if id == heir.id || id == after[1] {
			continue
		}
		if writes := d.proc.Value(t, `scaled_scaler_status_writes_total{result="ok"}`); writes != 0 {
			t.Errorf("the standby %s wrote %g statuses, want none", id, writes)
		}
	}
}

// decidedBy counts, for each Scaler, its decisions between from and to on
// each process that decided it then.
func decidedBy(t *testing.T, ds map[string]*daemon, keys []string, from, to time.Time) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, key := range keys {
		out[key] = map[string]int{}
		for id, d := range ds {
			for _, dec := range d.decisions(t, key) {
				if !dec.Time.Before(from) && !dec.Time.After(to) {
					out[key][id]++
				}
			}
		}
		for id, n := range out[key] {
			if n == 0 {
				delete(out[key], id)
			}
		}
	}
	return out
}

// changeLoad sets the load every Scaler reads to v, and returns when
// Prometheus answers it.
func changeLoad(t *testing.T, prom *promtest.Server, rps *prometheus.GaugeVec, ns string, v float64) time.Time {
	t.Helper()
	rps.WithLabelValues(ns).Set(v)
	prom.WaitFor(t, fmt.Sprintf(`sum(app_rps{namespace=%q})`, ns), v, 30*time.Second)
	return time.Now()
}

// expectActedOnBy waits for every Scaler's status to show desired, decided
// after since, and checks that the change of each was recorded (a Scaled
// Event, which names the process) by the process holder names and by no
// other.
func expectActedOnBy(t *testing.T, dyn dynamic.Interface, admin kubernetes.Interface, ns string, keys []string, desired int32, since time.Time, holder func(key string) string) {
	t.Helper()
	for _, key := range keys {
		name := strings.TrimPrefix(key, ns+"/")
		kubetest.Eventually(t, 10*time.Second, key+"'s status shows "+strconv.Itoa(int(desired)), func() (bool, error) {
			_, s := scalerObject(t, dyn, ns, name)
			return s.Desired != nil && *s.Desired == desired && s.LastDecision != nil && s.LastDecision.Time.After(since.Add(-failoverTick)),
				fmt.Errorf("desired %v, last decision %+v", s.Desired, s.LastDecision)
		})
	}
	evs, err := admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]map[string]bool{}
	for _, e := range evs.Items {
		if e.Reason != "Scaled" || e.InvolvedObject.Kind != "Scaler" || !strings.Contains(e.Message, fmt.Sprintf(" to %d:", desired)) {
			continue
		}
		key := ns + "/" + e.InvolvedObject.Name
		if by[key] == nil {
			by[key] = map[string]bool{}
		}
		by[key][e.ReportingInstance] = true
	}
	for _, key := range keys {
		if want := map[string]bool{holder(key): true}; fmt.Sprint(by[key]) != fmt.Sprint(want) {
			t.Errorf("Scaled Events to %d on %s recorded by %v, want by its holder %s only", desired, key, slices.Sorted(maps.Keys(by[key])), holder(key))
		}
	}
}
