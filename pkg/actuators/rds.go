package actuators

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/scaled-dev/scaled/pkg/config"
)

// RDS is the read replicas of an RDS source instance (MySQL, MariaDB,
// PostgreSQL, Oracle, SQL Server). It counts and changes them exactly as
// Aurora does its readers (see Aurora), with CreateDBInstanceReadReplica and
// DeleteDBInstance without a final snapshot (a replica cannot have one).
// Replicas in other regions (listed as ARNs) are neither counted nor touched.
type RDS struct {
	replicaSet
}

var (
	_ Actuator       = (*RDS)(nil)
	_ StatusReporter = (*RDS)(nil)
)

// NewRDS returns the target t. It makes no call: the first Read does.
func NewRDS(t config.RDSTarget, o AWSOptions) (*RDS, error) {
	if t.SourceInstance == "" {
		return nil, errors.New("rds target: no source_instance")
	}
	return &RDS{newReplicaSet("rds", t.SourceInstance, config.DefaultRDSName, config.MaxRDSReplicas, t.ReplicaOptions, o,
		func(c *rds.Client, opt config.ReplicaOptions) replicaBackend {
			return &rdsBackend{client: c, source: t.SourceInstance, opt: opt}
		})}, nil
}

type rdsBackend struct {
	client *rds.Client
	source string
	opt    config.ReplicaOptions
	class  string
}

func (b *rdsBackend) list(ctx context.Context) (*replicaState, error) {
	out, err := b.client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(b.source)})
	if err != nil {
		return nil, classifyAWS("DescribeDBInstances", err)
	}
	if len(out.DBInstances) != 1 {
		return nil, &AWSError{Kind: AWSNotFound, Op: "DescribeDBInstances", Err: errors.New("source instance " + b.source + " not listed")}
	}
	src := out.DBInstances[0]
	b.class = aws.ToString(src.DBInstanceClass)
	st := &replicaState{Taken: map[string]bool{b.source: true}, InZone: map[string]int{aws.ToString(src.AvailabilityZone): 1},
		Zones: b.opt.AvailabilityZones}
	if len(st.Zones) == 0 && src.DBSubnetGroup != nil {
		seen := map[string]bool{}
		for _, s := range src.DBSubnetGroup.Subnets {
			if s.SubnetAvailabilityZone != nil {
				if z := aws.ToString(s.SubnetAvailabilityZone.Name); z != "" && !seen[z] {
					seen[z] = true
					st.Zones = append(st.Zones, z)
				}
			}
		}
		sort.Strings(st.Zones)
	}
	for _, id := range src.ReadReplicaDBInstanceIdentifiers {
		if strings.Contains(id, ":") { // an ARN: a replica in another region
			continue
		}
		st.Taken[id] = true
		r, err := b.client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if AWSErrorCode(err) == "DBInstanceNotFound" {
			continue // gone between the two calls
		}
		if err != nil {
			return nil, classifyAWS("DescribeDBInstances", err)
		}
		for _, db := range r.DBInstances {
			x := replicaOf(db, b.opt.Owner)
			if !going(x.Status) {
				st.InZone[x.AZ]++
			}
			st.Readers = append(st.Readers, x)
		}
	}
	return st, nil
}

func (b *rdsBackend) create(ctx context.Context, id, az string, tags map[string]string) error {
	in := &rds.CreateDBInstanceReadReplicaInput{
		DBInstanceIdentifier:       aws.String(id),
		SourceDBInstanceIdentifier: aws.String(b.source),
		DBInstanceClass:            aws.String(or(b.opt.InstanceClass, b.class)),
		Tags:                       rdsTags(tags),
	}
	if b.opt.ParameterGroup != "" { // otherwise RDS uses the source's
		in.DBParameterGroupName = aws.String(b.opt.ParameterGroup)
	}
	if az != "" {
		in.AvailabilityZone = aws.String(az)
	}
	_, err := b.client.CreateDBInstanceReadReplica(ctx, in)
	return classifyAWS("CreateDBInstanceReadReplica", err)
}

func (b *rdsBackend) remove(ctx context.Context, id string) error {
	_, err := b.client.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true),
	})
	return classifyAWS("DeleteDBInstance", err)
}

func (b *rdsBackend) owned(ctx context.Context, id string) (bool, error) {
	return describeOwned(ctx, b.client, id, b.opt.Owner)
}
