package leader

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/config"
)

// ShardOf is the shard of a scaler among n: the jump consistent hash
// (Lamping and Veach, 2014) of the FNV-1a 64 hash of its name. Going from n
// to n+1 shards moves only the scalers that land on the new shard, about
// 1/(n+1) of them.
func ShardOf(scaler string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(scaler))
	return jumpHash(h.Sum64(), n)
}

func jumpHash(key uint64, n int) int {
	var b, j int64 = -1, 0
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}

// ShardLease is the name of shard i's Lease.
func ShardLease(leaseName string, i int) string { return leaseName + "-shard-" + strconv.Itoa(i) }

// MemberLease is the name of member slot i's Lease. A live replica holds one
// slot, so that the replicas can count each other; there are as many slots
// as shards, since more replicas than shards cannot make the share smaller.
func MemberLease(leaseName string, i int) string { return leaseName + "-member-" + strconv.Itoa(i) }

// ClientLimits is the client-side rate limit a Kubernetes client needs to
// run cfg's sharded electors without throttling: 2 x Shards electors (the
// shards and the member slots), each making at most two requests (a read
// and a write) per retry period, and a burst of twice that. client-go's
// default (5 per second, burst 10) would delay renewals and observations,
// and so takeovers, past what the lease timing promises. Never below the
// default.
func ClientLimits(cfg config.LeaderElection) (qps float32, burst int) {
	qps = 5
	if cfg.RetryPeriod > 0 {
		if q := float32(4*cfg.Shards) / float32(cfg.RetryPeriod.Seconds()); q > qps {
			qps = q
		}
	}
	return qps, int(2 * qps)
}

// Acting is what sharded leadership switches: engine.Manager.
type Acting interface {
	SetActing(acting func(scaler string) bool)
}

// Sharded splits the scalers across replicas: it campaigns for N shard
// Leases and makes Acting act only for the scalers of the shards it holds.
//
// Every replica holds one member slot Lease while it lives, and so knows how
// many replicas live (M). It takes a shard only while it holds fewer than
// ceil(N/M); one that holds more than that for a whole lease duration (a
// replica joined) releases its surplus, highest shards first, and the
// replicas below their share take them at their next retry. Each shard has
// at most one holder (the Lease); a replica keeps watching every shard Lease
// it does not hold, so that when a holder dies its shards are taken as soon
// as the lease expires. On shutdown every Lease held is released.
type Sharded struct {
	cfg    config.LeaderElection
	n      int
	client kubernetes.Interface
	clock  clock.WithTicker
	log    *zap.Logger
	gauge  *prometheus.GaugeVec

	shards  *pool
	members *pool
	share   atomic.Int64
}

// NewSharded returns a Sharded for cfg.Shards shards. cfg.Namespace and
// cfg.Identity must be resolved. reg gets scaled_leader{shard} (nil: not
// registered). acting acts for no scaler from now until a shard is held.
func NewSharded(client kubernetes.Interface, cfg config.LeaderElection, acting Acting, reg prometheus.Registerer, logger *zap.Logger) (*Sharded, error) {
	return newSharded(client, cfg, acting, reg, logger, clock.RealClock{})
}

func newSharded(client kubernetes.Interface, cfg config.LeaderElection, acting Acting, reg prometheus.Registerer, logger *zap.Logger, clk clock.WithTicker) (*Sharded, error) {
	if cfg.Namespace == "" || cfg.Identity == "" {
		return nil, errors.New("leader election: namespace and identity must be set")
	}
	if cfg.Shards < 1 {
		return nil, fmt.Errorf("leader election: shards %d, want at least 1", cfg.Shards)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scaled_leader",
		Help: "1 while this replica holds the shard's Lease and acts for its scalers, 0 while it only decides (standby).",
	}, []string{"shard"})
	if reg != nil {
		if err := reg.Register(g); err != nil {
			return nil, err
		}
	}
	s := &Sharded{cfg: cfg, n: cfg.Shards, client: client, clock: clk, gauge: g,
		log: logger.With(zap.String("identity", cfg.Identity), zap.Int("shards", cfg.Shards))}
	s.share.Store(int64(cfg.Shards))
	s.shards = newPool(s, "shard", ShardLease, func() int { return int(s.share.Load()) })
	s.members = newPool(s, "member", MemberLease, func() int { return 1 })
	s.shards.changed = func(i int, on bool) {
		v := 0.0
		if on {
			v = 1
		}
		g.WithLabelValues(strconv.Itoa(i)).Set(v)
	}
	for i := 0; i < s.n; i++ {
		g.WithLabelValues(strconv.Itoa(i)).Set(0)
	}
	acting.SetActing(func(scaler string) bool { return s.shards.leading[ShardOf(scaler, s.n)].Load() })
	return s, nil
}

// Held lists the shards this replica holds.
func (s *Sharded) Held() []int { return s.shards.held() }

// Members is how many replicas this one sees alive, itself included.
func (s *Sharded) Members() int {
	now := s.clock.Now()
	p := s.members
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 1
	for i, r := range p.seen {
		if r.holder != "" && r.holder != s.cfg.Identity && !p.leading[i].Load() && now.Sub(r.changed) < s.cfg.LeaseDuration {
			n++
		}
	}
	return n
}

// Run campaigns until ctx ends, then releases every Lease held and returns.
// Stop acting before cancelling ctx.
func (s *Sharded) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 2*s.n)
	for _, p := range []*pool{s.members, s.shards} {
		for i := 0; i < s.n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.run(ctx, i); err != nil {
					errs <- err
				}
			}()
		}
	}
	s.log.Info("sharded leader election on: acting only for the shards held")
	s.rebalance(ctx)
	wg.Wait()
	close(errs)
	return <-errs
}

// rebalance keeps the share up to date with the live members and releases
// the surplus a replica has held for a whole lease duration.
func (s *Sharded) rebalance(ctx context.Context) {
	var over time.Time
	t := s.clock.NewTicker(s.cfg.RetryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		m := s.Members()
		share := (s.n + m - 1) / m
		if old := s.share.Swap(int64(share)); old != int64(share) {
			s.log.Info("share of shards changed", zap.Int("members", m), zap.Int("share", share))
		}
		held := s.shards.held()
		if len(held) <= share {
			over = time.Time{}
			continue
		}
		now := s.clock.Now()
		if over.IsZero() {
			over = now
			continue
		}
		if now.Sub(over) < s.cfg.LeaseDuration {
			continue
		}
		over = time.Time{}
		surplus := held[share:] // the highest shards
		s.log.Info("releasing the shards above this replica's share", zap.Ints("shards", surplus), zap.Int("members", m), zap.Int("share", share))
		for _, i := range surplus {
			s.shards.release(i)
		}
	}
}

// errAtShare refuses to take a Lease while this replica holds its share.
var errAtShare = errors.New("this replica holds its share of the leases")

// pool is a set of Leases of one kind, one elector each, with a cap on how
// many this replica may hold at once.
type pool struct {
	s       *Sharded
	kind    string
	name    func(leaseName string, i int) string
	limit   func() int
	changed func(i int, on bool)

	leading []atomic.Bool

	mu      sync.Mutex
	claimed []bool // this replica wrote itself as holder and has not let go since
	seen    []seen
	cancel  []context.CancelFunc // stops lease i's elector, releasing it if held
}

// seen is the last holder observed on a Lease, and when it last changed.
type seen struct {
	holder  string
	renew   time.Time
	changed time.Time
}

func newPool(s *Sharded, kind string, name func(string, int) string, limit func() int) *pool {
	return &pool{s: s, kind: kind, name: name, limit: limit,
		leading: make([]atomic.Bool, s.n), claimed: make([]bool, s.n), seen: make([]seen, s.n), cancel: make([]context.CancelFunc, s.n)}
}

func (p *pool) held() []int {
	var out []int
	for i := range p.leading {
		if p.leading[i].Load() {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

func (p *pool) claimedLocked() int {
	n := 0
	for _, c := range p.claimed {
		if c {
			n++
		}
	}
	return n
}

// release stops acting for lease i, then lets its elector release it: the
// next holder can take it only after this replica stopped acting for it.
func (p *pool) release(i int) {
	if p.leading[i].Swap(false) && p.changed != nil {
		p.changed(i, false)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel[i] != nil {
		p.cancel[i]()
	}
}

// run campaigns for lease i until ctx ends; after a release it campaigns
// again, held back by the cap.
func (p *pool) run(ctx context.Context, i int) error {
	cfg := p.s.cfg
	name := p.name(cfg.LeaseName, i)
	log := p.s.log.With(zap.String("lease", cfg.Namespace+"/"+name))
	lock := &gatedLock{LeaseLock: resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: name},
		Client:     p.s.client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}, p: p, i: i}
	var cbMu sync.Mutex
	for ctx.Err() == nil {
		lctx, cancel := context.WithCancel(ctx)
		p.mu.Lock()
		p.cancel[i] = cancel
		p.mu.Unlock()
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   cfg.LeaseDuration,
			RenewDeadline:   cfg.RenewDeadline,
			RetryPeriod:     cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            name,
			Callbacks: leaderelection.LeaderCallbacks{
				// Run cancels the context it hands here before it calls
				// OnStoppedLeading: check it under the lock so that a late
				// start never follows the stop.
				OnStartedLeading: func(c context.Context) {
					cbMu.Lock()
					defer cbMu.Unlock()
					if c.Err() == nil {
						p.set(i, true)
						log.Info("holding " + p.kind + " lease")
					}
				},
				OnStoppedLeading: func() {
					cbMu.Lock()
					defer cbMu.Unlock()
					if p.leading[i].Load() {
						log.Info("let go of " + p.kind + " lease")
					}
					p.set(i, false)
				},
			},
		})
		if err != nil {
			cancel()
			return err
		}
		// client-go logs every refused try at error level: the refusals
		// of the cap are expected, and the callbacks log what matters.
		le.Run(logr.NewContext(lctx, logr.Discard())) // klog.FromContext reads the logr in ctx
		cancel()
	}
	return nil
}

func (p *pool) set(i int, on bool) {
	p.leading[i].Store(on)
	if !on {
		p.mu.Lock()
		p.claimed[i] = false
		p.mu.Unlock()
	}
	if p.changed != nil {
		p.changed(i, on)
	}
}

// gatedLock is a Lease lock that refuses to take the Lease while the pool is
// at its cap, and records what it sees of the other holders.
type gatedLock struct {
	resourcelock.LeaseLock
	p *pool
	i int
}

func (l *gatedLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	r, raw, err := l.LeaseLock.Get(ctx)
	p := l.p
	now := p.s.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	next := seen{}
	switch {
	case err == nil:
		next.holder, next.renew = r.HolderIdentity, r.RenewTime.Time
	case apierrors.IsNotFound(err):
	default:
		return r, raw, err // unknown: keep what was seen
	}
	if old := p.seen[l.i]; old.holder == next.holder && old.renew.Equal(next.renew) && !old.changed.IsZero() {
		next.changed = old.changed
	} else {
		next.changed = now
	}
	p.seen[l.i] = next
	if next.holder != l.LockConfig.Identity {
		p.claimed[l.i] = false
	}
	return r, raw, err
}

func (l *gatedLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.write(r, func() error { return l.LeaseLock.Create(ctx, r) })
}

func (l *gatedLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.write(r, func() error { return l.LeaseLock.Update(ctx, r) })
}

// write lets renewals and releases through, and takes the Lease only below
// the cap. Takings are serialised, so that two electors of one replica never
// both pass the cap.
func (l *gatedLock) write(r resourcelock.LeaderElectionRecord, do func() error) error {
	p := l.p
	if r.HolderIdentity != l.LockConfig.Identity { // a release
		err := do()
		if err == nil {
			p.mu.Lock()
			p.claimed[l.i] = false
			p.mu.Unlock()
		}
		return err
	}
	p.mu.Lock()
	if p.claimed[l.i] { // a renewal
		p.mu.Unlock()
		return do()
	}
	defer p.mu.Unlock()
	if p.claimedLocked() >= p.limit() {
		return errAtShare
	}
	if err := do(); err != nil {
		return err
	}
	p.claimed[l.i] = true
	return nil
}
