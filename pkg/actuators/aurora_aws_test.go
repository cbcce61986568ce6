package actuators

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/internal/awsemu"
)

func newAuroraEnv(t *testing.T, o awsemu.Options, min int32) (*awsEnv, *Aurora) {
	t.Helper()
	env := newAWSEnv(t, o)
	env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "aurora-postgresql", EngineVersion: "16.4",
		WriterID: "prod-writer", WriterClass: "db.r7g.large", ParameterGroup: "prod-pg", SubnetGroup: "prod-subnets",
		AZs: []string{"us-east-1a", "us-east-1b", "us-east-1c"}})
	a := env.aurora(t, min)
	return env, a
}

func (e *awsEnv) aurora(t *testing.T, min int32) *Aurora {
	t.Helper()
	a, err := NewAurora(AuroraTarget{ClusterIdentifier: "prod", ReplicaOptions: ReplicaOptions{
		NameTemplate: DefaultAuroraName, Owner: "db", MinReaders: min, Endpoint: e.url,
		Tags: map[string]string{"team": "data"}}}, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuroraScalesOutAndIn(t *testing.T) {
	env, a := newAuroraEnv(t, awsemu.Options{}, 0)
	ctx := context.Background()
	if cur, ready := mustRead(t, a); cur != 0 || ready != 0 {
		t.Fatalf("empty cluster reads %d/%d, want 0/0", cur, ready)
	}
	if err := a.Set(ctx, 2, "test"); err != nil {
		t.Fatal(err)
	}
	type made struct{ ID, AZ, Class, Engine, PG, Status, Owner, Team, Tier string }
	var got []made
	for _, c := range env.emu.CallsOf("CreateDBInstance") {
		p := c.Params
		got = append(got, made{p["DBInstanceIdentifier"], p["AvailabilityZone"], p["DBInstanceClass"], p["Engine"], p["DBParameterGroupName"], c.Code, "", "", p["PromotionTier"]})
	}
	for i, in := range env.emu.Instances() {
		_ = i
		for j := range got {
			if got[j].ID == in.ID {
				got[j].Owner, got[j].Team = in.Tags[TagOwner], in.Tags["team"]
			}
		}
	}
	// The writer is in 1a: the readers go to the emptiest zones, with the writer's engine, class and parameter group.
	want := []made{
		{"prod-scaled-1", "us-east-1b", "db.r7g.large", "aurora-postgresql", "prod-pg", "", "db", "data", "15"},
		{"prod-scaled-2", "us-east-1c", "db.r7g.large", "aurora-postgresql", "prod-pg", "", "db", "data", "15"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("creations (-want +got):\n%s", diff)
	}
	if cur, ready := mustRead(t, a); cur != 2 || ready != 0 {
		t.Errorf("while creating: %d/%d, want 2/0", cur, ready)
	}
	if s := a.Status(); s != "readers 2 creating" {
		t.Errorf("status %q", s)
	}

	// A slow creation is never doubled: asking again for 2, or for 3, creates only what is missing.
	env.clock.Step(5 * time.Minute)
	if err := a.Set(ctx, 2, "again"); err != nil {
		t.Fatal(err)
	}
	if err := a.Set(ctx, 3, "more"); err != nil {
		t.Fatal(err)
	}
	if n := len(env.emu.CallsOf("CreateDBInstance")); n != 3 {
		t.Fatalf("%d creations, want 3", n)
	}
	env.clock.Step(5 * time.Minute) // the first two are available
	if cur, ready := mustRead(t, a); cur != 3 || ready != 2 {
		t.Errorf("after 10 min: %d/%d, want 3/2", cur, ready)
	}
	env.clock.Step(5 * time.Minute)
	if cur, ready := mustRead(t, a); cur != 3 || ready != 3 || a.Status() != "" {
		t.Errorf("all up: %d/%d status %q, want 3/3 and no status", cur, ready, a.Status())
	}

	// Scale in: newest first.
	if err := a.Set(ctx, 1, "less"); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, c := range env.emu.CallsOf("DeleteDBInstance") {
		deleted = append(deleted, c.Params["DBInstanceIdentifier"])
	}
	if diff := cmp.Diff([]string{"prod-scaled-3", "prod-scaled-2"}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if cur, ready := mustRead(t, a); cur != 1 || ready != 1 {
		t.Errorf("while deleting: %d/%d, want 1/1 (deleting readers are gone)", cur, ready)
	}
	if s := a.Status(); s != "readers 1 available, 2 deleting" {
		t.Errorf("status %q", s)
	}
	env.clock.Step(awsemu.DefaultDeleteDelay)
	if err := a.Set(ctx, 1, "steady"); err != nil {
		t.Fatal(err)
	}
	if n := len(env.emu.CallsOf("DeleteDBInstance")); n != 2 {
		t.Errorf("%d deletions, want 2", n)
	}
	// A restarted daemon sees the same cluster and does nothing more.
	if err := env.aurora(t, 0).Set(ctx, 1, "restart"); err != nil {
		t.Fatal(err)
	}
	if n := len(env.emu.CallsOf("CreateDBInstance")) + len(env.emu.CallsOf("DeleteDBInstance")); n != 5 {
		t.Errorf("a restart wrote again: %d writes, want 5", n)
	}
}

func TestAuroraNeverDeletesTheWriterOrForeignReaders(t *testing.T) {
	env, a := newAuroraEnv(t, awsemu.Options{}, 0)
	ctx := context.Background()
	env.emu.AddInstance(awsemu.InstanceSpec{ID: "manual-reader", Class: "db.r7g.large", Engine: "aurora-postgresql", AZ: "us-east-1b", ClusterID: "prod"})
	env.emu.AddInstance(awsemu.InstanceSpec{ID: "other-team", Class: "db.r7g.large", Engine: "aurora-postgresql", AZ: "us-east-1c", ClusterID: "prod",
		Tags: []awsemu.Tag{{Key: TagOwner, Value: "someone-else"}}})
	if cur, _ := mustRead(t, a); cur != 2 {
		t.Fatalf("current %d, want the 2 foreign readers", cur)
	}
	if err := a.Set(ctx, 4, "up"); err != nil {
		t.Fatal(err)
	}
	env.clock.Step(awsemu.DefaultCreateDelay)
	// Asked for 0 readers: only the two scaled created go.
	lim := wantLimited(t, a.Set(ctx, 0, "down"), 0, 2)
	if !strings.Contains(lim.Reason, "2 readers scaled did not create are never deleted") {
		t.Errorf("reason %q", lim.Reason)
	}
	var deleted []string
	for _, c := range env.emu.CallsOf("DeleteDBInstance") {
		deleted = append(deleted, c.Params["DBInstanceIdentifier"])
	}
	if diff := cmp.Diff([]string{"prod-scaled-2", "prod-scaled-1"}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	env.clock.Step(awsemu.DefaultDeleteDelay)
	wantLimited(t, a.Set(ctx, 0, "down again"), 0, 2)
	var ids []string
	for _, in := range env.emu.Instances() {
		ids = append(ids, in.ID)
	}
	if diff := cmp.Diff([]string{"manual-reader", "other-team", "prod-writer"}, ids); diff != "" {
		t.Errorf("instances left (-want +got):\n%s", diff)
	}
}

func TestAuroraLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("15 readers at most", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		wantLimited(t, a.Set(ctx, 20, "up"), 20, 15)
		if n := len(env.emu.CallsOf("CreateDBInstance")); n != 15 {
			t.Errorf("%d creations, want 15", n)
		}
	})
	t.Run("min_readers holds", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 1)
		if err := a.Set(ctx, 2, "up"); err != nil {
			t.Fatal(err)
		}
		env.clock.Step(awsemu.DefaultCreateDelay)
		lim := wantLimited(t, a.Set(ctx, 0, "down"), 0, 1)
		if lim.Reason != "min_readers is 1" {
			t.Errorf("reason %q", lim.Reason)
		}
	})
	t.Run("readers being created cannot be deleted yet", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		if err := a.Set(ctx, 2, "up"); err != nil {
			t.Fatal(err)
		}
		lim := wantLimited(t, a.Set(ctx, 0, "down"), 0, 2)
		if !strings.Contains(lim.Reason, "2 readers scaled created are not available yet") {
			t.Errorf("reason %q", lim.Reason)
		}
		if n := len(env.emu.CallsOf("DeleteDBInstance")); n != 0 {
			t.Errorf("%d deletions of creating readers", n)
		}
	})
}

func TestAuroraErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("throttling is retried and survived", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.emu.Throttle("DescribeDBClusters", 2)
		env.emu.Throttle("CreateDBInstance", 3)
		if err := a.Set(ctx, 1, "up"); err != nil {
			t.Fatalf("Set under throttling: %v", err)
		}
		if diff := cmp.Diff([]string{"Throttling", "Throttling", "Throttling", ""}, env.codes("CreateDBInstance")); diff != "" {
			t.Errorf("CreateDBInstance answers (-want +got):\n%s", diff)
		}
		if cur, _ := mustRead(t, a); cur != 1 {
			t.Errorf("current %d, want 1: one reader despite the retries", cur)
		}
	})
	t.Run("throttling without end is a bounded, named error", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.emu.Throttle("DescribeDBClusters", 100)
		_, err := a.Read(ctx)
		wantKind(t, err, AWSThrottled)
		if n := len(env.emu.CallsOf("DescribeDBClusters")); n != DefaultAWSMaxAttempts {
			t.Errorf("%d attempts, want %d", n, DefaultAWSMaxAttempts)
		}
	})
	t.Run("access denied is named and changes nothing", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.emu.Deny("CreateDBInstance")
		err := a.Set(ctx, 2, "up")
		wantKind(t, err, AWSAccessDenied, "CreateDBInstance: access_denied (AccessDenied): User: ")
		if n := len(env.emu.CallsOf("CreateDBInstance")); n != 1 {
			t.Errorf("%d attempts, want 1: access denied is not retried", n)
		}
		if cur, _ := mustRead(t, a); cur != 0 {
			t.Errorf("current %d after a denied creation", cur)
		}
		env.emu.Allow("CreateDBInstance")
		if err := a.Set(ctx, 2, "up"); err != nil {
			t.Errorf("after the policy is fixed: %v", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		_, err := env.aurora(t, 0).Read(ctx)
		wantKind(t, err, AWSNotFound)
	})
	t.Run("quota exceeded stops part way", func(t *testing.T) {
		_, a := newAuroraEnv(t, awsemu.Options{InstanceQuota: 2}, 0) // the writer and one reader
		wantKind(t, a.Set(ctx, 3, "up"), AWSQuotaExceeded)
		if cur, _ := mustRead(t, a); cur != 1 {
			t.Errorf("current %d, want 1", cur)
		}
	})
	t.Run("invalid cluster state", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.emu.SetClusterStatus("prod", "modifying")
		wantKind(t, a.Set(ctx, 1, "up"), AWSInvalidState)
	})
	t.Run("a name taken by a stranger is refused, not adopted", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.emu.AddInstance(awsemu.InstanceSpec{ID: "prod-scaled-1", Class: "db.t4g.micro", Engine: "postgres"})
		err := a.Set(ctx, 1, "up")
		if err == nil || !strings.Contains(err.Error(), `reader name "prod-scaled-1" is taken`) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("a lost answer is adopted on retry", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		// The instance scaled created exists (its answer was lost) but is
		// not yet a member of the cluster in the listing.
		env.emu.AddInstance(awsemu.InstanceSpec{ID: "prod-scaled-1", Class: "db.r7g.large", Engine: "aurora-postgresql",
			Tags: []awsemu.Tag{{Key: TagOwner, Value: "db"}}})
		if err := a.Set(ctx, 1, "up"); err != nil {
			t.Errorf("Set: %v", err)
		}
		if diff := cmp.Diff([]string{"DBInstanceAlreadyExists"}, env.codes("CreateDBInstance")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// withReaders asks a for n readers and lets them become available.
func (e *awsEnv) withReaders(t *testing.T, a Actuator, n int32) {
	t.Helper()
	if err := a.Set(context.Background(), n, "setup"); err != nil {
		t.Fatal(err)
	}
	e.clock.Step(awsemu.DefaultCreateDelay)
}

// deleted lists the instances DeleteDBInstance accepted, in order.
func (e *awsEnv) deleted() []string {
	var out []string
	for _, c := range e.emu.CallsOf("DeleteDBInstance") {
		if c.Code == "" {
			out = append(out, c.Params["DBInstanceIdentifier"])
		}
	}
	return out
}

// creations lists the zones CreateDBInstance was asked for ("" for none)
// with the code AWS answered.
func (e *awsEnv) creations(op string) []string {
	var out []string
	for _, c := range e.emu.CallsOf(op) {
		out = append(out, c.Params["AvailabilityZone"]+" "+c.Code)
	}
	return out
}

func TestAuroraActsOnlyOnAnAvailableClusterWithOneWriter(t *testing.T) {
	ctx := context.Background()
	t.Run("a cluster backing up: no reader created or deleted", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.withReaders(t, a, 3)
		env.emu.SetClusterStatus("prod", "backing-up")
		if cur, ready := mustRead(t, a); cur != 3 || ready != 3 {
			t.Errorf("read %d/%d, want 3/3: the writer is known, the readers count", cur, ready)
		}
		wantKind(t, a.Set(ctx, 1, "down"), AWSInvalidState)
		wantKind(t, a.Set(ctx, 5, "up"), AWSInvalidState)
		if n := len(env.deleted()); n != 0 {
			t.Errorf("%d readers deleted while the cluster backs up", n)
		}
		if n := len(env.emu.CallsOf("CreateDBInstance")); n != 3 {
			t.Errorf("%d creations, want the 3 of the setup", n)
		}
		if s := a.Status(); !strings.Contains(s, "cluster prod is backing-up: readers are changed only while it is available") {
			t.Errorf("status %q", s)
		}
		env.emu.SetClusterStatus("prod", "available")
		if err := a.Set(ctx, 1, "down"); err != nil {
			t.Errorf("once available: %v", err)
		}
	})
	t.Run("a failover in progress: no writer, nothing counted or changed", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.withReaders(t, a, 3)
		env.emu.Failover("prod", "", false)
		_, err := a.Read(ctx)
		wantKind(t, err, AWSInvalidState, "cluster prod (failing-over) has no writer")
		wantKind(t, a.Set(ctx, 1, "down"), AWSInvalidState)
		if n := len(env.deleted()); n != 0 {
			t.Errorf("%d readers deleted during a failover", n)
		}
		env.clock.Step(awsemu.DefaultFailoverDelay)
		// Aurora promoted one of scaled's readers (the only ones to promote):
		// the old writer is a reader scaled did not create.
		w := env.emu.Cluster("prod").Writer
		if w != "prod-scaled-1" {
			t.Fatalf("writer %s, want prod-scaled-1: same tier, same class, then the first", w)
		}
		if cur, ready := mustRead(t, a); cur != 3 || ready != 3 {
			t.Errorf("after the failover: %d/%d, want 3/3", cur, ready)
		}
		// Nothing is deleted for writer_memory after the failover.
		wantLimited(t, a.Set(ctx, 0, "down"), 0, 3)
		if n := len(env.deleted()); n != 0 {
			t.Errorf("%d readers deleted right after a failover", n)
		}
		env.clock.Step(DefaultWriterMemory)
		lim := wantLimited(t, a.Set(ctx, 0, "down"), 0, 1)
		if diff := cmp.Diff([]string{"prod-scaled-3", "prod-scaled-2"}, env.deleted()); diff != "" {
			t.Errorf("deleted (-want +got):\n%s", diff)
		}
		if !strings.Contains(lim.Reason, "1 readers scaled did not create are never deleted") {
			t.Errorf("reason %q", lim.Reason)
		}
	})
}

func TestAuroraNeverDeletesAWriter(t *testing.T) {
	ctx := context.Background()
	// prod-scaled-3 is promoted, so that the writer is scaled's own, newest reader.
	promoted := func(t *testing.T, o awsemu.Options) (*awsEnv, *Aurora) {
		env, a := newAuroraEnv(t, o, 0)
		env.withReaders(t, a, 3)
		env.emu.Failover("prod", "prod-scaled-3", false)
		env.clock.Step(env.failoverDelay(o))
		if w := env.emu.Cluster("prod").Writer; w != "prod-scaled-3" {
			t.Fatalf("writer %s, want prod-scaled-3", w)
		}
		return env, a
	}
	t.Run("a failover starting between Read and Set", func(t *testing.T) {
		env, a := promoted(t, awsemu.Options{})
		if cur, _ := mustRead(t, a); cur != 3 {
			t.Fatalf("current %d, want 3 (prod-writer is a reader now)", cur)
		}
		env.emu.Failover("prod", "prod-writer", false)
		wantKind(t, a.Set(ctx, 1, "down"), AWSInvalidState)
		if d := env.deleted(); len(d) != 0 {
			t.Errorf("deleted %v during the failover", d)
		}
	})
	t.Run("the writer changing between Read and Set", func(t *testing.T) {
		o := awsemu.Options{FailoverDelay: time.Second}
		env, a := promoted(t, o)
		mustRead(t, a) // prod-scaled-3 is the writer
		env.emu.Failover("prod", "prod-writer", false)
		env.clock.Step(time.Second) // done: prod-scaled-3 is an available reader again, and the newest
		// The writer changed: no deletion for writer_memory.
		lim := wantLimited(t, a.Set(ctx, 0, "down"), 0, 3)
		if d := env.deleted(); len(d) != 0 {
			t.Errorf("deleted %v right after a failover", d)
		}
		if !strings.Contains(lim.Reason, "no reader is deleted before") {
			t.Errorf("reason %q", lim.Reason)
		}
		// Once writer_memory has passed since the failover, every reader may go.
		env.clock.Step(DefaultWriterMemory)
		mustRead(t, a)
		if err := a.Set(ctx, 0, "down"); err != nil {
			t.Errorf("after writer_memory: %v", err)
		}
		if diff := cmp.Diff([]string{"prod-scaled-3", "prod-scaled-2", "prod-scaled-1"}, env.deleted()); diff != "" {
			t.Errorf("deleted (-want +got):\n%s", diff)
		}
	})
}

// TestAuroraStaleTopology: DescribeDBClusters still names the old writer
// three minutes after a 30-second failover that promoted scaled's newest
// reader. Scaled must not delete that reader, whether it can read the
// cluster's failover events or not.
func TestAuroraStaleTopology(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		denyEvents bool
	}{{name: "failover events read"}, {name: "failover events denied", denyEvents: true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := awsemu.Options{FailoverDelay: 30 * time.Second, ClusterLag: 3 * time.Minute}
			env, a := newAuroraEnv(t, o, 0)
			env.withReaders(t, a, 3)
			env.clock.Step(o.ClusterLag) // the listing shows the three readers
			if cur, ready := mustRead(t, a); cur != 3 || ready != 3 {
				t.Fatalf("read %d/%d, want 3/3", cur, ready)
			}
			if tc.denyEvents {
				env.emu.Deny("DescribeEvents")
			}
			env.emu.Failover("prod", "prod-scaled-3", false)
			env.clock.Step(time.Minute)
			if w := env.emu.Cluster("prod").Writer; w != "prod-scaled-3" {
				t.Fatalf("writer %s, want prod-scaled-3", w)
			}
			// The listing still shows prod-writer as the writer, available.
			if cur, _ := mustRead(t, a); cur != 3 {
				t.Fatalf("current %d, want 3 (the stale listing)", cur)
			}
			err := a.Set(ctx, 0, "down")
			for _, id := range env.deleted() {
				if id == "prod-scaled-3" {
					t.Fatalf("deleted %s, the writer (Set: %v)", id, err)
				}
			}
			if tc.denyEvents {
				return // the readers Aurora would promote first are kept: all three are alike
			}
			if d := env.deleted(); len(d) != 0 {
				t.Errorf("deleted %v within writer_memory of a failover event", d)
			}
			if lim := wantLimited(t, err, 0, 3); !strings.Contains(lim.Reason, "reported a failover") {
				t.Errorf("reason %q", lim.Reason)
			}
		})
	}
}

func (e *awsEnv) failoverDelay(o awsemu.Options) time.Duration {
	if o.FailoverDelay != 0 {
		return o.FailoverDelay
	}
	return awsemu.DefaultFailoverDelay
}

func TestAuroraRemembersWhatItDeletes(t *testing.T) {
	ctx := context.Background()
	// terraform-provider-aws's waitDBClusterInstanceDeleted: after
	// DeleteDBInstance an instance may still show these before it is gone.
	for _, phase := range []awsemu.Phase{
		{Status: "", For: 2 * time.Minute}, // still available
		{Status: "delete-precheck", For: 2 * time.Minute},
		{Status: "modifying", For: 2 * time.Minute},
		{Status: "configuring-log-exports", For: 2 * time.Minute},
	} {
		name := phase.Status
		if name == "" {
			name = "still available"
		}
		t.Run(name, func(t *testing.T) {
			env, a := newAuroraEnv(t, awsemu.Options{DeletePhases: []awsemu.Phase{phase}}, 0)
			env.withReaders(t, a, 3)
			if err := a.Set(ctx, 2, "down"); err != nil {
				t.Fatal(err)
			}
			if cur, _ := mustRead(t, a); cur != 2 {
				t.Errorf("current %d after one deletion, want 2", cur)
			}
			// The next tick asks for 2 again: nothing more goes.
			if err := a.Set(ctx, 2, "steady"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"prod-scaled-3"}, env.deleted()); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			env.clock.Step(phase.For + awsemu.DefaultDeleteDelay)
			if cur, ready := mustRead(t, a); cur != 2 || ready != 2 || len(a.deletes) != 0 {
				t.Errorf("once gone: %d/%d, %d remembered", cur, ready, len(a.deletes))
			}
		})
	}
	t.Run("a listing that lags the deletion", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.withReaders(t, a, 3)
		env.emu.SetLag(0, time.Minute)
		if err := a.Set(ctx, 2, "down"); err != nil {
			t.Fatal(err)
		}
		if cur, _ := mustRead(t, a); cur != 2 {
			t.Errorf("current %d while DescribeDBInstances still shows it available, want 2", cur)
		}
		if s := a.Status(); s != "readers 2 available, 1 available (deletion asked)" {
			t.Errorf("status %q", s)
		}
	})
}

// TestAuroraFallsBackToAnotherZone: a zone without capacity, or whose
// subnet has no free address, is skipped until its cooldown has passed.
func TestAuroraFallsBackToAnotherZone(t *testing.T) {
	ctx := context.Background()
	for _, zone := range []struct {
		name, code string
		set        func(e *awsemu.Emulator, az string, ok bool)
	}{
		{"a zone without capacity is skipped", "InsufficientDBInstanceCapacity", (*awsemu.Emulator).SetZoneCapacity},
		{"a zone whose subnet has no free address is skipped", "InsufficientAvailableIPsInSubnetFault", (*awsemu.Emulator).SetZoneIPs},
	} {
		t.Run(zone.name, func(t *testing.T) {
			env, a := newAuroraEnv(t, awsemu.Options{}, 0)
			zone.set(env.emu, "us-east-1b", false)
			if err := a.Set(ctx, 1, "up"); err != nil {
				t.Fatal(err)
			}
			if err := a.Set(ctx, 2, "up"); err != nil {
				t.Fatal(err)
			}
			// The writer is in 1a: 1b is emptiest but refuses, 1c takes the first;
			// the second goes to 1a without asking 1b again.
			want := []string{"us-east-1b " + zone.code, "us-east-1c ", "us-east-1a "}
			if diff := cmp.Diff(want, env.creations("CreateDBInstance")); diff != "" {
				t.Errorf("creations (-want +got):\n%s", diff)
			}
			// The zone is tried again once its cooldown has passed.
			zone.set(env.emu, "us-east-1b", true)
			env.clock.Step(zoneCooldown)
			if err := a.Set(ctx, 3, "up"); err != nil {
				t.Fatal(err)
			}
			if got := env.creations("CreateDBInstance")[3]; got != "us-east-1b " {
				t.Errorf("after the cooldown: %q", got)
			}
		})
	}
	t.Run("a class not offered in a zone: Aurora chooses", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.emu.Unoffer("us-east-1b", "db.r7g.large")
		if err := a.Set(ctx, 2, "up"); err != nil {
			t.Fatal(err)
		}
		// Where Aurora put the first is known at the next listing only: 1c looks emptiest.
		want := []string{"us-east-1b InvalidParameterCombination", " ", "us-east-1c "}
		if diff := cmp.Diff(want, env.creations("CreateDBInstance")); diff != "" {
			t.Errorf("creations (-want +got):\n%s", diff)
		}
		for _, in := range env.emu.Instances() {
			if in.AZ == "us-east-1b" {
				t.Errorf("%s in the zone that does not offer its class", in.ID)
			}
		}
	})
	t.Run("no zone has room: a named error", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		for _, z := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
			env.emu.SetZoneCapacity(z, false)
		}
		wantKind(t, a.Set(ctx, 1, "up"), AWSNoCapacity)
		want := []string{"us-east-1b InsufficientDBInstanceCapacity", "us-east-1c InsufficientDBInstanceCapacity",
			"us-east-1a InsufficientDBInstanceCapacity", " InsufficientDBInstanceCapacity"}
		if diff := cmp.Diff(want, env.creations("CreateDBInstance")); diff != "" {
			t.Errorf("creations (-want +got):\n%s", diff)
		}
	})
}

func TestAuroraReadinessAndDeadReaders(t *testing.T) {
	ctx := context.Background()
	t.Run("readers being modified, backed up or configured still serve", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.withReaders(t, a, 4)
		env.emu.DegradeInstance("prod-scaled-1", "modifying", time.Hour)
		env.emu.DegradeInstance("prod-scaled-2", "backing-up", time.Hour)
		env.emu.DegradeInstance("prod-scaled-3", "configuring-log-exports", time.Hour)
		if cur, ready := mustRead(t, a); cur != 4 || ready != 4 {
			t.Errorf("read %d/%d, want 4/4", cur, ready)
		}
	})
	t.Run("scale-in waits while readers reboot", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.withReaders(t, a, 4)
		env.emu.DegradeInstance("prod-scaled-1", "rebooting", 5*time.Minute)
		env.emu.DegradeInstance("prod-scaled-2", "rebooting", 5*time.Minute)
		if cur, ready := mustRead(t, a); cur != 4 || ready != 2 {
			t.Errorf("read %d/%d, want 4/2", cur, ready)
		}
		lim := wantLimited(t, a.Set(ctx, 2, "down"), 2, 4)
		if !strings.Contains(lim.Reason, "only 2 readers serve (2 rebooting): none is deleted while fewer than 2 would") {
			t.Errorf("reason %q", lim.Reason)
		}
		if d := env.deleted(); len(d) != 0 {
			t.Errorf("deleted %v: the 2 that serve", d)
		}
		env.clock.Step(5 * time.Minute)
		if err := a.Set(ctx, 2, "down"); err != nil {
			t.Errorf("once they serve: %v", err)
		}
	})
	t.Run("dead readers are replaced, and deleted when scaled's", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.emu.AddInstance(awsemu.InstanceSpec{ID: "manual", Class: "db.r7g.large", Engine: "aurora-postgresql", AZ: "us-east-1b",
			ClusterID: "prod", Status: "incompatible-parameters"})
		env.withReaders(t, a, 3)
		env.emu.SetInstanceStatus("prod-scaled-2", "failed")
		if cur, ready := mustRead(t, a); cur != 2 || ready != 2 {
			t.Errorf("read %d/%d, want 2/2: dead readers do not count", cur, ready)
		}
		if s := a.Status(); !strings.Contains(s, "2 readers will not serve again: not counted, replaced") {
			t.Errorf("status %q", s)
		}
		if err := a.Set(ctx, 3, "replace"); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"prod-scaled-2"}, env.deleted()); diff != "" {
			t.Errorf("deleted (-want +got):\n%s", diff)
		}
		if n := len(env.emu.CallsOf("CreateDBInstance")); n != 4 {
			t.Errorf("%d creations, want 3 and a replacement", n)
		}
	})
}

func TestAuroraCopiesTheWritersMonitoring(t *testing.T) {
	env := newAWSEnv(t, awsemu.Options{})
	env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "aurora-mysql", EngineVersion: "8.0.mysql_aurora.3.08.0",
		WriterID: "prod-writer", WriterClass: "db.r7g.xlarge", SubnetGroup: "prod-subnets", AZs: []string{"us-east-1a", "us-east-1b"},
		WriterSettings: awsemu.Settings{MonitoringInterval: 60, MonitoringRoleARN: "arn:aws:iam::123456789012:role/rds-monitoring-role",
			PerformanceInsights: true, PIRetentionDays: 731, CACertificate: "rds-ca-rsa2048-g1"}})
	if err := env.aurora(t, 0).Set(context.Background(), 1, "up"); err != nil {
		t.Fatal(err)
	}
	want := awsemu.Settings{MonitoringInterval: 60, MonitoringRoleARN: "arn:aws:iam::123456789012:role/rds-monitoring-role",
		PerformanceInsights: true, PIRetentionDays: 731, CACertificate: "rds-ca-rsa2048-g1"}
	for _, in := range env.emu.Instances() {
		if in.ID == "prod-scaled-1" {
			if diff := cmp.Diff(want, in.Settings); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			if in.PromotionTier != 15 {
				t.Errorf("promotion tier %d", in.PromotionTier)
			}
		}
	}
}

func TestAuroraCountsReadersBeingDeletedTowardsItsLimit(t *testing.T) {
	ctx := context.Background()
	env, a := newAuroraEnv(t, awsemu.Options{InstanceQuota: 100}, 0)
	env.withReaders(t, a, 15)
	if err := a.Set(ctx, 14, "down"); err != nil {
		t.Fatal(err)
	}
	lim := wantLimited(t, a.Set(ctx, 15, "up"), 15, 14)
	if lim.Reason != "aurora allows at most 15 readers, and 15 are listed (those being deleted or dead included)" {
		t.Errorf("reason %q", lim.Reason)
	}
	if n := len(env.emu.CallsOf("CreateDBInstance")); n != 15 {
		t.Errorf("%d creations, want the 15 of the setup: the 16th is refused while one is being deleted", n)
	}
}

func TestAWSTimeoutsAreNamedAndCounted(t *testing.T) {
	_, a := newAuroraEnv(t, awsemu.Options{}, 0)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := a.Read(ctx)
	wantKind(t, err, AWSTimeout)
	if r := ErrorReason(err); r != ReasonTimeout {
		t.Errorf("counted as %q, want %q", r, ReasonTimeout)
	}
}

// TestAuroraRestartMidScaleIn: a daemon restarts while the readers it
// deleted are still listed as available, and one of its deletions was
// carried out but its answer lost (the SDK's retry meets "already being
// deleted"). Neither process fails a tick, and the new one deletes nothing
// more: it reads what the old one did from the readers' tags.
func TestAuroraRestartMidScaleIn(t *testing.T) {
	ctx := context.Background()
	env, a := newAuroraEnv(t, awsemu.Options{DeletePhases: []awsemu.Phase{{Status: "", For: 3 * time.Minute}}}, 0)
	env.withReaders(t, a, 4)
	env.emu.LoseAnswers("DeleteDBInstance", 1)
	if err := a.Set(ctx, 2, "down"); err != nil {
		t.Fatalf("scale-in with a lost answer: %v", err)
	}
	asked := func() []string {
		var out []string
		for _, in := range env.emu.Instances() {
			if in.DeleteAsked {
				out = append(out, in.ID)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"prod-scaled-3", "prod-scaled-4"}, asked()); diff != "" {
		t.Fatalf("deleted (-want +got):\n%s", diff)
	}
	env.clock.Step(time.Minute) // both still listed as available
	restarted := env.aurora(t, 0)
	if cur, ready := mustRead(t, restarted); cur != 2 || ready != 2 {
		t.Errorf("after the restart: %d/%d, want 2/2 (two readers going)", cur, ready)
	}
	for i := 0; i < 3; i++ {
		if err := restarted.Set(ctx, 2, "hold"); err != nil {
			t.Errorf("tick %d after the restart: %v", i, err)
		}
		env.clock.Step(time.Minute)
	}
	if diff := cmp.Diff([]string{"prod-scaled-3", "prod-scaled-4"}, asked()); diff != "" {
		t.Errorf("deleted after the restart (-want +got):\n%s", diff)
	}
}

// TestAuroraZoneAndSettingsFailures: a zone where a reader AWS accepted
// later ended insufficient-capacity is skipped like a zone that refused at
// once (TestAuroraFallsBackToAnotherZone); a
// reader that died of its settings (incompatible-parameters) is not
// replaced with the same settings tick after tick, but after a doubling wait,
// with a warning in the status.
func TestAuroraZoneAndSettingsFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("a reader that ends insufficient-capacity", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.withReaders(t, a, 2) // 1b and 1c; the writer is in 1a
		env.emu.SetInstanceStatus("prod-scaled-1", "insufficient-capacity")
		if err := a.Set(ctx, 2, "replace"); err != nil { // replaces it (in 1a), deletes it
			t.Fatal(err)
		}
		env.clock.Step(awsemu.DefaultDeleteDelay + time.Minute) // gone: 1b is the emptiest zone
		if err := a.Set(ctx, 3, "up"); err != nil {
			t.Fatal(err)
		}
		made := env.creations("CreateDBInstance")
		if got := made[len(made)-1]; got == "us-east-1b " {
			t.Errorf("creations %v: the last went to us-east-1b, where a reader just ended insufficient-capacity", made)
		}
	})
	t.Run("a reader that died of its settings", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		if err := a.Set(ctx, 1, "up"); err != nil {
			t.Fatal(err)
		}
		env.clock.Step(time.Minute) // still creating
		env.emu.SetInstanceStatus("prod-scaled-1", "incompatible-parameters")
		for i := 0; i < 4; i++ {
			lim := wantLimited(t, a.Set(ctx, 1, "replace"), 1, 0)
			if !strings.Contains(lim.Reason, "incompatible-parameters") {
				t.Fatalf("reason %q", lim.Reason)
			}
			env.clock.Step(time.Minute)
		}
		if n := len(env.creations("CreateDBInstance")); n != 1 {
			t.Errorf("%d creations, want the first only", n)
		}
		if s := a.Status(); !strings.Contains(s, "Warning: reader prod-scaled-1") {
			t.Errorf("status %q", s)
		}
		env.clock.Step(firstCreateBackoff)
		if err := a.Set(ctx, 1, "replace"); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
	})
}

// TestAuroraRefusesAMultiAZDBCluster: a Multi-AZ DB cluster (engine postgres)
// answers DescribeDBClusters like an Aurora cluster, but takes no reader:
// the read says what it is and what to use instead, rather than fail at
// every scale-out.
func TestAuroraRefusesAMultiAZDBCluster(t *testing.T) {
	env := newAWSEnv(t, awsemu.Options{})
	env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "postgres", EngineVersion: "16.4", WriterID: "prod-writer",
		WriterClass: "db.m6gd.large", SubnetGroup: "prod-subnets", AZs: []string{"us-east-1a", "us-east-1b", "us-east-1c"}})
	a := env.aurora(t, 0)
	_, err := a.Read(context.Background())
	wantKind(t, err, AWSInvalidRequest, "Multi-AZ DB cluster", "kind rds")
}

// TestKMSKeyNotAccessibleHoldsCreations: a creation refused with
// KMSKeyNotAccessibleFault fails once (access_denied), then no creation is
// asked for 30 minutes, doubling while the key stays out of reach; the
// status warns and says what to do; once the key is back, readers come.
func TestKMSKeyNotAccessibleHoldsCreations(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"aurora", "rds"} {
		t.Run(kind, func(t *testing.T) {
			var env *awsEnv
			var a interface {
				Actuator
				StatusReporter
			}
			op, parent := "CreateDBInstance", "prod"
			if kind == "aurora" {
				env, a = newAuroraEnv(t, awsemu.Options{}, 0)
			} else {
				env = newAWSEnv(t, awsemu.Options{})
				env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1a", SubnetGroup: "orders-subnets"})
				r, err := NewRDS(RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: env.url}}, env.opts)
				if err != nil {
					t.Fatal(err)
				}
				a, op, parent = r, "CreateDBInstanceReadReplica", "orders"
			}
			env.emu.SetKeyAccessible(parent, false)
			err := a.Set(ctx, 2, "up")
			wantKind(t, err, AWSAccessDenied)
			for i := 0; i < 29; i++ { // a tick a minute: no retry storm
				env.clock.Step(time.Minute)
				lim := wantLimited(t, a.Set(ctx, 2, "up"), 2, 0)
				if !strings.Contains(lim.Reason, "KMSKeyNotAccessibleFault") {
					t.Fatalf("reason %q", lim.Reason)
				}
			}
			if n := len(env.codes(op)); n != 1 {
				t.Errorf("%d creations asked in 30 minutes, want 1", n)
			}
			if s := a.Status(); !strings.Contains(s, "Warning: the KMS key that encrypts") || !strings.Contains(s, "key policy") {
				t.Errorf("status %q", s)
			}
			env.clock.Step(2 * time.Minute) // the hold is over; the key is still out of reach: 60 minutes now
			wantKind(t, a.Set(ctx, 2, "up"), AWSAccessDenied)
			env.clock.Step(59 * time.Minute)
			wantLimited(t, a.Set(ctx, 2, "up"), 2, 0)
			env.emu.SetKeyAccessible(parent, true)
			env.clock.Step(2 * time.Minute)
			if err := a.Set(ctx, 2, "up"); err != nil {
				t.Fatalf("with the key back: %v", err)
			}
			if n := len(env.codes(op)); n != 4 {
				t.Errorf("%d creations asked (%v), want 2 refused and 2 made", n, env.codes(op))
			}
		})
	}
}

// TestAuroraServerlessV2Readers: new readers take db.serverless where the
// cluster's readers are Aurora Serverless v2 and its writer is provisioned
// (a mixed cluster), as they do when the writer is; a db.serverless reader
// is not asked of a cluster without a Serverless v2 capacity range.
func TestAuroraServerlessV2Readers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name          string
		writer        string
		readers       []string // made by someone else
		capacityRange [2]float64
		instanceClass string
		want          string // class of the new reader, or an error's words
	}{
		{"a provisioned writer with serverless readers", "db.r7g.large", []string{"db.serverless", "db.serverless"}, [2]float64{0.5, 16}, "", "db.serverless"},
		{"a serverless writer", "db.serverless", nil, [2]float64{0.5, 16}, "", "db.serverless"},
		{"a serverless writer with provisioned readers", "db.serverless", []string{"db.r7g.xlarge"}, [2]float64{0.5, 16}, "", "db.r7g.xlarge"},
		{"readers of both kinds", "db.r7g.large", []string{"db.serverless", "db.r7g.xlarge"}, [2]float64{0.5, 16}, "", "db.r7g.large"},
		{"a provisioned cluster", "db.r7g.large", []string{"db.r7g.xlarge"}, [2]float64{}, "", "db.r7g.large"},
		{"instance_class wins", "db.r7g.large", []string{"db.serverless"}, [2]float64{0.5, 16}, "db.r7g.2xlarge", "db.r7g.2xlarge"},
		{"db.serverless without a capacity range", "db.r7g.large", nil, [2]float64{}, "db.serverless", "ServerlessV2ScalingConfiguration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newAWSEnv(t, awsemu.Options{})
			env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "aurora-postgresql", EngineVersion: "16.4", WriterID: "prod-writer",
				WriterClass: tc.writer, SubnetGroup: "prod-subnets", AZs: []string{"us-east-1a", "us-east-1b", "us-east-1c"}, ServerlessV2: tc.capacityRange})
			for i, class := range tc.readers {
				env.emu.AddInstance(awsemu.InstanceSpec{ID: fmt.Sprintf("prod-reader-%d", i), Class: class, Engine: "aurora-postgresql",
					AZ: "us-east-1b", ClusterID: "prod"})
			}
			a, err := NewAurora(AuroraTarget{ClusterIdentifier: "prod", ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: env.url,
				InstanceClass: tc.instanceClass}}, env.opts)
			if err != nil {
				t.Fatal(err)
			}
			err = a.Set(ctx, int32(len(tc.readers))+1, "up")
			if !strings.HasPrefix(tc.want, "db.") {
				wantKind(t, err, AWSInvalidRequest)
				if !strings.Contains(err.Error(), tc.want) || len(env.emu.CallsOf("CreateDBInstance")) != 0 {
					t.Errorf("error %v, %d creations asked", err, len(env.emu.CallsOf("CreateDBInstance")))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range env.emu.Instances() {
				if in.ID == "prod-scaled-1" && in.Class != tc.want {
					t.Errorf("new reader of class %s, want %s", in.Class, tc.want)
				}
			}
		})
	}
}

// TestAuroraRefusesServerlessV1AndGlobalSecondaries: an Aurora Serverless v1
// cluster and a secondary cluster of a global database are refused
// (invalid_request), each named with what to use instead; a global
// database's primary failing over is not taken for a secondary; once a
// secondary is promoted, it is scaled, with no deletion for writer_memory.
func TestAuroraRefusesServerlessV1AndGlobalSecondaries(t *testing.T) {
	ctx := context.Background()
	azs := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	t.Run("Aurora Serverless v1", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "aurora-mysql", WriterID: "prod-writer", WriterClass: "db.serverless",
			SubnetGroup: "prod-subnets", AZs: azs, EngineMode: "serverless"})
		_, err := env.aurora(t, 0).Read(ctx)
		wantKind(t, err, AWSInvalidRequest, "Aurora Serverless v1", "Aurora Serverless v2")
	})
	t.Run("a global database's secondary, then promoted", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddCluster(awsemu.ClusterSpec{ID: "orders-east", Engine: "aurora-postgresql", WriterID: "east-writer", WriterClass: "db.r7g.large",
			SubnetGroup: "east", AZs: azs, GlobalCluster: "orders"})
		env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "aurora-postgresql", WriterID: "prod-r1", WriterClass: "db.r7g.large",
			SubnetGroup: "prod-subnets", AZs: azs, GlobalCluster: "orders", Secondary: true})
		a := env.aurora(t, 0)
		_, err := a.Read(ctx)
		wantKind(t, err, AWSInvalidRequest, "secondary cluster of Aurora global database orders", "cluster:orders-east")
		wantKind(t, a.Set(ctx, 2, "up"), AWSInvalidRequest)
		if n := len(env.emu.CallsOf("CreateDBInstance")); n != 0 {
			t.Errorf("%d creations in a secondary", n)
		}
		env.emu.PromoteSecondary("prod")
		if err := a.Set(ctx, 3, "up"); err != nil { // prod-r1 is the writer now
			t.Fatal(err)
		}
		env.clock.Step(awsemu.DefaultCreateDelay + time.Minute)
		err = a.Set(ctx, 1, "down")
		if lim := wantLimited(t, err, 1, 3); !strings.Contains(lim.Reason, "writer_memory") {
			t.Errorf("reason %q", lim.Reason)
		}
		if d := env.deleted(); len(d) != 0 {
			t.Errorf("deleted %v within writer_memory of the promotion", d)
		}
	})
	t.Run("a global database's primary failing over", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "aurora-postgresql", WriterID: "prod-writer", WriterClass: "db.r7g.large",
			SubnetGroup: "prod-subnets", AZs: azs, GlobalCluster: "orders"})
		env.emu.Failover("prod", "", false)
		_, err := env.aurora(t, 0).Read(ctx)
		wantKind(t, err, AWSInvalidState)
	})
}

// warnings records what a target warns of.
type warnings struct {
	mu  sync.Mutex
	got []string
}

func (w *warnings) ObserveWarning(reason, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, reason+": "+message)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

// TestAuroraWarnsOnceOfEachReaderThatDies: a reader that dies of its
// settings as it is created is one warning (a Warning Event on a Scaler),
// with its status and the wait, however many ticks see it; the next death
// is another, with the doubled wait.
func TestAuroraWarnsOnceOfEachReaderThatDies(t *testing.T) {
	ctx := context.Background()
	env := newAWSEnv(t, awsemu.Options{})
	env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "aurora-postgresql", EngineVersion: "16.4", WriterID: "prod-writer",
		WriterClass: "db.r7g.large", SubnetGroup: "prod-subnets", AZs: []string{"us-east-1a", "us-east-1b", "us-east-1c"}})
	w := &warnings{}
	opts := env.opts
	opts.Warnings = w
	a, err := NewAurora(AuroraTarget{ClusterIdentifier: "prod", ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: env.url}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Set(ctx, 1, "up"); err != nil {
		t.Fatal(err)
	}
	env.clock.Step(time.Minute)
	env.emu.SetInstanceStatus("prod-scaled-1", "incompatible-parameters")
	for i := 0; i < 20; i++ { // a tick a minute, reading and asking
		_, _ = a.Read(ctx)
		_ = a.Set(ctx, 1, "replace")
		env.clock.Step(time.Minute)
	}
	got := w.all()
	if len(got) != 1 || !strings.HasPrefix(got[0], WarningReaderDied+": reader prod-scaled-1") ||
		!strings.Contains(got[0], "incompatible-parameters") || !strings.Contains(got[0], "for 30m") {
		t.Fatalf("warnings %q, want one of prod-scaled-1 with a 30m wait", got)
	}
	env.clock.Step(firstCreateBackoff) // the replacement is asked, and dies too
	if err := a.Set(ctx, 1, "replace"); err != nil {
		t.Fatal(err)
	}
	env.clock.Step(time.Minute)
	for _, in := range env.emu.Instances() {
		if in.Status == "creating" {
			env.emu.SetInstanceStatus(in.ID, "incompatible-network")
		}
	}
	for i := 0; i < 5; i++ {
		_, _ = a.Read(ctx)
		env.clock.Step(time.Minute)
	}
	if got := w.all(); len(got) != 2 || !strings.Contains(got[1], "incompatible-network") || !strings.Contains(got[1], "for 1h") {
		t.Errorf("warnings %q, want a second with a 1h wait", got)
	}
}

// TestAuroraReadersTakeTheWritersAccessibility: a new reader is public
// exactly when the writer is, not whenever the cluster's VPC has an
// internet gateway (PublicByDefault here).
func TestAuroraReadersTakeTheWritersAccessibility(t *testing.T) {
	for _, public := range []bool{false, true} {
		env := newAWSEnv(t, awsemu.Options{PublicByDefault: true})
		env.emu.AddCluster(awsemu.ClusterSpec{ID: "prod", Engine: "aurora-postgresql", EngineVersion: "16.4", WriterID: "prod-writer",
			WriterClass: "db.r7g.large", SubnetGroup: "prod-subnets", AZs: []string{"us-east-1a", "us-east-1b", "us-east-1c"}, WriterPublic: public})
		if err := env.aurora(t, 0).Set(context.Background(), 1, "up"); err != nil {
			t.Fatal(err)
		}
		for _, in := range env.emu.Instances() {
			if in.ID == "prod-scaled-1" && in.Network.Public != public {
				t.Errorf("writer public %v: new reader public %v", public, in.Network.Public)
			}
		}
	}
}
