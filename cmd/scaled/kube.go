package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/leader"
)

// kubeDeps are the Kubernetes clients of the process, made at first use from
// $KUBECONFIG, the in-cluster config or ~/.kube/config, and shared by every
// Kubernetes target and by leader election.
type kubeDeps struct {
	metrics  *actuators.KubeMetrics
	identity string

	once    sync.Once
	clients *actuators.KubeClients
	err     error
}

func newKubeDeps(reg prometheus.Registerer, identity string) *kubeDeps {
	return &kubeDeps{metrics: actuators.NewKubeMetrics(reg), identity: identity}
}

func (k *kubeDeps) get() (*actuators.KubeClients, error) {
	k.once.Do(func() {
		rc, err := actuators.KubeRESTConfig("")
		if err != nil {
			k.err = fmt.Errorf("kubernetes client: %w", err)
			return
		}
		k.clients, k.err = actuators.NewKubeClients(rc)
	})
	return k.clients, k.err
}

// withKube hands the process's Kubernetes clients to the factories.
func withKube(k *kubeDeps) func(*factories) {
	return func(f *factories) { f.kube = k }
}

// startLeaderElection campaigns for the lease when the config enables it.
// The manager stands by from now until the lease is held. The returned stop
// releases the lease and waits; call it after the manager stopped acting.
// leaderTarget is what leader election switches: engine.Manager, all of it
// (one Lease) or scaler by scaler (shards), and with cold standby which
// scalers run.
type leaderTarget interface {
	leader.Standby
	leader.Acting
	leader.Running // cold standby: what runs at all
}

func startLeaderElection(cfg config.LeaderElection, k *kubeDeps, mgr leaderTarget, reg prometheus.Registerer, logger *zap.Logger) (func(), error) {
	if !cfg.Enabled {
		return func() {}, nil
	}
	if cfg.Namespace == "" {
		cfg.Namespace = leader.Namespace()
	}
	cfg.Identity = k.identity
	clients, err := k.get()
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	var e interface{ Run(context.Context) error }
	lease := cfg.LeaseName
	if cfg.Shards > 1 {
		// The electors get a client of their own, limited for their
		// number, so that the targets' requests never delay a renewal.
		var cs kubernetes.Interface
		if cs, err = shardClient(cfg); err != nil {
			return nil, fmt.Errorf("leader election: %w", err)
		}
		e, err = leader.NewSharded(cs, cfg, mgr, reg, logger)
		lease = fmt.Sprintf("%s-shard-0..%d", cfg.LeaseName, cfg.Shards-1)
	} else {
		e, err = leader.New(clients.Core, cfg, mgr, reg, logger)
	}
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ctx); err != nil {
			logger.Error("leader election stopped", zap.Error(err))
		}
	}()
	logger.Info("leader election on: standing by until a lease is held",
		zap.String("lease", cfg.Namespace+"/"+lease), zap.String("identity", cfg.Identity))
	return func() { cancel(); <-done }, nil
}

func shardClient(cfg config.LeaderElection) (kubernetes.Interface, error) {
	rc, err := actuators.KubeRESTConfig("")
	if err != nil {
		return nil, err
	}
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = leader.ClientLimits(cfg)
	return kubernetes.NewForConfig(rc)
}

// leaderIdentity is the configured identity or a fresh one.
func leaderIdentity(cfg config.LeaderElection) string {
	if cfg.Identity != "" {
		return cfg.Identity
	}
	return leader.Identity()
}
