package actuators

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// KindAurora is the reader instances of an Aurora cluster.
const KindAurora TargetKind = "aurora"

func init() {
	Register(KindAurora, func() TargetSpec { return &AuroraTarget{} })
}

// AuroraTarget is the aurora block of a target.
type AuroraTarget struct {
	// Region of the cluster (default: AWS_REGION or the shared config's).
	Region string `json:"region,omitempty"`
	// ClusterIdentifier names the Aurora cluster whose readers are scaled.
	ClusterIdentifier string           `json:"cluster_identifier,omitempty"`
	ReplicaOptions    `json:",inline"` // aws_options.go
}

// auroraKind is what sets Aurora readers apart from RDS read replicas in
// a block; the rest of AuroraTarget is shared (ReplicaOptions).
var auroraKind = replicaKind{kind: KindAurora, parentKey: "cluster_identifier", defaultName: DefaultAuroraName,
	max: MaxAuroraReaders, maxWhy: fmt.Sprintf("an Aurora cluster has at most %d readers", MaxAuroraReaders)}

var (
	_ TargetSpec     = (*AuroraTarget)(nil)
	_ StartupDelayer = (*AuroraTarget)(nil)
	_ Reacher        = (*AuroraTarget)(nil)
	_ Ceilinged      = (*AuroraTarget)(nil)
)

// Reach implements Reacher: the cluster.
func (t *AuroraTarget) Reach() Reach {
	return auroraKind.reach(t.ClusterIdentifier, &t.Region, &t.ReplicaOptions)
}

// Ceiling implements Ceilinged.
func (t *AuroraTarget) Ceiling() (int32, string) { return auroraKind.max, auroraKind.maxWhy }

// String names the cluster.
func (t *AuroraTarget) String() string { return "aurora/" + t.ClusterIdentifier }

// Default implements TargetSpec: the name template, and the scaler as owner.
func (t *AuroraTarget) Default(scaler string) { t.fill(auroraKind.defaultName, scaler) }

// Validate implements TargetSpec.
func (t *AuroraTarget) Validate(scaler string, path *field.Path) field.ErrorList {
	return auroraKind.validate(path, t.ClusterIdentifier, scaler, &t.ReplicaOptions, nil)
}

// New implements TargetSpec.
func (t *AuroraTarget) New(deps Deps) (Actuator, error) { return newAWS(deps, t.Region, *t, NewAurora) }

// Aurora is the reader instances of an Aurora cluster, as Aurora Auto
// Scaling sizes them.
//
// It acts only on a cluster that is "available" with exactly one writer
// (Aurora Auto Scaling scales a cluster only in the available state): while
// a failover is in progress, or on a headless or secondary cluster with no
// writer, Read fails, since its readers cannot be told from its writer; and
// while the cluster is backing up, being modified or failing over, Set
// changes nothing and fails with an invalid_state error.
//
// Read counts every reader in the cluster (the writer never): those being
// created count in Current, so that a slow creation never causes a second
// one; those being deleted (or that scaled asked to delete, whatever status
// AWS still shows) do not; those that will not serve again (failed,
// incompatible-parameters, ...) do not, so that they are replaced. Ready
// counts those that serve: available, and also backing-up, modifying,
// configuring-* and storage-optimization.
//
// Set re-reads the cluster first. Scale-out creates readers named by the
// name template (the lowest free index, so that a creation is idempotent
// across a restart) with the writer's engine, class, DB parameter group,
// Enhanced Monitoring, Performance Insights and CA unless configured, in the
// cluster's zone with the fewest instances that has room (a zone that
// refuses is skipped for a while; when all refuse, Aurora chooses), tagged
// scaled.dev/owner=<owner>, at the lowest failover priority (tier 15).
// Scale-in deletes only available readers carrying that tag, newest first:
// never the writer, nor an instance that was the writer in this tick, never
// a reader scaled did not create, and never so many that fewer than the
// asked count would serve. Dead readers scaled created are deleted at the
// next change. At most 15 readers (those being deleted count, as Aurora
// counts them) and never fewer than min_readers: a Set held back by a limit
// returns *LimitedError.
type Aurora struct {
	replicaSet
}

// NewAurora returns the target t. It makes no call: the first Read does.
func NewAurora(t AuroraTarget, o AWSOptions) (*Aurora, error) {
	if t.ClusterIdentifier == "" {
		return nil, errors.New("aurora target: no cluster_identifier")
	}
	return &Aurora{newReplicaSet(auroraKind, t.ClusterIdentifier, t.ReplicaOptions, o, func(core rdsInstances) replicaBackend {
		return &auroraBackend{rdsInstances: core}
	})}, nil
}

type auroraBackend struct {
	rdsInstances        // parent: the cluster
	writer       copied // as last listed; engine "" when no writer was
	// readerClass is the class of the cluster's readers when new ones take
	// it rather than the writer's (readersClass).
	readerClass string
	// serverlessRange: the cluster has a Serverless v2 capacity range.
	serverlessRange bool
}

func (b *auroraBackend) list(ctx context.Context) (*replicaState, error) {
	view, err := b.reads.view(ctx, b.parent)
	if err != nil {
		return nil, err
	}
	c, err := view.cluster(ctx, b.parent)
	if err != nil {
		return nil, err
	}
	st := &replicaState{Taken: map[string]bool{}, InZone: map[string]int{}, Zones: b.opt.AvailabilityZones}
	if len(st.Zones) == 0 {
		st.Zones = c.AvailabilityZones
	}
	for _, m := range c.DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			st.Writers = append(st.Writers, aws.ToString(m.DBInstanceIdentifier))
		}
	}
	sort.Strings(st.Writers)
	status := aws.ToString(c.Status)
	if engine := aws.ToString(c.Engine); !strings.HasPrefix(engine, "aurora") {
		// A Multi-AZ DB cluster (engine mysql or postgres) has a writer and two
		// readable standbys, a fixed shape: CreateDBInstance cannot add a
		// reader to it (RDS User Guide, "Multi-AZ DB cluster deployments").
		return nil, &AWSError{Kind: AWSInvalidRequest, Op: "DescribeDBClusters", Err: fmt.Errorf(
			"cluster %s is a Multi-AZ DB cluster (engine %s), not an Aurora cluster: kind aurora cannot add readers to it; to scale read capacity, use kind rds with read replicas of a DB instance, or an Aurora cluster", b.parent, engine)}
	}
	if aws.ToString(c.EngineMode) == "serverless" {
		// "You can't create an Aurora Replica for an Aurora Serverless v1 DB
		// cluster" (Aurora User Guide, "Adding Aurora Replicas to a DB cluster").
		return nil, &AWSError{Kind: AWSInvalidRequest, Op: "DescribeDBClusters", Err: fmt.Errorf(
			"cluster %s is an Aurora Serverless v1 cluster (engine mode serverless): its one instance scales its own capacity and it takes no reader, so kind aurora cannot scale it; to scale reads with readers, move it to Aurora Serverless v2 (db.serverless instances in a provisioned cluster), whose readers kind aurora adds", b.parent)}
	}
	if len(st.Writers) == 0 && aws.ToString(c.GlobalClusterIdentifier) != "" {
		// A secondary cluster of a global database "doesn't have a writer
		// primary DB instance" (Aurora User Guide, "Using Amazon Aurora
		// global databases"): told apart from a primary failing over by the
		// global database's own listing.
		st.Refused = b.globalSecondary(ctx, aws.ToString(c.GlobalClusterIdentifier), aws.ToString(c.DBClusterArn))
	}
	b.serverlessRange = c.ServerlessV2ScalingConfiguration != nil && aws.ToFloat64(c.ServerlessV2ScalingConfiguration.MaxCapacity) > 0
	switch {
	case st.Refused != "":
		st.Uncountable = st.Refused
	case len(st.Writers) == 0:
		st.Uncountable = fmt.Sprintf("cluster %s (%s) has no writer: a failover is in progress, or the cluster is headless or a global secondary; readers are neither counted nor changed until it has one", b.parent, status)
	case len(st.Writers) > 1:
		st.Uncountable = fmt.Sprintf("cluster %s (%s) lists %d writers (%s); readers are neither counted nor changed until it has one", b.parent, status, len(st.Writers), strings.Join(st.Writers, ", "))
	case status != "available":
		st.Hold = fmt.Sprintf("cluster %s is %s: readers are changed only while it is available, as Aurora Auto Scaling does", b.parent, status)
	}
	st.Unsettled = len(st.Writers) != 1 || status == "failing-over"
	if st.Uncountable != "" {
		st.Hold = st.Uncountable
	}
	dbs, err := view.clusterInstances(ctx, b.parent)
	if err != nil {
		return nil, err
	}
	b.writer = copied{}
	for _, db := range dbs {
		id := aws.ToString(db.DBInstanceIdentifier)
		st.Taken[id] = true
		if !goingStatus(aws.ToString(db.DBInstanceStatus)) {
			st.InZone[aws.ToString(db.AvailabilityZone)]++
		}
		if slices.Contains(st.Writers, id) {
			b.writer = copiedFrom(db)
			continue
		}
		st.Readers = append(st.Readers, replicaOf(db, b.opt.Owner))
	}
	b.readerClass = readersClass(st.Readers, b.writer.class)
	if st.Hold == "" && b.writer.engine == "" {
		st.Hold = fmt.Sprintf("the writer %s of cluster %s is not listed by DescribeDBInstances yet", st.Writers[0], b.parent)
	}
	return st, nil
}

// globalSecondary says why kind aurora refuses cluster arn when global
// database global lists it as a secondary (not its writer), or "" when it
// does not, or cannot be read: the cluster then holds as any cluster with
// no writer.
func (b *auroraBackend) globalSecondary(ctx context.Context, global, arn string) string {
	out, err := b.client.DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String(global)})
	if err != nil {
		return ""
	}
	secondary, primary := false, ""
	for _, g := range out.GlobalClusters {
		for _, m := range g.GlobalClusterMembers {
			switch {
			case aws.ToString(m.DBClusterArn) == arn:
				secondary = !aws.ToBool(m.IsWriter)
			case aws.ToBool(m.IsWriter):
				primary = aws.ToString(m.DBClusterArn)
			}
		}
	}
	if !secondary {
		return ""
	}
	if primary == "" {
		primary = "the primary cluster"
	}
	return fmt.Sprintf("cluster %s is a secondary cluster of Aurora global database %s: it has no writer, and kind aurora scales the readers of a cluster with one, "+
		"guarding the writer a failover promotes; point kind aurora at %s, in its own region, and size this secondary's readers yourself; "+
		"once a switchover or failover makes %s the primary, kind aurora scales it, deleting no reader for writer_memory", b.parent, global, primary, b.parent)
}

// readersClass is the class new readers take when the target names none,
// in a cluster that mixes Aurora Serverless v2 (db.serverless) and
// provisioned instances: the readers', when those that serve or come all
// share one class and it is of the other kind than the writer's (a
// provisioned writer with db.serverless readers, or the reverse); otherwise
// "" (the writer's).
func readersClass(readers []replica, writerClass string) string {
	class := ""
	for _, x := range readers {
		switch classOf(x.Status) {
		case readerGoing, readerDead, readerImpaired:
			continue
		}
		if class != "" && x.Class != class {
			return ""
		}
		class = x.Class
	}
	if class == "" || (class == ServerlessClass) == (writerClass == ServerlessClass) {
		return ""
	}
	return class
}

// ServerlessClass is the instance class of Aurora Serverless v2 instances.
const ServerlessClass = "db.serverless"

func (b *auroraBackend) create(ctx context.Context, id, az string, tags map[string]string) error {
	w := b.writer
	class := cmp.Or(b.opt.InstanceClass, cmp.Or(b.readerClass, w.class))
	if class == ServerlessClass && !b.serverlessRange {
		// AWS requires the range first ("Clusters that use Aurora
		// Serverless v2 must have a capacity range specified").
		return &AWSError{Kind: AWSInvalidRequest, Op: "CreateDBInstance", Err: fmt.Errorf(
			"new readers of cluster %s would be %s, but the cluster has no Serverless v2 capacity range (ServerlessV2ScalingConfiguration), which AWS requires before a %s instance is added: set MinCapacity and MaxCapacity on the cluster, or set instance_class to a provisioned class",
			b.parent, ServerlessClass, ServerlessClass)}
	}
	in := &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id),
		DBClusterIdentifier:  aws.String(b.parent),
		Engine:               aws.String(w.engine),
		DBInstanceClass:      aws.String(class),
		PromotionTier:        aws.Int32(15), // the last to be promoted: they may go away
		Tags:                 rdsTags(tags),
		// Left out, a reader is public wherever the cluster's VPC has an
		// internet gateway (RDS API Reference, CreateDBInstance,
		// PubliclyAccessible), whatever the writer is. Always sent: the writer's.
		PubliclyAccessible: aws.Bool(w.public),
	}
	s := w.carried(az)
	in.AvailabilityZone, in.MonitoringInterval, in.MonitoringRoleArn = s.zone, s.monitoringInterval, s.monitoringRole
	in.EnablePerformanceInsights, in.PerformanceInsightsRetentionPeriod, in.CACertificateIdentifier = s.performanceInsights, s.piRetention, s.caCertificate
	if pg := cmp.Or(b.opt.ParameterGroup, w.paramGroup); pg != "" {
		in.DBParameterGroupName = aws.String(pg)
	}
	return b.wrote("CreateDBInstance", func() error {
		_, err := b.client.CreateDBInstance(ctx, in)
		return err
	})
}

// remove deletes an Aurora reader: its data is the cluster's, so there is
// no final snapshot to skip.
func (b *auroraBackend) remove(ctx context.Context, id string) error {
	return b.delete(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)})
}

func (b *auroraBackend) failovers() bool { return true }

// lastFailover reads the cluster's failover events since since, every page:
// Aurora reports the start (RDS-EVENT-0072, -0073) and the end
// (RDS-EVENT-0071) of each failover in the failover category of DB cluster
// events (Aurora User Guide, "Amazon RDS event categories and event
// messages for Aurora").
func (b *auroraBackend) lastFailover(ctx context.Context, since time.Time) (time.Time, error) {
	events, err := allPages(ctx, rds.NewDescribeEventsPaginator(b.client, &rds.DescribeEventsInput{
		SourceType: rdstypes.SourceTypeDbCluster, SourceIdentifier: aws.String(b.parent),
		EventCategories: []string{"failover"}, StartTime: aws.Time(since),
	}), func(page *rds.DescribeEventsOutput) []rdstypes.Event { return page.Events })
	if err != nil {
		return time.Time{}, classifyAWS("DescribeEvents", err)
	}
	var last time.Time
	for _, ev := range events {
		if ev.Date != nil && ev.Date.After(last) {
			last = *ev.Date
		}
	}
	return last, nil
}
