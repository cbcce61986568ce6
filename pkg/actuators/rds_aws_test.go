package actuators

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/scaled-dev/scaled/internal/awsemu"
)

func newRDSEnv(t *testing.T) (*awsEnv, *RDS) {
	t.Helper()
	env := newAWSEnv(t, awsemu.Options{})
	// The subnet group covers the zones of a cluster using it; none here, so the region's a, b, c.
	env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1a",
		SubnetGroup: "orders-subnets", ParameterGroup: "orders-pg"})
	r, err := NewRDS(RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{
		NameTemplate: DefaultRDSName, Owner: "db", Endpoint: env.url}}, env.opts)
	if err != nil {
		t.Fatal(err)
	}
	return env, r
}

func TestRDSReplicas(t *testing.T) {
	env, r := newRDSEnv(t)
	ctx := context.Background()
	env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders-reporting", Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1b", SourceID: "orders"})
	if cur, ready := mustRead(t, r); cur != 1 || ready != 1 {
		t.Fatalf("read %d/%d, want the foreign replica 1/1", cur, ready)
	}
	if err := r.Set(ctx, 3, "up"); err != nil {
		t.Fatal(err)
	}
	type made struct{ ID, Source, Class, AZ, Owner string }
	var got []made
	for _, c := range env.emu.CallsOf("CreateDBInstanceReadReplica") {
		p := c.Params
		got = append(got, made{p["DBInstanceIdentifier"], p["SourceDBInstanceIdentifier"], p["DBInstanceClass"], p["AvailabilityZone"], p["Tags.Tag.2.Value"]})
	}
	// Tags are sorted by key: scaled.dev/managed-by, then scaled.dev/owner.
	want := []made{
		{"orders-scaled-1", "orders", "db.m7g.large", "us-east-1c", "db"},
		{"orders-scaled-2", "orders", "db.m7g.large", "us-east-1a", "db"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("creations (-want +got):\n%s", diff)
	}
	// Slow creations are not doubled.
	if err := r.Set(ctx, 3, "again"); err != nil {
		t.Fatal(err)
	}
	if cur, ready := mustRead(t, r); cur != 3 || ready != 1 || r.Status() != "readers 1 available, 2 creating" {
		t.Errorf("while creating: %d/%d %q", cur, ready, r.Status())
	}
	env.clock.Step(awsemu.DefaultCreateDelay)
	wantLimited(t, r.Set(ctx, 0, "down"), 0, 1)
	var deleted []string
	for _, c := range env.emu.CallsOf("DeleteDBInstance") {
		if c.Params["SkipFinalSnapshot"] != "true" {
			t.Errorf("deleted %s with a final snapshot", c.Params["DBInstanceIdentifier"])
		}
		deleted = append(deleted, c.Params["DBInstanceIdentifier"])
	}
	if diff := cmp.Diff([]string{"orders-scaled-2", "orders-scaled-1"}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	env.clock.Step(awsemu.DefaultDeleteDelay)
	var ids []string
	for _, in := range env.emu.Instances() {
		ids = append(ids, in.ID)
	}
	if diff := cmp.Diff([]string{"orders", "orders-reporting"}, ids); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
}

func TestRDSErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("throttling survived", func(t *testing.T) {
		env, r := newRDSEnv(t)
		env.emu.Throttle("*", 3)
		if err := r.Set(ctx, 1, "up"); err != nil {
			t.Fatal(err)
		}
		if cur, _ := mustRead(t, r); cur != 1 {
			t.Errorf("current %d, want 1", cur)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		env, r := newRDSEnv(t)
		env.emu.Deny("CreateDBInstanceReadReplica")
		wantKind(t, r.Set(ctx, 1, "up"), AWSAccessDenied)
	})
	t.Run("source not available", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1a", Status: "modifying"})
		r, err := NewRDS(RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{Endpoint: env.url}}, env.opts)
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, r.Set(ctx, 1, "up"), AWSInvalidState)
	})
	t.Run("source not found", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		r, _ := NewRDS(RDSTarget{SourceInstance: "nope", ReplicaOptions: ReplicaOptions{Endpoint: env.url}}, env.opts)
		_, err := r.Read(ctx)
		wantKind(t, err, AWSNotFound)
	})
}

func TestRDSParameterGroupByEngine(t *testing.T) {
	for _, tc := range []struct {
		engine string
		sent   string // DBParameterGroupName of the request
		status string
	}{
		{engine: "postgres", sent: "", status: "parameter_group replica-pg is not applied: RDS takes a DB parameter group on a same-Region read replica only for Oracle and Db2; postgres replicas take the source's (orders-pg)"},
		{engine: "mysql", sent: "", status: "parameter_group replica-pg is not applied: RDS takes a DB parameter group on a same-Region read replica only for Oracle and Db2; mysql replicas take the source's (orders-pg)"},
		{engine: "oracle-ee", sent: "replica-pg", status: "readers 1 creating"},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			env := newAWSEnv(t, awsemu.Options{})
			env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: tc.engine, AZ: "us-east-1a",
				SubnetGroup: "orders-subnets", ParameterGroup: "orders-pg"})
			r, err := NewRDS(RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{
				ParameterGroup: "replica-pg", Endpoint: env.url}}, env.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Set(context.Background(), 1, "up"); err != nil {
				t.Fatalf("Set: %v", err)
			}
			calls := env.emu.CallsOf("CreateDBInstanceReadReplica")
			if got := calls[0].Params["DBParameterGroupName"]; got != tc.sent {
				t.Errorf("DBParameterGroupName %q, want %q", got, tc.sent)
			}
			mustRead(t, r)
			if !strings.Contains(r.Status(), tc.status) {
				t.Errorf("status %q, want it to contain %q", r.Status(), tc.status)
			}
		})
	}
}

func TestRDSReadsReplicasInOneCall(t *testing.T) {
	env, r := newRDSEnv(t)
	if err := r.Set(context.Background(), 3, "up"); err != nil {
		t.Fatal(err)
	}
	before := len(env.emu.CallsOf("DescribeDBInstances"))
	if cur, _ := mustRead(t, r); cur != 3 {
		t.Fatalf("current %d", cur)
	}
	if n := len(env.emu.CallsOf("DescribeDBInstances")) - before; n != 2 {
		t.Errorf("a Read made %d DescribeDBInstances calls, want 2 (the source, then its replicas filtered)", n)
	}
}

func TestRDSCopiesTheSourcesMonitoring(t *testing.T) {
	env := newAWSEnv(t, awsemu.Options{})
	s := awsemu.Settings{MonitoringInterval: 15, MonitoringRoleARN: "arn:aws:iam::123456789012:role/rds-monitoring-role",
		PerformanceInsights: true, PIRetentionDays: 7, CACertificate: "rds-ca-ecc384-g1"}
	env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: "mysql", AZ: "us-east-1a", Settings: s})
	in := newReplica(t, env, RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{Endpoint: env.url}})
	if diff := cmp.Diff(s, in.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}

// TestRDSEngineCeilings: an Oracle or SQL Server source has at most 5 read
// replicas, a Db2 one 3; scaled stops there and says why, rather than
// fail every tick on AWS's refusal.
func TestRDSEngineCeilings(t *testing.T) {
	for _, tc := range []struct {
		engine string
		max    int32
	}{{"oracle-ee", 5}, {"sqlserver-ee", 5}, {"db2-se", 3}, {"mysql", 15}} {
		t.Run(tc.engine, func(t *testing.T) {
			env := newAWSEnv(t, awsemu.Options{})
			env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: tc.engine, AZ: "us-east-1a", SubnetGroup: "orders-subnets"})
			r, err := NewRDS(RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: env.url}}, env.opts)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Set(context.Background(), 15, "up")
			if tc.max == 15 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			lim := wantLimited(t, err, 15, tc.max)
			if !strings.Contains(lim.Reason, "at most") {
				t.Errorf("reason %q", lim.Reason)
			}
			for _, c := range env.emu.CallsOf("CreateDBInstanceReadReplica") {
				if c.Code != "" {
					t.Errorf("AWS refused a creation: %s", c.Code)
				}
			}
		})
	}
}

// TestRDSReplicasTakeTheSourcesNetwork: a replica gets the source's
// security groups, accessibility, storage type and storage autoscaling,
// not the VPC's default security group and a default VPC's public address.
func TestRDSReplicasTakeTheSourcesNetwork(t *testing.T) {
	env := newAWSEnv(t, awsemu.Options{PublicByDefault: true})
	want := awsemu.Network{SecurityGroups: []string{"sg-app", "sg-ops"}, Public: false, StorageType: "gp3", MaxAllocated: 1000}
	env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1a",
		SubnetGroup: "orders-subnets", Network: want})
	in := newReplica(t, env, RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: env.url}})
	if diff := cmp.Diff(want, in.Network); diff != "" {
		t.Errorf("replica %s (-source +replica):\n%s", in.ID, diff)
	}
}

// newReplica has target's RDS create one read replica of its source and
// returns it as the emulator holds it.
func newReplica(t *testing.T, env *awsEnv, target RDSTarget) awsemu.InstanceState {
	t.Helper()
	r, err := NewRDS(target, env.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Set(context.Background(), 1, "up"); err != nil {
		t.Fatal(err)
	}
	for _, in := range env.emu.Instances() {
		if in.SourceID == target.SourceInstance {
			return in
		}
	}
	t.Fatalf("no read replica of %s was created", target.SourceInstance)
	return awsemu.InstanceState{}
}

// TestRDSReplicasTakeTheStatedNetwork: security groups and accessibility
// the target states win over the source's; what it leaves out is copied.
func TestRDSReplicasTakeTheStatedNetwork(t *testing.T) {
	src := awsemu.Network{SecurityGroups: []string{"sg-0a1b2c3d"}, Public: true, StorageType: "gp3", MaxAllocated: 1000}
	for _, tc := range []struct {
		name   string
		sgs    []string
		public *bool
		want   awsemu.Network
	}{
		{"both stated", []string{"sg-0123456789abcdef0", "sg-11112222"}, ptr.To(false),
			awsemu.Network{SecurityGroups: []string{"sg-0123456789abcdef0", "sg-11112222"}, Public: false, StorageType: "gp3", MaxAllocated: 1000}},
		{"accessibility stated", nil, ptr.To(false),
			awsemu.Network{SecurityGroups: []string{"sg-0a1b2c3d"}, Public: false, StorageType: "gp3", MaxAllocated: 1000}},
		{"nothing stated", nil, nil, src},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newAWSEnv(t, awsemu.Options{PublicByDefault: true})
			env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1a",
				SubnetGroup: "orders-subnets", Network: src})
			in := newReplica(t, env, RDSTarget{SourceInstance: "orders", VpcSecurityGroupIDs: tc.sgs, PubliclyAccessible: tc.public,
				ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: env.url}})
			if diff := cmp.Diff(tc.want, in.Network); diff != "" {
				t.Errorf("replica %s (-want +got):\n%s", in.ID, diff)
			}
		})
	}
}

// TestRDSValidatesTheStatedNetwork: each bad security group is a field
// error naming its index and value.
func TestRDSValidatesTheStatedNetwork(t *testing.T) {
	tgt := RDSTarget{SourceInstance: "orders", VpcSecurityGroupIDs: []string{"sg-0123456789abcdef0", "default", "sg-0123456789abcdef0", "sg-12"}}
	tgt.Default("s")
	var got []string
	for _, e := range tgt.Validate("s", field.NewPath("target", "rds")) {
		got = append(got, e.Field+" "+string(e.Type))
	}
	want := []string{"target.rds.vpc_security_group_ids[1] FieldValueInvalid", "target.rds.vpc_security_group_ids[2] FieldValueDuplicate",
		"target.rds.vpc_security_group_ids[3] FieldValueInvalid"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	empty := RDSTarget{SourceInstance: "orders", VpcSecurityGroupIDs: []string{}}
	empty.Default("s")
	if errs := empty.Validate("s", field.NewPath("rds")); len(errs) != 1 || errs[0].Field != "rds.vpc_security_group_ids" {
		t.Errorf("an empty list: %v, want one error on rds.vpc_security_group_ids", errs)
	}
	ok := RDSTarget{SourceInstance: "orders", VpcSecurityGroupIDs: []string{"sg-0a1b2c3d"}, PubliclyAccessible: ptr.To(false)}
	ok.Default("s")
	if errs := ok.Validate("s", field.NewPath("rds")); len(errs) != 0 {
		t.Errorf("valid settings refused: %v", errs)
	}
}
