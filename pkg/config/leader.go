package config

import (
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// Leader election defaults: those of kube-controller-manager and most
// controllers (client-go leaderelection).
const (
	DefaultLeaseName     = "scaled"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	// MaxShards bounds leader_election.shards: every replica runs an
	// elector per shard, each renewing or reading its Lease every retry
	// period.
	MaxShards = 64

	// leaderJitter is client-go's leaderelection.JitterFactor: the renew
	// deadline must exceed this many retry periods.
	leaderJitter = 1.2
)

// LeaderElection makes several scaled replicas share the work safely: only
// the holder of a coordination.k8s.io Lease acts on targets, the others decide
// in dry run so that they are warm when they take over.
type LeaderElection struct {
	Enabled bool `json:"enabled,omitempty"`
	// Namespace of the Lease; empty means the namespace scaled runs in (the
	// service account's), or "default" outside a cluster.
	Namespace string `json:"namespace,omitempty"`
	LeaseName string `json:"lease_name,omitempty"`
	// Identity of this replica in the Lease; empty means the host name (the
	// pod name in a cluster).
	Identity string `json:"identity,omitempty"`
	// LeaseDuration is how long followers wait before taking over a lease
	// that is no longer renewed: the longest failover.
	LeaseDuration time.Duration `json:"lease_duration,omitempty"`
	// RenewDeadline is how long the leader keeps trying to renew before it
	// gives up leading.
	RenewDeadline time.Duration `json:"renew_deadline,omitempty"`
	// RetryPeriod is the wait between tries to acquire or renew.
	RetryPeriod time.Duration `json:"retry_period,omitempty"`
	// Shards splits the scalers across replicas: with N > 1 there are N
	// Leases <lease_name>-shard-0..N-1, a scaler belongs to one shard (jump
	// consistent hash of its name) and a replica acts only for the scalers
	// of the shards it holds; each replica also renews a presence Lease, so
	// that they split the shards evenly. 1 (the default) is one Lease,
	// <lease_name>.
	Shards int `json:"shards,omitempty"`
	// Standby is what a replica does with the scalers whose Lease it does
	// not hold: StandbyWarm decides them in dry run (so that its history and
	// metrics are warm when it takes over, at the cost of every replica
	// querying for every scaler), StandbyCold neither builds nor runs them
	// (a replica costs only its share). Empty is cold with shards > 1 and
	// warm with one Lease (see ColdStandby).
	Standby string `json:"standby,omitempty"`
}

// The values of leader_election.standby.
const (
	StandbyWarm = "warm"
	StandbyCold = "cold"
)

// ColdStandby says whether a replica runs only the scalers of the Leases it
// holds: standby cold, or unset with shards > 1.
func (l LeaderElection) ColdStandby() bool {
	if l.Standby == "" {
		return l.Shards > 1
	}
	return l.Standby == StandbyCold
}

// DefaultLeaderElection is leader election off, with client-go's usual timing.
func DefaultLeaderElection() LeaderElection {
	return LeaderElection{
		LeaseName:     DefaultLeaseName,
		LeaseDuration: DefaultLeaseDuration,
		RenewDeadline: DefaultRenewDeadline,
		RetryPeriod:   DefaultRetryPeriod,
		Shards:        1,
	}
}

func init() {
	globalKeys = append(globalKeys,
		globalKey{"leader_election.enabled", "leader-election", "only the holder of a Lease acts; the others decide in dry run",
			func(c *Config) any { return &c.LeaderElection.Enabled }},
		globalKey{"leader_election.namespace", "leader-election.namespace", "namespace of the leader election Lease (default: the pod's)",
			func(c *Config) any { return &c.LeaderElection.Namespace }},
		globalKey{"leader_election.lease_name", "leader-election.lease-name", "name of the leader election Lease",
			func(c *Config) any { return &c.LeaderElection.LeaseName }},
		globalKey{"leader_election.identity", "leader-election.identity", "identity of this replica in the Lease (default: host name)",
			func(c *Config) any { return &c.LeaderElection.Identity }},
		globalKey{"leader_election.lease_duration", "leader-election.lease-duration", "how long followers wait before taking over an unrenewed lease",
			func(c *Config) any { return &c.LeaderElection.LeaseDuration }},
		globalKey{"leader_election.renew_deadline", "leader-election.renew-deadline", "how long the leader tries to renew before it stops leading",
			func(c *Config) any { return &c.LeaderElection.RenewDeadline }},
		globalKey{"leader_election.retry_period", "leader-election.retry-period", "wait between tries to acquire or renew the lease",
			func(c *Config) any { return &c.LeaderElection.RetryPeriod }},
		globalKey{"leader_election.shards", "leader-election.shards", "split scalers across replicas over this many shard Leases (1: one leader acts for all)",
			func(c *Config) any { return &c.LeaderElection.Shards }},
		globalKey{"leader_election.standby", "leader-election.standby", "scalers whose Lease is not held: warm (decide in dry run) or cold (not run; default with shards > 1)",
			func(c *Config) any { return &c.LeaderElection.Standby }},
	)
}

// validateLeaderElection checks the lease timing as client-go's
// leaderelection.NewLeaderElector does, so that a bad value is refused with
// the field's name at load time and not when the elector starts.
func validateLeaderElection(l *LeaderElection) field.ErrorList {
	if !l.Enabled {
		return nil
	}
	var errs field.ErrorList
	path := field.NewPath("leader_election")
	if l.Namespace != "" && len(validation.IsDNS1123Label(l.Namespace)) > 0 {
		errs = append(errs, fielderr.Invalid(path.Child("namespace"), l.Namespace,
			"must be a DNS label: at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit"))
	}
	if len(validation.IsDNS1123Subdomain(l.LeaseName)) > 0 {
		errs = append(errs, fielderr.Invalid(path.Child("lease_name"), l.LeaseName,
			"must be a DNS subdomain name: at most 253 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit"))
	}
	if l.RetryPeriod <= 0 {
		errs = append(errs, fielderr.Invalid(path.Child("retry_period"), l.RetryPeriod, "must be > 0"))
	}
	if l.RenewDeadline <= time.Duration(leaderJitter*float64(l.RetryPeriod)) {
		errs = append(errs, fielderr.Invalid(path.Child("renew_deadline"), l.RenewDeadline, "must be > %.1f x retry_period (%s)", leaderJitter, l.RetryPeriod))
	}
	if l.LeaseDuration <= l.RenewDeadline {
		errs = append(errs, fielderr.Invalid(path.Child("lease_duration"), l.LeaseDuration, "must be > renew_deadline (%s)", l.RenewDeadline))
	}
	if l.Shards < 1 || l.Shards > MaxShards {
		errs = append(errs, fielderr.Invalid(path.Child("shards"), l.Shards, "must be between 1 and %d", MaxShards))
	}
	if l.Standby != "" && l.Standby != StandbyWarm && l.Standby != StandbyCold {
		errs = append(errs, fielderr.NotSupported(path.Child("standby"), l.Standby, []string{StandbyWarm, StandbyCold}))
	}
	// With shards, lease_name is also the value of the label on each
	// replica's presence Lease.
	if l.Shards > 1 && len(l.LeaseName) > 63 {
		errs = append(errs, fielderr.Invalid(path.Child("lease_name"), l.LeaseName, "must be at most 63 characters with shards > 1 (it labels the replicas' presence Leases)"))
	}
	return errs
}
