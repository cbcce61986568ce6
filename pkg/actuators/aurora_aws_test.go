package actuators

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/internal/awsemu"
	"github.com/scaled-dev/scaled/pkg/config"
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
	a, err := NewAurora(config.AuroraTarget{ClusterIdentifier: "prod", ReplicaOptions: config.ReplicaOptions{
		NameTemplate: config.DefaultAuroraName, Owner: "db", MinReaders: min, Endpoint: e.url,
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
		if c := env.errorCount(AWSThrottled); c != 1 {
			t.Errorf("throttled counted %v times, want 1", c)
		}
	})
	t.Run("access denied is named, counted, and changes nothing", func(t *testing.T) {
		env, a := newAuroraEnv(t, awsemu.Options{}, 0)
		env.emu.Deny("CreateDBInstance")
		err := a.Set(ctx, 2, "up")
		wantKind(t, err, AWSAccessDenied)
		if !strings.Contains(err.Error(), "CreateDBInstance: access_denied (AccessDenied): User: ") {
			t.Errorf("message %q", err)
		}
		if n := len(env.emu.CallsOf("CreateDBInstance")); n != 1 {
			t.Errorf("%d attempts, want 1: access denied is not retried", n)
		}
		if cur, _ := mustRead(t, a); cur != 0 {
			t.Errorf("current %d after a denied creation", cur)
		}
		if c := env.errorCount(AWSAccessDenied); c != 1 {
			t.Errorf("access_denied counted %v times", c)
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
		env, a := newAuroraEnv(t, awsemu.Options{InstanceQuota: 2}, 0) // the writer and one reader
		wantKind(t, a.Set(ctx, 3, "up"), AWSQuotaExceeded)
		if cur, _ := mustRead(t, a); cur != 1 {
			t.Errorf("current %d, want 1", cur)
		}
		if c := env.errorCount(AWSQuotaExceeded); c != 1 {
			t.Errorf("quota_exceeded counted %v times", c)
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
