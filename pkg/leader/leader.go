// Package leader shares the scalers among scaled replicas through
// coordination.k8s.io Leases, so that at most one replica acts for a scaler
// at a time: one Lease whose holder acts for every scaler, or one Lease per
// shard with client-go's leaderelection, every replica campaigning for every
// shard, and presence Leases so that the replicas split the shards evenly.
// With warm standby, replicas decide in dry run for what they do not hold,
// so that their metrics and history are warm when they take over; with cold
// standby (the default with shards) they run only the scalers of the Leases
// they hold, and a new holder starts them fresh. Either way a new holder
// reads each target at its next tick, so it starts from what the target
// has. It never acts for a scaler whose Lease it does not hold.
package leader

import (
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"os"
	"strconv"

	"github.com/scaled-dev/scaled/pkg/config"
)

// Standby is what one Lease switches: every scaler acts or stands by
// (engine.Manager).
type Standby interface {
	SetStandby(on bool)
}

// Acting is what shard Leases switch: which scalers this replica acts for
// (engine.Manager).
type Acting interface {
	SetActing(acting func(scaler string) bool)
}

// Running is what cold standby switches as well: the scalers this replica
// runs at all (engine.Manager). SetRunning is handed the same predicate as
// SetActing; SyncRunning starts and stops scalers to match it, and returns
// once those it stops have stopped.
type Running interface {
	SetRunning(runs func(scaler string) bool)
	SyncRunning()
}

// ReplicaLabel labels every replica's presence Lease with the lease_name
// of the deployment it belongs to, so that a replica lists its peers with
// one label selector.
const ReplicaLabel = "scaled.dev/lease-name"

// ShardLease is the name of shard i's Lease.
func ShardLease(leaseName string, i int) string { return leaseName + "-shard-" + strconv.Itoa(i) }

// ReplicaLease is the name of a replica's presence Lease: the identity is
// hashed, as kube-apiserver names its identity Lease, since an identity
// (host name, underscore, random suffix) is not a valid object name.
func ReplicaLease(leaseName, identity string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(identity))
	return leaseName + "-replica-" + strconv.FormatUint(h.Sum64(), 16)
}

// ClientLimits is the client-side rate limit a Kubernetes client needs to
// run cfg's sharded election without throttling: every shard's elector
// makes at most two requests (a read and a write) per retry period, and the
// presence Lease two more (its renewal and the list of the replicas), with a
// burst of twice that. client-go's default (5 per second, burst 10) would
// delay renewals and observations, and so takeovers, past what the lease
// timing promises. Never below the default.
func ClientLimits(cfg config.LeaderElection) (qps float32, burst int) {
	qps = 5
	if cfg.RetryPeriod > 0 {
		if q := float32(2*cfg.Shards+2) / float32(cfg.RetryPeriod.Seconds()); q > qps {
			qps = q
		}
	}
	return qps, int(2 * qps)
}

// Namespace is the namespace scaled runs in: the service account's inside a
// pod, $POD_NAMESPACE, or "default".
func Namespace() string {
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(b) > 0 {
		return string(b)
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "default"
}

// Identity is the host name (the pod name in a cluster) and a random suffix,
// so that a restarted process never mistakes the lease of its predecessor
// for its own.
func Identity() string {
	h, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return h + "_" + hex.EncodeToString(b)
}
