// Package leader runs leader election on a coordination.k8s.io Lease so that
// of several scaled replicas only one acts on targets. The others keep
// deciding in dry run (standby), so that their metrics and decision history
// are warm when they take over; a new leader reads each target's capacity at
// its next tick, so it starts from what the target has (bumpless).
package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/scaled-dev/scaled/pkg/config"
)

// Standby is what leadership switches: engine.Manager.
type Standby interface {
	SetStandby(on bool)
}

// Elector campaigns for the Lease and switches Standby as leadership comes
// and goes.
type Elector struct {
	client  kubernetes.Interface
	cfg     config.LeaderElection
	standby Standby
	log     *zap.Logger
	gauge   prometheus.Gauge

	mu      sync.Mutex
	leading bool
}

// New returns an Elector. cfg.Namespace and cfg.Identity must be resolved
// (see Namespace and Identity). reg gets the scaled_leader gauge (nil: not
// registered). The standby is switched on at once: nothing acts before the
// lease is held.
func New(client kubernetes.Interface, cfg config.LeaderElection, standby Standby, reg prometheus.Registerer, logger *zap.Logger) (*Elector, error) {
	if cfg.Namespace == "" || cfg.Identity == "" {
		return nil, errors.New("leader election: namespace and identity must be set")
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "scaled_leader",
		Help: "1 while this replica holds the leader election lease and acts on targets, 0 while it only decides (standby).",
	})
	if reg != nil {
		if err := reg.Register(g); err != nil {
			return nil, err
		}
	}
	standby.SetStandby(true)
	return &Elector{client: client, cfg: cfg, standby: standby, log: logger.With(zap.String("lease", cfg.Namespace+"/"+cfg.LeaseName),
		zap.String("identity", cfg.Identity)), gauge: g}, nil
}

// Leading says whether this replica holds the lease.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

func (e *Elector) set(on bool) {
	e.leading = on
	e.standby.SetStandby(!on)
	if on {
		e.gauge.Set(1)
	} else {
		e.gauge.Set(0)
	}
}

// Run campaigns until ctx ends. A replica that loses the lease goes back to
// standby and campaigns again. When ctx ends while leading, the lease is
// released (ReleaseOnCancel), so that another replica takes over at once
// instead of after the lease duration; stop acting before cancelling ctx.
func (e *Elector) Run(ctx context.Context) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.LeaseName},
		Client:     e.client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.cfg.Identity},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   e.cfg.LeaseDuration,
			RenewDeadline:   e.cfg.RenewDeadline,
			RetryPeriod:     e.cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            e.cfg.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				// Run cancels lctx before it calls OnStoppedLeading, and this
				// runs in its own goroutine: check lctx under the lock, so
				// that a late start never follows the stop.
				OnStartedLeading: func(lctx context.Context) {
					e.mu.Lock()
					defer e.mu.Unlock()
					if lctx.Err() == nil {
						e.set(true)
						e.log.Info("leading: acting on targets")
					}
				},
				OnStoppedLeading: func() {
					e.mu.Lock()
					defer e.mu.Unlock()
					if e.leading {
						e.log.Info("stopped leading: standing by")
					}
					e.set(false)
				},
				OnNewLeader: func(id string) {
					if id != e.cfg.Identity {
						e.log.Info("another replica leads", zap.String("leader", id))
					}
				},
			},
		})
		if err != nil {
			return err
		}
		le.Run(ctx)
	}
	return nil
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
