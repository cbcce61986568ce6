package actuators

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/scaled-dev/scaled/pkg/config"
)

// Aurora is the reader instances of an Aurora cluster, as Aurora Auto
// Scaling sizes them.
//
// Read counts every reader in the cluster (the writer never): those being
// created count in Current, so that a slow creation never causes a second
// one, and those being deleted do not; Ready counts the available ones.
//
// Set re-reads the cluster first. Scale-out creates readers named by the
// name template (the lowest free index, so that a creation is idempotent
// across a restart) with the writer's engine, class and DB parameter group
// unless configured, in the cluster's zone with the fewest instances, tagged
// scaled.dev/owner=<owner>, at the lowest failover priority. Scale-in deletes
// only available readers carrying that tag, newest first: never the writer,
// never a reader scaled did not create. At most 15 readers and never fewer
// than min_readers: a Set held back by a limit returns *LimitedError.
type Aurora struct {
	replicaSet
}

var (
	_ Actuator       = (*Aurora)(nil)
	_ StatusReporter = (*Aurora)(nil)
)

// NewAurora returns the target t. It makes no call: the first Read does.
func NewAurora(t config.AuroraTarget, o AWSOptions) (*Aurora, error) {
	if t.ClusterIdentifier == "" {
		return nil, errors.New("aurora target: no cluster_identifier")
	}
	return &Aurora{newReplicaSet("aurora", t.ClusterIdentifier, config.DefaultAuroraName, config.MaxAuroraReaders, t.ReplicaOptions, o,
		func(c *rds.Client, opt config.ReplicaOptions) replicaBackend {
			return &auroraBackend{client: c, cluster: t.ClusterIdentifier, opt: opt}
		})}, nil
}

type auroraBackend struct {
	client  *rds.Client
	cluster string
	opt     config.ReplicaOptions
	// what new readers copy from the writer, as last listed
	engine, class, paramGroup string
}

func (b *auroraBackend) list(ctx context.Context) (*replicaState, error) {
	cl, err := b.client.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(b.cluster)})
	if err != nil {
		return nil, classifyAWS("DescribeDBClusters", err)
	}
	if len(cl.DBClusters) != 1 {
		return nil, &AWSError{Kind: AWSNotFound, Op: "DescribeDBClusters", Err: fmt.Errorf("cluster %s: %d clusters listed", b.cluster, len(cl.DBClusters))}
	}
	c := cl.DBClusters[0]
	writer := ""
	for _, m := range c.DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			writer = aws.ToString(m.DBInstanceIdentifier)
		}
	}
	in, err := b.client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{
		Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: []string{b.cluster}}},
	})
	if err != nil {
		return nil, classifyAWS("DescribeDBInstances", err)
	}
	st := &replicaState{Taken: map[string]bool{}, InZone: map[string]int{}, Zones: b.opt.AvailabilityZones}
	if len(st.Zones) == 0 {
		st.Zones = c.AvailabilityZones
	}
	b.engine, b.class, b.paramGroup = "", "", ""
	for _, db := range in.DBInstances {
		id := aws.ToString(db.DBInstanceIdentifier)
		st.Taken[id] = true
		status := aws.ToString(db.DBInstanceStatus)
		if !going(status) {
			st.InZone[aws.ToString(db.AvailabilityZone)]++
		}
		if id == writer {
			b.engine, b.class = aws.ToString(db.Engine), aws.ToString(db.DBInstanceClass)
			if len(db.DBParameterGroups) > 0 {
				b.paramGroup = aws.ToString(db.DBParameterGroups[0].DBParameterGroupName)
			}
			continue
		}
		st.Readers = append(st.Readers, replicaOf(db, b.opt.Owner))
	}
	return st, nil
}

func replicaOf(db rdstypes.DBInstance, owner string) replica {
	x := replica{ID: aws.ToString(db.DBInstanceIdentifier), Status: aws.ToString(db.DBInstanceStatus), AZ: aws.ToString(db.AvailabilityZone)}
	if db.InstanceCreateTime != nil {
		x.Created = *db.InstanceCreateTime
	}
	for _, t := range db.TagList {
		x.Owned = x.Owned || ownedBy(owner, t.Key, t.Value)
	}
	return x
}

func rdsTags(tags map[string]string) []rdstypes.Tag {
	var out []rdstypes.Tag
	for _, k := range sortedKeys(tags) {
		out = append(out, rdstypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func (b *auroraBackend) create(ctx context.Context, id, az string, tags map[string]string) error {
	if b.engine == "" {
		return &AWSError{Kind: AWSInvalidState, Op: "CreateDBInstance", Err: errNoWriter}
	}
	in := &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id),
		DBClusterIdentifier:  aws.String(b.cluster),
		Engine:               aws.String(b.engine),
		DBInstanceClass:      aws.String(or(b.opt.InstanceClass, b.class)),
		PromotionTier:        aws.Int32(15), // the last to be promoted: they may go away
		Tags:                 rdsTags(tags),
	}
	if pg := or(b.opt.ParameterGroup, b.paramGroup); pg != "" {
		in.DBParameterGroupName = aws.String(pg)
	}
	if az != "" {
		in.AvailabilityZone = aws.String(az)
	}
	_, err := b.client.CreateDBInstance(ctx, in)
	return classifyAWS("CreateDBInstance", err)
}

func (b *auroraBackend) remove(ctx context.Context, id string) error {
	_, err := b.client.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)})
	return classifyAWS("DeleteDBInstance", err)
}

func (b *auroraBackend) owned(ctx context.Context, id string) (bool, error) {
	return describeOwned(ctx, b.client, id, b.opt.Owner)
}

func describeOwned(ctx context.Context, c *rds.Client, id, owner string) (bool, error) {
	out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return false, classifyAWS("DescribeDBInstances", err)
	}
	for _, db := range out.DBInstances {
		if replicaOf(db, owner).Owned {
			return true, nil
		}
	}
	return false, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
