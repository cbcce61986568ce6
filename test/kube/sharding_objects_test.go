//go:build kube

package kube

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/leader"
)

// Two scaled processes share two shard Leases with cold standby and two
// Scaler objects, one on each shard. Each process watches both objects
// but runs only the one whose shard it holds: it alone decides it and
// sets its Deployment. SIGKILLed, one leaves its Scaler to the other,
// which starts it, sets its Deployment and writes its status.
func TestScalerObjectsRunOnlyOnTheirShardsHolder(t *testing.T) {
	c := scalersCluster(t)
	ns := c.Namespace(t, "sharded-objects")
	const lease, shards = "scaled-sharded-objects", 2
	leases := shardLeases{t: t, admin: c.admin, lease: lease}
	leases.clear()
	t.Cleanup(leases.clear)
	// One Deployment and Scaler on each shard.
	names := make([]string, shards)
	for i, found := 0, 0; found < shards; i++ {
		name := "web-" + strconv.Itoa(i)
		if s := leader.ShardOf(ns+"/"+name, shards); names[s] == "" {
			names[s] = name
			found++
		}
	}
	prom := promtest.Start(t)
	rps := prom.Gauge("app_rps", "namespace", "deployment")
	for _, name := range names {
		c.deploy(t, ns, name, 1)
		rps.WithLabelValues(ns, name).Set(30)
	}
	prom.WaitFor(t, fmt.Sprintf(`sum(app_rps{namespace=%q})`, ns), 60, 30*time.Second)
	cfg := writeConfig(t, fmt.Sprintf(`
interval: %s
log: {level: info, format: json}
prometheus: {url: %q}
leader_election: {enabled: true, namespace: scaled, lease_name: %s, lease_duration: %s, renew_deadline: 3s, retry_period: 500ms, shards: %d}
scaler_objects: {enabled: true, namespaces: [%s], status_refresh: 1m}
`, failoverTick, prom.URL(), lease, leaseDuration, shards, ns))
	for _, name := range names {
		if out, err := kubectl(t, scalerManifest(ns, name, fmt.Sprintf(`target: {kind: kubernetes, kubernetes: {api_version: apps/v1, kind: Deployment, name: %s}}
signals: [{name: rps, query: 'sum(app_rps{deployment="%s"})'}]
policies: [{name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}]
bounds: {min: 1, max: 10}
behavior: {scale_up: {policies: [{type: Pods, value: 100, period: 1s}]}}
`, name, name)), "apply", "-f", "-"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	replicas := func(name string) int32 { return c.replicas(t, ns, name) }
	knock := func(name string) { c.setReplicas(t, ns, name, 1) }
	kubeconfig := c.WriteKubeconfig("scaled-sa", saToken(t))
	bin := buildScaled(t)
	ds := map[string]*daemon{}
	ds["a"] = startDaemon(t, bin, cfg, kubeconfig, "a")
	kubetest.Eventually(t, 30*time.Second, "a holds both shards and scales both to 3", func() (bool, error) {
		return fmt.Sprint(leases.holders()) == "map[0:a 1:a]" && replicas(names[0]) == 3 && replicas(names[1]) == 3, nil
	})
	ds["b"] = startDaemon(t, bin, cfg, kubeconfig, "b")
	var spread map[int]string
	kubetest.Eventually(t, 30*time.Second, "a and b hold a shard each", func() (bool, error) {
		spread = leases.holders()
		return len(spread) == shards && spread[0] != spread[1], nil
	})
	// Each process runs only its shard's Scaler: its decisions, and no
	// decision of the other's, however long it watches both objects.
	for s, name := range names {
		key := ns + "/" + name
		holder, other := ds[spread[s]], ds[spread[1-s]]
		kubetest.Eventually(t, 10*time.Second, key+" decided only by its shard's holder "+holder.id, func() (bool, error) {
			dec := holder.lastDecision(t, key)
			return dec != nil && dec["dry_run"] == false && other.lastDecision(t, key) == nil, fmt.Errorf("holder %v, other %v", dec, other.lastDecision(t, key))
		})
		knock(name)
		kubetest.Eventually(t, 5*time.Second, holder.id+" restores "+name, func() (bool, error) { return replicas(name) == 3, nil })
		if dec := other.lastDecision(t, key); dec != nil {
			t.Errorf("%s decides %s, whose shard %s holds: %v", other.id, key, holder.id, dec)
		}
	}
	for _, id := range []string{"a", "b"} {
		if got, err := ds[id].metric("scaled_scalers"); err != nil || got != "1" {
			t.Errorf("scaled_scalers on %s = %q, %v; want 1", id, got, err)
		}
	}

	// Kill a: b takes its shard, starts its Scaler, restores its
	// Deployment and writes its status.
	if err := ds["a"].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = ds["a"].cmd.Wait()
	for _, name := range names {
		knock(name)
	}
	kubetest.Eventually(t, 2*leaseDuration+5*time.Second, "b holds both shards and restores both", func() (bool, error) {
		return fmt.Sprint(leases.holders()) == "map[0:b 1:b]" && replicas(names[0]) == 3 && replicas(names[1]) == 3, nil
	})
	t.Logf("Scalers with cold standby: %s from SIGKILL of a to b holding its shard and restoring its Deployment (lease %s)",
		time.Since(killed).Round(10*time.Millisecond), leaseDuration)
	for _, name := range names {
		kubetest.Eventually(t, 10*time.Second, "b writes "+name+"'s status", func() (bool, error) {
			_, s := scalerObject(t, c.dyn, ns, name)
			return s.LastDecision != nil && s.LastDecision.Time.After(killed), fmt.Errorf("%+v", s.LastDecision)
		})
	}
	if got, err := ds["b"].metric("scaled_scalers"); err != nil || got != "2" {
		t.Errorf("scaled_scalers on b after the takeover = %q, %v; want 2", got, err)
	}
}
