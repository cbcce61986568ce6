package leader

import (
	"context"
	"errors"
	"sync"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// shardLock is client-go's LeaseLock for one shard, plus two things: it
// remembers the holder it last read or wrote (what the balancer counts), and
// before a write that takes the Lease from nobody or from another replica it
// asks take (nil: always taken). Renewals and releases always pass, so the
// gate never makes a holder lose a Lease; a refused taking is a failed try,
// and client-go tries again a retry period later.
type shardLock struct {
	resourcelock.LeaseLock
	take func(write func() error) error
	log  *zap.Logger

	mu        sync.Mutex
	holder    string
	releasing bool // this replica let go; the shard counts as free until the term ends
	failing   bool // the last request failed for a reason other than contention
}

var _ resourcelock.Interface = (*shardLock)(nil)

func (l *shardLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	r, raw, err := l.LeaseLock.Get(ctx)
	switch {
	case err == nil:
		l.saw(r.HolderIdentity)
	case apierrors.IsNotFound(err):
		l.saw("")
	}
	l.reached(err)
	return r, raw, err
}

func (l *shardLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.write(r, func() error { return l.LeaseLock.Create(ctx, r) })
}

func (l *shardLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.write(r, func() error { return l.LeaseLock.Update(ctx, r) })
}

func (l *shardLock) write(r resourcelock.LeaderElectionRecord, do func() error) error {
	write := func() error {
		err := do()
		if err == nil {
			l.saw(r.HolderIdentity)
		}
		l.reached(err)
		return err
	}
	if self := l.Identity(); r.HolderIdentity == self && l.heldBy() != self && l.take != nil {
		return l.take(write)
	}
	return write()
}

// heldBy is the holder last read or written; "" while this replica
// releases it.
func (l *shardLock) heldBy() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.releasing {
		return ""
	}
	return l.holder
}

func (l *shardLock) saw(holder string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder = holder
}

func (l *shardLock) setReleasing(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releasing = on
}

// reached logs when requests for the Lease start and stop failing (client-go's
// own log of every try is off): contention and refusals are not failures.
func (l *shardLock) reached(err error) {
	failed := err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) &&
		!apierrors.IsAlreadyExists(err) && !errors.Is(err, errAtShare)
	l.mu.Lock()
	was := l.failing
	l.failing = failed
	l.mu.Unlock()
	switch {
	case failed && !was:
		l.log.Warn("cannot read or write the lease; retrying every retry period", zap.Error(err))
	case !failed && was:
		l.log.Info("lease reachable again")
	}
}
