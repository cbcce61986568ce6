package actuators

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// KindRDS is the read replicas of an RDS source instance.
const KindRDS TargetKind = "rds"

func init() {
	Register(KindRDS, func() TargetSpec { return &RDSTarget{} })
}

// RDSTarget is the rds block of a target.
type RDSTarget struct {
	// Region of the instance (default: AWS_REGION or the shared config's).
	Region string `json:"region,omitempty"`
	// SourceInstance names the DB instance whose read replicas are scaled.
	SourceInstance string `json:"source_instance,omitempty"`
	// VpcSecurityGroupIDs of new replicas (default: the source's).
	VpcSecurityGroupIDs []string `json:"vpc_security_group_ids,omitempty"`
	// PubliclyAccessible makes new replicas reachable from the internet or
	// not (default: as the source is).
	PubliclyAccessible *bool            `json:"publicly_accessible,omitempty"`
	ReplicaOptions     `json:",inline"` // aws_options.go
}

// rdsKind is what sets RDS read replicas apart from Aurora readers in a
// block, beside the network settings; the rest of RDSTarget is shared
// (ReplicaOptions).
var rdsKind = replicaKind{kind: KindRDS, parentKey: "source_instance", defaultName: DefaultRDSName,
	max: MaxRDSReplicas, maxWhy: fmt.Sprintf("an RDS source instance has at most %d read replicas", MaxRDSReplicas)}

var (
	_ TargetSpec     = (*RDSTarget)(nil)
	_ StartupDelayer = (*RDSTarget)(nil)
	_ Reacher        = (*RDSTarget)(nil)
	_ Ceilinged      = (*RDSTarget)(nil)
)

// Reach implements Reacher: the source instance.
func (t *RDSTarget) Reach() Reach {
	return rdsKind.reach(t.SourceInstance, &t.Region, &t.ReplicaOptions)
}

// Ceiling implements Ceilinged.
func (t *RDSTarget) Ceiling() (int32, string) { return rdsKind.max, rdsKind.maxWhy }

// String names the source instance.
func (t *RDSTarget) String() string { return "rds/" + t.SourceInstance }

// Default implements TargetSpec: the name template, and the scaler as owner.
func (t *RDSTarget) Default(scaler string) { t.fill(rdsKind.defaultName, scaler) }

// Validate implements TargetSpec.
func (t *RDSTarget) Validate(scaler string, path *field.Path) field.ErrorList {
	return rdsKind.validate(path, t.SourceInstance, scaler, &t.ReplicaOptions, t.validateNetwork(path))
}

// validateNetwork checks the security groups new replicas take.
func (t *RDSTarget) validateNetwork(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	sgs := path.Child("vpc_security_group_ids")
	if t.VpcSecurityGroupIDs != nil && len(t.VpcSecurityGroupIDs) == 0 {
		errs = append(errs, fielderr.Required(sgs, t.VpcSecurityGroupIDs, "must name at least one VPC security group, or be left out to give replicas the source's"))
	}
	seen := map[string]bool{}
	for i, id := range t.VpcSecurityGroupIDs {
		switch {
		case !securityGroupRE.MatchString(id):
			errs = append(errs, fielderr.Invalid(sgs.Index(i), id, "must be a VPC security group ID: sg- and 8 or 17 hexadecimal digits"))
		case seen[id]:
			errs = append(errs, fielderr.Duplicate(sgs.Index(i), id, "is listed twice"))
		}
		seen[id] = true
	}
	return errs
}

// securityGroupRE is a VPC security group ID (EC2 API Reference, SecurityGroup: "sg-" and 8 or 17 hexadecimal digits).
var securityGroupRE = regexp.MustCompile(`^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$`)

// New implements TargetSpec.
func (t *RDSTarget) New(deps Deps) (Actuator, error) { return newAWS(deps, t.Region, *t, NewRDS) }

// RDS is the read replicas of an RDS source instance (MySQL, MariaDB,
// PostgreSQL, Oracle, SQL Server). It counts and changes them exactly as
// Aurora does its readers (see Aurora), with CreateDBInstanceReadReplica and
// DeleteDBInstance without a final snapshot (a replica cannot have one).
// Replicas in other regions (listed as ARNs) are neither counted nor touched.
// A Read is two calls: the source, then its replicas in one filtered
// DescribeDBInstances.
//
// A configured parameter_group is sent only where CreateDBInstanceReadReplica
// accepts one for a same-Region replica (Oracle and Db2); other engines'
// replicas take the source's DB parameter group, and Status says so.
type RDS struct {
	replicaSet
}

// NewRDS returns the target t. It makes no call: the first Read does.
func NewRDS(t RDSTarget, o AWSOptions) (*RDS, error) {
	if t.SourceInstance == "" {
		return nil, errors.New("rds target: no source_instance")
	}
	return &RDS{newReplicaSet(rdsKind, t.SourceInstance, t.ReplicaOptions, o, func(core rdsInstances) replicaBackend {
		return &rdsBackend{rdsInstances: core, securityGroups: t.VpcSecurityGroupIDs, public: t.PubliclyAccessible}
	})}, nil
}

type rdsBackend struct {
	rdsInstances        // parent: the source instance
	src          copied // as last listed
	// The network settings the target states, over the source's.
	securityGroups []string
	public         *bool
}

// replicaParameterGroup reports whether CreateDBInstanceReadReplica takes
// DBParameterGroupName for a same-Region replica of engine: "only
// supported for MySQL DB instances for cross-Region read replicas, for
// Multi-AZ DB cluster read replica instances, for Db2 DB instances, and for
// Oracle DB instances" (RDS API Reference). Same-Region MySQL, MariaDB,
// PostgreSQL and SQL Server replicas take the source's group.
func replicaParameterGroup(engine string) bool {
	return strings.HasPrefix(engine, "oracle-") || strings.HasPrefix(engine, "db2-")
}

// replicaCeiling is how many read replicas a source of engine may have:
// "Each DB instance can have up to 15 read replicas, except for the
// following engines: Db2 - Can have up to three replicas. Oracle - Can have
// up to five read replicas. SQL Server - Can have up to five read replicas"
// (RDS API Reference, CreateDBInstanceReadReplica, SourceDBInstanceIdentifier).
func replicaCeiling(engine string) int32 {
	switch {
	case strings.HasPrefix(engine, "db2-"):
		return 3
	case strings.HasPrefix(engine, "oracle-"), strings.HasPrefix(engine, "sqlserver-"):
		return 5
	}
	return MaxRDSReplicas
}

func (b *rdsBackend) list(ctx context.Context) (*replicaState, error) {
	view, err := b.reads.view(ctx, b.parent)
	if err != nil {
		return nil, err
	}
	src, err := view.instance(ctx, b.parent)
	if err != nil {
		return nil, err
	}
	b.src = copiedFrom(src)
	st := &replicaState{Taken: map[string]bool{b.parent: true}, InZone: map[string]int{aws.ToString(src.AvailabilityZone): 1},
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
	if m := replicaCeiling(b.src.engine); m < MaxRDSReplicas {
		st.Max, st.MaxWhy = m, fmt.Sprintf("an RDS for %s source has at most %d read replicas", b.src.engine, m)
	}
	if pg := b.opt.ParameterGroup; pg != "" && !replicaParameterGroup(b.src.engine) {
		st.Notes = append(st.Notes, fmt.Sprintf("parameter_group %s is not applied: RDS takes a DB parameter group on a same-Region read replica only for Oracle and Db2; %s replicas take the source's (%s)",
			pg, b.src.engine, b.src.paramGroup))
	}
	var ids []string
	for _, id := range src.ReadReplicaDBInstanceIdentifiers {
		if strings.Contains(id, ":") { // an ARN: a replica in another region
			continue
		}
		st.Taken[id] = true
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return st, nil
	}
	replicas, err := view.instances(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, db := range replicas {
		x := replicaOf(db, b.opt.Owner)
		if aws.ToString(db.ReadReplicaSourceDBInstanceIdentifier) != b.parent {
			continue // listed by the source, gone or promoted since
		}
		if !goingStatus(x.Status) {
			st.InZone[x.AZ]++
		}
		st.Readers = append(st.Readers, x)
	}
	return st, nil
}

func (b *rdsBackend) create(ctx context.Context, id, az string, tags map[string]string) error {
	s := b.src
	in := &rds.CreateDBInstanceReadReplicaInput{
		DBInstanceIdentifier:       aws.String(id),
		SourceDBInstanceIdentifier: aws.String(b.parent),
		DBInstanceClass:            aws.String(cmp.Or(b.opt.InstanceClass, s.class)),
		Tags:                       rdsTags(tags),
	}
	c := s.carried(az)
	in.AvailabilityZone, in.MonitoringInterval, in.MonitoringRoleArn = c.zone, c.monitoringInterval, c.monitoringRole
	in.EnablePerformanceInsights, in.PerformanceInsightsRetentionPeriod, in.CACertificateIdentifier = c.performanceInsights, c.piRetention, c.caCertificate
	if pg := b.opt.ParameterGroup; pg != "" && replicaParameterGroup(s.engine) { // otherwise RDS uses the source's
		in.DBParameterGroupName = aws.String(pg)
	}
	// Left out, a replica gets the VPC's default security group and
	// CreateDBInstance's default accessibility, which a default VPC makes
	// public (RDS API Reference, CreateDBInstanceReadReplica): a replica the
	// application cannot reach, or one open to the internet. Always sent:
	// what the target states, else the source's.
	in.VpcSecurityGroupIds = s.securityGroups
	if len(b.securityGroups) > 0 {
		in.VpcSecurityGroupIds = b.securityGroups
	}
	in.PubliclyAccessible = aws.Bool(s.public)
	if b.public != nil {
		in.PubliclyAccessible = aws.Bool(*b.public)
	}
	if s.storageType != "" {
		in.StorageType = aws.String(s.storageType)
	}
	if s.maxAllocated > 0 {
		in.MaxAllocatedStorage = aws.Int32(s.maxAllocated)
	}
	return b.wrote("CreateDBInstanceReadReplica", func() error {
		_, err := b.client.CreateDBInstanceReadReplica(ctx, in)
		return err
	})
}

// remove deletes a read replica without a final snapshot: a replica
// cannot have one.
func (b *rdsBackend) remove(ctx context.Context, id string) error {
	return b.delete(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true)})
}

// A read replica's source has no writer to fail over to a replica: a
// Multi-AZ source fails over to its standby, which is not a replica.
func (b *rdsBackend) failovers() bool { return false }

func (b *rdsBackend) lastFailover(context.Context, time.Time) (time.Time, error) {
	return time.Time{}, nil
}
