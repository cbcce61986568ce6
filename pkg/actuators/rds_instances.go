package actuators

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// rdsInstances is the part of a replica backend that both kinds share: the
// RDS calls on single DB instances, which are the same for an Aurora
// reader and an RDS read replica. Each change marks parent (the cluster or
// source instance) written in the region's listing, so that the next read
// sees it.
type rdsInstances struct {
	client *rds.Client
	reads  *rdsListing // the region's shared listing (rds_listing.go)
	parent string
	opt    ReplicaOptions
}

// wrote makes the change call, marks the parent written whatever its
// outcome (a call AWS carried out may still fail on the way back), and
// classifies its error as op's.
func (r *rdsInstances) wrote(op string, call func() error) error {
	defer r.reads.wrote(r.parent)
	return classifyAWS(op, call())
}

// delete deletes a DB instance with DeleteDBInstance.
func (r *rdsInstances) delete(ctx context.Context, in *rds.DeleteDBInstanceInput) error {
	return r.wrote("DeleteDBInstance", func() error {
		_, err := r.client.DeleteDBInstance(ctx, in)
		return err
	})
}

// mark tags an instance with AddTagsToResource; the owner tag is sent again
// so that the IAM statement that lets scaled tag only with its own owner tag
// allows it.
func (r *rdsInstances) mark(ctx context.Context, arn string, tags map[string]string) error {
	return r.wrote("AddTagsToResource", func() error {
		_, err := r.client.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(arn), Tags: rdsTags(tags)})
		return err
	})
}

// owned reports whether instance id carries the owner tag.
func (r *rdsInstances) owned(ctx context.Context, id string) (bool, error) {
	out, err := r.client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return false, classifyAWS("DescribeDBInstances", err)
	}
	for _, db := range out.DBInstances {
		if replicaOf(db, r.opt.Owner).Owned {
			return true, nil
		}
	}
	return false, nil
}

// copied is what a new reader takes from the writer (Aurora) or the source
// (RDS) when the target does not say otherwise.
type copied struct {
	engine, class, paramGroup string
	monitoringInterval        int32
	monitoringRole            string
	performanceInsights       bool
	piRetention               int32
	caCertificate             string
	public                    bool // PubliclyAccessible
	// RDS read replicas only (an Aurora reader takes the cluster's):
	securityGroups []string
	storageType    string
	maxAllocated   int32
}

func copiedFrom(db rdstypes.DBInstance) copied {
	c := copied{engine: aws.ToString(db.Engine), class: aws.ToString(db.DBInstanceClass),
		monitoringInterval: aws.ToInt32(db.MonitoringInterval), monitoringRole: aws.ToString(db.MonitoringRoleArn),
		performanceInsights: aws.ToBool(db.PerformanceInsightsEnabled), piRetention: aws.ToInt32(db.PerformanceInsightsRetentionPeriod),
		caCertificate: aws.ToString(db.CACertificateIdentifier)}
	for _, sg := range db.VpcSecurityGroups {
		if id := aws.ToString(sg.VpcSecurityGroupId); id != "" {
			c.securityGroups = append(c.securityGroups, id)
		}
	}
	c.public, c.storageType, c.maxAllocated = aws.ToBool(db.PubliclyAccessible), aws.ToString(db.StorageType), aws.ToInt32(db.MaxAllocatedStorage)
	if len(db.DBParameterGroups) > 0 {
		c.paramGroup = aws.ToString(db.DBParameterGroups[0].DBParameterGroupName)
	}
	return c
}

// carriedSettings are the settings a new reader's create request takes
// from copied, whichever the call (CreateDBInstance for an Aurora reader,
// CreateDBInstanceReadReplica for an RDS replica); nil leaves one out.
type carriedSettings struct {
	zone, monitoringRole, caCertificate *string
	monitoringInterval, piRetention     *int32
	performanceInsights                 *bool
}

// carried is what a new reader in az ("" lets AWS choose) takes from c:
// Enhanced Monitoring, Performance Insights and the CA, as far as c has them.
func (c copied) carried(az string) carriedSettings {
	var s carriedSettings
	if az != "" {
		s.zone = aws.String(az)
	}
	if c.monitoringInterval > 0 {
		s.monitoringInterval, s.monitoringRole = aws.Int32(c.monitoringInterval), aws.String(c.monitoringRole)
	}
	if c.performanceInsights {
		s.performanceInsights = aws.Bool(true)
		if c.piRetention > 0 {
			s.piRetention = aws.Int32(c.piRetention)
		}
	}
	if c.caCertificate != "" {
		s.caCertificate = aws.String(c.caCertificate)
	}
	return s
}

func replicaOf(db rdstypes.DBInstance, owner string) replica {
	x := replica{ID: aws.ToString(db.DBInstanceIdentifier), ARN: aws.ToString(db.DBInstanceArn), Status: aws.ToString(db.DBInstanceStatus), AZ: aws.ToString(db.AvailabilityZone),
		Tier: aws.ToInt32(db.PromotionTier), Class: aws.ToString(db.DBInstanceClass)}
	if db.InstanceCreateTime != nil {
		x.Created = *db.InstanceCreateTime
	}
	for _, t := range db.TagList {
		x.Owned = x.Owned || ownedBy(owner, t.Key, t.Value)
		if aws.ToString(t.Key) == TagDeleting {
			x.Marked, _ = time.Parse(time.RFC3339, aws.ToString(t.Value))
		}
	}
	return x
}

func rdsTags(tags map[string]string) []rdstypes.Tag {
	var out []rdstypes.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, rdstypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
