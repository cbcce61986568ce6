package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/internal/kubetest"
)

// startControlPlane runs etcd and kube-apiserver on loopback (the binaries
// hack/kube/install.sh builds, as the kube-tagged tests use) for the shard
// Leases, and returns a kubeconfig for them and how to stop them.
func startControlPlane() (string, func(), error) {
	if miss := kubetest.Missing(kubetest.Options{}); len(miss) > 0 {
		return "", nil, fmt.Errorf("--replicas needs %v in %s: run hack/kube/install.sh", miss, kubetest.BinDir())
	}
	cp, err := kubetest.Start(kubetest.Options{})
	if err != nil {
		if cp != nil {
			cp.Stop()
		}
		return "", nil, fmt.Errorf("control plane: %w", err)
	}
	return cp.WriteKubeconfig("benchfleet", cp.AdminToken), cp.Stop, nil
}

// takeover kills the first replica with SIGKILL, as a node failure would,
// and measures how long the others take to hold every shard again and to
// decide each of its scalers (their first decision scheduled after the
// kill), polling their /metrics every second. last is the killed replica's
// final page: which scalers it ran and how many shards it held.
func takeover(o options, reps []*replica, last snapshot) (string, error) {
	dead, survivors := reps[0], reps[1:]
	pending := make(map[string]bool, len(last.lastDecision))
	for name := range last.lastDecision {
		pending[name] = true
	}
	ran := len(pending)
	killed := time.Now()
	if err := dead.p.cmd.Process.Kill(); err != nil {
		return "", err
	}
	<-dead.p.exited
	at := float64(killed.UnixNano()) / 1e9
	var delays []float64
	shardsBack := time.Duration(-1)
	deadline := killed.Add(4*time.Minute + 2*o.interval)
	for len(pending) > 0 || shardsBack < 0 {
		if time.Now().After(deadline) {
			return "", fmt.Errorf("takeover: after %s, %d of the %d scalers of replica %s not decided by another, shards held again: %t",
				time.Since(killed).Round(time.Second), len(pending), ran, dead.id, shardsBack >= 0)
		}
		held := 0.0
		for _, r := range survivors {
			s, err := scrape(r.metrics)
			if err != nil {
				continue // a slow page is a late observation, not a failure
			}
			held += s.shardsHeld
			for name, ts := range s.lastDecision {
				if pending[name] && ts >= at {
					delays = append(delays, ts-at)
					delete(pending, name)
				}
			}
		}
		if shardsBack < 0 && int(held) == o.shards {
			shardsBack = time.Since(killed)
		}
		time.Sleep(time.Second)
	}
	slices.Sort(delays)
	var b strings.Builder
	fmt.Fprintf(&b, "takeover: SIGKILL to replica %s (%.0f shards, %d scalers); the others held all %d shards again after %s",
		dead.id, last.shardsHeld, ran, o.shards, shardsBack.Round(100*time.Millisecond))
	if len(delays) > 0 {
		fmt.Fprintf(&b, " and decided its scalers after p50 %.1f s, max %.1f s", quantile(delays, 0.5), delays[len(delays)-1])
	}
	fmt.Fprintf(&b, " (default Lease timing: 15 s lease, 2 s retry; interval %s)", o.interval)
	return b.String(), nil
}
