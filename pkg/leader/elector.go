package leader

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/config"
)

// Elector campaigns for the Leases of one scaled deployment and switches
// what this replica acts for as it gains and loses them: one Lease for every
// scaler (New), or one Lease per shard (NewSharded), every replica running
// client-go's leaderelection for every shard, as knative.dev/pkg's
// leader-election buckets do.
//
// What it guarantees:
//   - A shard has at most one holder: its Lease does (writes carry the
//     resourceVersion read, so of two takers one gets a conflict; a holder
//     that cannot renew within renew_deadline stops acting, before the
//     Lease can expire for the others). A replica stops acting for a shard
//     before it releases the shard's Lease.
//   - While any replica lives, every shard is held within about
//     2 x lease_duration: a dead holder's shard Leases and presence Lease run
//     out after lease_duration, the survivors' share grows by the same token,
//     and one of them takes each shard at its next retry.
//   - Shares differ by at most one once no replica has joined or left for a
//     few retry periods (see view). Without that rule the first replica to
//     start takes every shard and keeps it (measured in docs/kubernetes.md).
type Elector struct {
	cfg     config.LeaderElection
	log     *zap.Logger
	clock   clock.WithTicker
	shards  []*shard
	metrics *metrics
	// changed is called when this replica starts or stops acting for a
	// shard, after its flag changed, and when balancing lets the shard go,
	// before its Lease is released (when Run's context ends, client-go
	// releases first: the process stops its scalers before that); nil:
	// nothing.
	changed func(shard int, on bool)

	presence *presence // nil with one Lease
	balancer *balancer // nil with one Lease
	blind    bool      // the last list of the presence Leases failed (balancing loop only)
}

// shard is one Lease and this replica's campaign for it.
type shard struct {
	index  int
	lock   *shardLock
	elect  *leaderelection.LeaderElector
	acting atomic.Bool // this replica acts for the shard's scalers

	mu   sync.Mutex         // orders acting with a release: see release
	stop context.CancelFunc // ends the current term, releasing the Lease if held
}

// New returns an Elector for the one Lease cfg.LeaseName, whose holder acts
// for every scaler. cfg.Namespace and cfg.Identity must be resolved (see
// Namespace and Identity). reg gets the metrics (nil: not registered).
// standby is switched on at once: nothing acts before the Lease is held.
// With cold standby (cfg.ColdStandby), standby must also be Running: a
// replica runs no scaler until it holds the Lease.
func New(client kubernetes.Interface, cfg config.LeaderElection, standby Standby, reg prometheus.Registerer, logger *zap.Logger) (*Elector, error) {
	e, err := newElector(client, cfg, []string{cfg.LeaseName}, reg, logger, clock.RealClock{})
	if err != nil {
		return nil, err
	}
	sync, err := e.coldStandby(standby)
	if err != nil {
		return nil, err
	}
	e.changed = func(_ int, on bool) {
		standby.SetStandby(!on)
		sync()
	}
	standby.SetStandby(true)
	return e, nil
}

// coldStandby hands target the predicate of what this replica runs, with
// cold standby, and returns what to call when it changes (a no-op with
// warm standby).
func (e *Elector) coldStandby(target any) (func(), error) {
	if !e.cfg.ColdStandby() {
		return func() {}, nil
	}
	r, ok := target.(Running)
	if !ok {
		return nil, fmt.Errorf("leader election: cold standby needs a target that starts and stops scalers, not %T", target)
	}
	r.SetRunning(e.holds)
	return r.SyncRunning, nil
}

// holds says whether this replica holds the shard of scaler.
func (e *Elector) holds(scaler string) bool {
	return e.shards[ShardOf(scaler, len(e.shards))].acting.Load()
}

// NewSharded returns an Elector for cfg.Shards shard Leases,
// ShardLease(cfg.LeaseName, 0..Shards-1), and this replica's presence Lease.
// A scaler belongs to shard ShardOf(name, Shards); acting acts for no scaler
// from now until a shard is held, then for those of the shards held. With
// cold standby (cfg.ColdStandby, the default with shards), acting must also
// be Running, and runs only the scalers of the shards held: it starts a
// shard's scalers once it acts for them, and stops them after it stopped
// acting and before the Lease is released.
func NewSharded(client kubernetes.Interface, cfg config.LeaderElection, acting Acting, reg prometheus.Registerer, logger *zap.Logger) (*Elector, error) {
	return newSharded(client, cfg, acting, reg, logger, clock.RealClock{})
}

func newSharded(client kubernetes.Interface, cfg config.LeaderElection, acting Acting, reg prometheus.Registerer, logger *zap.Logger, clk clock.WithTicker) (*Elector, error) {
	if cfg.Shards < 1 {
		return nil, fmt.Errorf("leader election: shards %d, want at least 1", cfg.Shards)
	}
	names := make([]string, cfg.Shards)
	for i := range names {
		names[i] = ShardLease(cfg.LeaseName, i)
	}
	e, err := newElector(client, cfg, names, reg, logger, clk)
	if err != nil {
		return nil, err
	}
	e.presence = newPresence(client, cfg.Namespace, cfg.LeaseName, cfg.Identity, cfg.LeaseDuration, cfg.RetryPeriod, clk)
	locks := make([]*shardLock, len(e.shards))
	for i, s := range e.shards {
		locks[i] = s.lock
	}
	e.balancer = newBalancer(cfg.Identity, locks)
	sync, err := e.coldStandby(acting)
	if err != nil {
		return nil, err
	}
	e.changed = func(int, bool) { sync() }
	acting.SetActing(e.holds)
	return e, nil
}

func newElector(client kubernetes.Interface, cfg config.LeaderElection, names []string, reg prometheus.Registerer, logger *zap.Logger, clk clock.WithTicker) (*Elector, error) {
	if cfg.Namespace == "" || cfg.Identity == "" {
		return nil, errors.New("leader election: namespace and identity must be set")
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	m, err := newMetrics(reg, len(names))
	if err != nil {
		return nil, err
	}
	e := &Elector{cfg: cfg, clock: clk, metrics: m, log: logger.With(zap.String("identity", cfg.Identity))}
	for i, name := range names {
		s := &shard{index: i, lock: &shardLock{
			LeaseLock: resourcelock.LeaseLock{
				LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: name},
				Client:     client.CoordinationV1(),
				LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
			},
			log: e.log.With(zap.String("lease", cfg.Namespace+"/"+name)),
		}}
		if s.elect, err = leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            s.lock,
			LeaseDuration:   cfg.LeaseDuration,
			RenewDeadline:   cfg.RenewDeadline,
			RetryPeriod:     cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            name,
			Callbacks: leaderelection.LeaderCallbacks{
				// client-go calls this in a goroutine of its own and cancels
				// term before it calls OnStoppedLeading: check term under
				// the shard's lock, so that a late start never follows the
				// stop or a release.
				OnStartedLeading: func(term context.Context) {
					s.mu.Lock()
					defer s.mu.Unlock()
					if term.Err() == nil {
						e.set(s, true)
					}
				},
				OnStoppedLeading: func() {
					s.mu.Lock()
					defer s.mu.Unlock()
					e.set(s, false)
				},
			},
		}); err != nil {
			return nil, err
		}
		e.shards = append(e.shards, s)
	}
	return e, nil
}

// set switches acting for shard s; call it with s.mu held.
func (e *Elector) set(s *shard, on bool) {
	if s.acting.Swap(on) == on {
		return
	}
	if e.changed != nil {
		e.changed(s.index, on)
	}
	e.metrics.set(s.index, on, len(e.Held()))
	if on {
		s.lock.log.Info("holding the lease: acting for its scalers", zap.Int("shard", s.index))
	} else {
		s.lock.log.Info("let go of the lease: standing by for its scalers", zap.Int("shard", s.index))
	}
}

// Held lists the shards this replica holds and acts for.
func (e *Elector) Held() []int {
	var out []int
	for _, s := range e.shards {
		if s.acting.Load() {
			out = append(out, s.index)
		}
	}
	return out
}

// Leading says whether this replica holds a Lease (with one Lease: whether
// it acts at all).
func (e *Elector) Leading() bool { return len(e.Held()) > 0 }

// Run campaigns until ctx ends, then releases every Lease held (the shards,
// then its presence) and returns. Stop acting before cancelling ctx.
func (e *Elector) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if e.presence != nil {
		wg.Go(func() { e.presence.renew(ctx) })
		e.balance(ctx) // know the others before taking anything
	}
	for _, s := range e.shards {
		wg.Go(func() { e.campaign(ctx, s) })
	}
	if e.presence != nil {
		t := e.clock.NewTicker(e.cfg.RetryPeriod)
		defer t.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-t.C():
				e.balance(ctx)
			}
		}
	}
	wg.Wait()
	if e.presence != nil {
		if err := e.presence.leave(e.cfg.RenewDeadline); err != nil {
			e.log.Warn("cannot delete this replica's presence lease; the others count it out after a lease duration", zap.Error(err))
		}
	}
	return nil
}

// campaign runs terms of the shard's elector until ctx ends: a term ends
// when the Lease is lost or released, and the next one campaigns again.
func (e *Elector) campaign(ctx context.Context, s *shard) {
	for ctx.Err() == nil {
		term, stop := context.WithCancel(ctx)
		s.mu.Lock()
		s.stop = stop
		s.mu.Unlock()
		// client-go logs every try, refused ones at error level, through
		// the logr in ctx: the callbacks and the lock log what matters.
		s.elect.Run(logr.NewContext(term, logr.Discard()))
		stop()
		s.lock.setReleasing(false)
	}
}

// release stops acting for shard s, then ends its term, so that client-go
// releases the Lease: the next holder can take it only after this replica
// stopped acting for it.
func (e *Elector) release(s *shard) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.set(s, false)
	s.lock.setReleasing(true)
	if s.stop != nil {
		s.stop()
	}
}

// balance looks at the live replicas and releases what is above this
// replica's share.
func (e *Elector) balance(ctx context.Context) {
	before := e.balancer.view()
	live, err := e.presence.look(ctx)
	if err != nil {
		if ctx.Err() == nil && !e.blind {
			e.blind = true
			e.log.Warn("cannot list the replicas' presence leases: balancing on the last list", zap.Error(err))
		}
		return
	}
	if e.blind {
		e.blind = false
		e.log.Info("presence leases readable again")
	}
	e.balancer.setLive(live)
	v := e.balancer.view()
	if !slices.Equal(before.live, v.live) {
		q, r := v.split()
		e.log.Info("replicas changed", zap.Strings("live", v.live), zap.Int("shards", len(v.holders)),
			zap.String("share", shareText(q, r)))
	}
	rel := v.toRelease()
	if len(rel) == 0 {
		return
	}
	q, r := v.split()
	e.log.Info("releasing shards above this replica's share", zap.Ints("shards", rel), zap.Int("replicas", len(v.live)),
		zap.String("share", shareText(q, r)))
	for _, i := range rel {
		e.release(e.shards[i])
	}
}

func shareText(q, r int) string {
	if r == 0 {
		return strconv.Itoa(q)
	}
	return strconv.Itoa(q) + " or " + strconv.Itoa(q+1)
}
