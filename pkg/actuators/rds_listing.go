package actuators

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"k8s.io/utils/clock"
)

// rdsPageSize is MaxRecords of every Describe call: the most RDS allows
// (RDS API Reference, DescribeDBClusters and DescribeDBInstances: 20 to 100).
const rdsPageSize = 100

// listingTimeout bounds one account-wide listing, whoever waits for it:
// each target waits only as long as its own tick allows.
const listingTimeout = time.Minute

// rdsView answers what an Aurora or RDS target reads of the account: from
// one account-wide listing shared by every target of the region
// (rdsSnapshot), or by calls of its own (rdsDirect).
type rdsView interface {
	cluster(ctx context.Context, id string) (rdstypes.DBCluster, error)
	clusterInstances(ctx context.Context, cluster string) ([]rdstypes.DBInstance, error)
	instance(ctx context.Context, id string) (rdstypes.DBInstance, error)
	instances(ctx context.Context, ids []string) ([]rdstypes.DBInstance, error)
}

// rdsListing shares one account-wide, paged DescribeDBClusters and
// DescribeDBInstances among the Aurora and RDS targets of a region: it is
// read again, once however many targets ask at a time, by the first target
// that finds it max age old; until the new one is in, targets read the last
// one, and wait only when it is twice max age old (or there is none yet),
// so that in steady state no tick waits for a listing and none is served
// older than twice max age. A target that scaled changed (wrote) reads its own
// cluster or source by itself until a listing that started after the
// change is complete, so that it never counts from a listing older than
// its own last change. With max age 0 every target reads by itself.
type rdsListing struct {
	client *rds.Client
	clock  clock.PassiveClock
	maxAge func() time.Duration

	mu      sync.Mutex
	snap    *rdsSnapshot
	reading *listingRead         // the listing being read, nil when none is
	dirty   map[string]time.Time // cluster or source -> when scaled last changed it
}

type listingRead struct {
	done chan struct{}
	snap *rdsSnapshot
	err  error
}

// view returns what the target keyed key (its cluster or source) reads.
func (l *rdsListing) view(ctx context.Context, key string) (rdsView, error) {
	direct := rdsDirect{l.client}
	maxAge := l.maxAge()
	if maxAge <= 0 {
		return direct, nil
	}
	l.mu.Lock()
	now := l.clock.Now()
	if at, ok := l.dirty[key]; ok {
		if l.snap == nil || !l.snap.at.After(at) {
			l.mu.Unlock()
			return direct, nil
		}
		delete(l.dirty, key)
	}
	age := time.Duration(math.MaxInt64)
	if l.snap != nil {
		age = now.Sub(l.snap.at)
	}
	if age < maxAge {
		s := l.snap
		l.mu.Unlock()
		return s, nil
	}
	rd := l.reading
	if rd == nil {
		rd = &listingRead{done: make(chan struct{})}
		l.reading = rd
		// The read outlives a target that gives up: the others wait for it.
		go l.read(context.WithoutCancel(ctx), rd)
	}
	if age < 2*maxAge {
		// The next listing is on its way: until it is in, the last one
		// serves, so that no tick waits for it.
		s := l.snap
		l.mu.Unlock()
		return s, nil
	}
	l.mu.Unlock()
	select {
	case <-rd.done:
	case <-ctx.Done():
		return nil, classifyAWS("DescribeDBInstances", ctx.Err())
	}
	if rd.err != nil {
		return nil, rd.err
	}
	return rd.snap, nil
}

func (l *rdsListing) read(ctx context.Context, rd *listingRead) {
	ctx, cancel := context.WithTimeout(ctx, listingTimeout)
	defer cancel()
	rd.snap, rd.err = readSnapshot(ctx, l.client, l.clock.Now())
	l.mu.Lock()
	if rd.err == nil && (l.snap == nil || !rd.snap.at.Before(l.snap.at)) {
		l.snap = rd.snap
	}
	l.reading = nil
	l.mu.Unlock()
	close(rd.done)
}

// wrote records that scaled changed (or tried to change) key now.
func (l *rdsListing) wrote(key string) {
	l.mu.Lock()
	l.dirty[key] = l.clock.Now()
	l.mu.Unlock()
}

// rdsSnapshot is one account-wide listing, started at at.
type rdsSnapshot struct {
	at        time.Time
	clusters  map[string]rdstypes.DBCluster
	byID      map[string]rdstypes.DBInstance
	byCluster map[string][]rdstypes.DBInstance
	direct    rdsDirect // for what the listing does not hold
}

func readSnapshot(ctx context.Context, c *rds.Client, at time.Time) (*rdsSnapshot, error) {
	s := &rdsSnapshot{at: at, clusters: map[string]rdstypes.DBCluster{}, byID: map[string]rdstypes.DBInstance{},
		byCluster: map[string][]rdstypes.DBInstance{}, direct: rdsDirect{c}}
	clusters, err := allPages(ctx, rds.NewDescribeDBClustersPaginator(c, &rds.DescribeDBClustersInput{MaxRecords: aws.Int32(rdsPageSize)}),
		func(page *rds.DescribeDBClustersOutput) []rdstypes.DBCluster { return page.DBClusters })
	if err != nil {
		return nil, classifyAWS("DescribeDBClusters", err)
	}
	for _, x := range clusters {
		s.clusters[aws.ToString(x.DBClusterIdentifier)] = x
	}
	instances, err := allPages(ctx, rds.NewDescribeDBInstancesPaginator(c, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(rdsPageSize)}), dbInstances)
	if err != nil {
		return nil, classifyAWS("DescribeDBInstances", err)
	}
	for _, x := range instances {
		s.byID[aws.ToString(x.DBInstanceIdentifier)] = x
		if cid := aws.ToString(x.DBClusterIdentifier); cid != "" {
			s.byCluster[cid] = append(s.byCluster[cid], x)
		}
	}
	return s, nil
}

// A cluster or instance the listing does not hold (made since it was
// read) is read by itself: the listing is never the only word on absence.
func (s *rdsSnapshot) cluster(ctx context.Context, id string) (rdstypes.DBCluster, error) {
	if c, ok := s.clusters[id]; ok {
		return c, nil
	}
	return s.direct.cluster(ctx, id)
}

func (s *rdsSnapshot) clusterInstances(ctx context.Context, cluster string) ([]rdstypes.DBInstance, error) {
	if _, ok := s.clusters[cluster]; !ok {
		return s.direct.clusterInstances(ctx, cluster)
	}
	return s.byCluster[cluster], nil
}

func (s *rdsSnapshot) instance(ctx context.Context, id string) (rdstypes.DBInstance, error) {
	if x, ok := s.byID[id]; ok {
		return x, nil
	}
	return s.direct.instance(ctx, id)
}

// instances lists those of ids the listing holds: one it does not is gone
// or not created yet, as a filtered DescribeDBInstances would say.
func (s *rdsSnapshot) instances(_ context.Context, ids []string) ([]rdstypes.DBInstance, error) {
	var out []rdstypes.DBInstance
	for _, id := range ids {
		if x, ok := s.byID[id]; ok {
			out = append(out, x)
		}
	}
	return out, nil
}

// rdsDirect reads one target's cluster or source by itself, every page.
type rdsDirect struct{ client *rds.Client }

func (d rdsDirect) cluster(ctx context.Context, id string) (rdstypes.DBCluster, error) {
	all, err := allPages(ctx, rds.NewDescribeDBClustersPaginator(d.client, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id), MaxRecords: aws.Int32(rdsPageSize)}),
		func(page *rds.DescribeDBClustersOutput) []rdstypes.DBCluster { return page.DBClusters })
	if err != nil {
		return rdstypes.DBCluster{}, classifyAWS("DescribeDBClusters", err)
	}
	if len(all) != 1 {
		return rdstypes.DBCluster{}, &AWSError{Kind: AWSNotFound, Op: "DescribeDBClusters", Err: fmt.Errorf("cluster %s: %d clusters listed", id, len(all))}
	}
	return all[0], nil
}

func (d rdsDirect) clusterInstances(ctx context.Context, cluster string) ([]rdstypes.DBInstance, error) {
	return d.describe(ctx, &rds.DescribeDBInstancesInput{Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: []string{cluster}}}})
}

func (d rdsDirect) instance(ctx context.Context, id string) (rdstypes.DBInstance, error) {
	out, err := d.describe(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return rdstypes.DBInstance{}, err
	}
	if len(out) != 1 {
		return rdstypes.DBInstance{}, &AWSError{Kind: AWSNotFound, Op: "DescribeDBInstances", Err: fmt.Errorf("instance %s: %d instances listed", id, len(out))}
	}
	return out[0], nil
}

func (d rdsDirect) instances(ctx context.Context, ids []string) ([]rdstypes.DBInstance, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return d.describe(ctx, &rds.DescribeDBInstancesInput{Filters: []rdstypes.Filter{{Name: aws.String("db-instance-id"), Values: ids}}})
}

func (d rdsDirect) describe(ctx context.Context, in *rds.DescribeDBInstancesInput) ([]rdstypes.DBInstance, error) {
	in.MaxRecords = aws.Int32(rdsPageSize)
	all, err := allPages(ctx, rds.NewDescribeDBInstancesPaginator(d.client, in), dbInstances)
	if err != nil {
		return nil, classifyAWS("DescribeDBInstances", err)
	}
	return all, nil
}

func dbInstances(page *rds.DescribeDBInstancesOutput) []rdstypes.DBInstance { return page.DBInstances }

// pager is an AWS SDK paginator whose pages are P, of a client whose
// options are O.
type pager[P, O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*O)) (P, error)
}

// allPages reads every page of p and returns the items of all, as items
// takes them from each; the error is the SDK's, for the caller to classify.
func allPages[P, O, T any](ctx context.Context, p pager[P, O], items func(P) []T) ([]T, error) {
	var all []T
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, items(page)...)
	}
	return all, nil
}
