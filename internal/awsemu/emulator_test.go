package awsemu

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"
)

// These tests hold the emulator to the AWS behaviour its doc comment
// cites, through the real SDK clients.

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type world struct {
	emu    *Emulator
	clock  *clocktesting.FakeClock
	rds    *rds.Client
	lambda *lambda.Client
	url    string
}

func newWorld(t *testing.T, o Options) *world {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	emu := New(clk, o)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1}
	return &world{emu: emu, clock: clk, url: srv.URL,
		rds:    rds.NewFromConfig(cfg, func(o *rds.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		lambda: lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
	}
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// cluster is DescribeDBClusters' answer: status, writer and members.
func (w *world) cluster(t *testing.T) (string, string, []string) {
	t.Helper()
	out, err := w.rds.DescribeDBClusters(context.Background(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.DBClusters[0]
	writer := ""
	var members []string
	for _, m := range c.DBClusterMembers {
		members = append(members, aws.ToString(m.DBInstanceIdentifier))
		if aws.ToBool(m.IsClusterWriter) {
			writer = aws.ToString(m.DBInstanceIdentifier)
		}
	}
	return aws.ToString(c.Status), writer, members
}

// status is DescribeDBInstances' status of id, or its error code.
func (w *world) status(id string) string {
	out, err := w.rds.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return code(err)
	}
	return aws.ToString(out.DBInstances[0].DBInstanceStatus)
}

func (w *world) prod() {
	w.emu.AddCluster(ClusterSpec{ID: "prod", Engine: "aurora-postgresql", WriterID: "writer", WriterClass: "db.r7g.large",
		SubnetGroup: "subnets", AZs: []string{"us-east-1a", "us-east-1b", "us-east-1c"}})
	for _, r := range []struct {
		id, class string
		tier      int
	}{{"r-low", "db.r7g.2xlarge", 2}, {"r-large", "db.r7g.xlarge", 1}, {"r-small", "db.r7g.large", 1}} {
		w.emu.AddInstance(InstanceSpec{ID: r.id, Class: r.class, Engine: "aurora-postgresql", AZ: "us-east-1b", ClusterID: "prod", PromotionTier: r.tier})
	}
}

func TestFailover(t *testing.T) {
	t.Run("promotes the lowest tier, then the largest class", func(t *testing.T) {
		w := newWorld(t, Options{})
		w.prod()
		w.emu.Failover("prod", "", false)
		if status, writer, _ := w.cluster(t); status != "failing-over" || writer != "" {
			t.Errorf("during the failover: %s, writer %q", status, writer)
		}
		w.clock.Step(DefaultFailoverDelay)
		if status, writer, members := w.cluster(t); status != "available" || writer != "r-large" || len(members) != 4 {
			t.Errorf("after: %s, writer %q, members %v", status, writer, members)
		}
		if s := w.status("writer"); s != "available" {
			t.Errorf("old writer %s, want an available reader", s)
		}
	})
	t.Run("a crashed writer reboots through the window", func(t *testing.T) {
		w := newWorld(t, Options{})
		w.prod()
		w.emu.Failover("prod", "r-small", true)
		if s := w.status("writer"); s != "rebooting" {
			t.Errorf("old writer %s", s)
		}
		w.clock.Step(DefaultFailoverDelay)
		if _, writer, _ := w.cluster(t); writer != "r-small" || w.status("writer") != "available" {
			t.Errorf("writer %q, old writer %s", writer, w.status("writer"))
		}
	})
	t.Run("deleting the writer fails the cluster over", func(t *testing.T) {
		w := newWorld(t, Options{})
		w.prod()
		if _, err := w.rds.DeleteDBInstance(context.Background(), &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("writer")}); err != nil {
			t.Fatal(err)
		}
		if status, writer, _ := w.cluster(t); status != "failing-over" || writer != "" {
			t.Errorf("%s, writer %q", status, writer)
		}
		w.clock.Step(DefaultFailoverDelay)
		if _, writer, _ := w.cluster(t); writer != "r-large" {
			t.Errorf("writer %q", writer)
		}
	})
	t.Run("a lagging DescribeDBClusters shows it late", func(t *testing.T) {
		w := newWorld(t, Options{ClusterLag: 20 * time.Second})
		w.prod()
		w.emu.Failover("prod", "r-small", false)
		var seen []string
		for i := 0; i < 9; i++ {
			status, writer, _ := w.cluster(t)
			seen = append(seen, status+" "+writer)
			w.clock.Step(10 * time.Second)
		}
		want := []string{"available writer", "available writer", "failing-over ", "failing-over ", "failing-over ", "failing-over ",
			"failing-over ", "failing-over ", "available r-small"}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("every 10 s (-want +got):\n%s", diff)
		}
	})
}

func TestDeletionPhases(t *testing.T) {
	w := newWorld(t, Options{DeletePhases: []Phase{{"", time.Minute}, {"delete-precheck", time.Minute}}})
	w.prod()
	ctx := context.Background()
	if _, err := w.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("r-small")}); err != nil {
		t.Fatal(err)
	}
	_, err := w.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("r-small")})
	var seen []string
	for i := 0; i < 4; i++ {
		seen = append(seen, w.status("r-small"))
		w.clock.Step(time.Minute)
	}
	w.clock.Step(DefaultDeleteDelay)
	seen = append(seen, w.status("r-small"))
	if diff := cmp.Diff([]string{"available", "delete-precheck", "deleting", "deleting", "DBInstanceNotFound"}, seen); diff != "" {
		t.Errorf("statuses a minute apart (-want +got):\n%s", diff)
	}
	if code(err) != "InvalidDBInstanceState" {
		t.Errorf("a second delete answered %q", code(err))
	}
}

func TestInstanceLag(t *testing.T) {
	w := newWorld(t, Options{InstanceLag: time.Minute, CreateDelay: 2 * time.Minute})
	w.prod()
	ctx := context.Background()
	if _, err := w.rds.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("new"),
		DBClusterIdentifier: aws.String("prod"), Engine: aws.String("aurora-postgresql"), DBInstanceClass: aws.String("db.r7g.large")}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for i := 0; i < 4; i++ {
		seen = append(seen, w.status("new"))
		w.clock.Step(time.Minute)
	}
	if diff := cmp.Diff([]string{"DBInstanceNotFound", "creating", "creating", "available"}, seen); diff != "" {
		t.Errorf("statuses a minute apart (-want +got):\n%s", diff)
	}
}

func TestZones(t *testing.T) {
	ctx := context.Background()
	create := func(w *world, id, az string) (string, error) {
		in := &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String("prod"),
			Engine: aws.String("aurora-postgresql"), DBInstanceClass: aws.String("db.r7g.large")}
		if az != "" {
			in.AvailabilityZone = aws.String(az)
		}
		out, err := w.rds.CreateDBInstance(ctx, in)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.DBInstance.AvailabilityZone), nil
	}
	w := newWorld(t, Options{})
	w.prod()
	w.emu.SetZoneCapacity("us-east-1c", false)
	w.emu.Unoffer("us-east-1a", "db.r7g.large")
	_, errC := create(w, "in-c", "us-east-1c")
	_, errA := create(w, "in-a", "us-east-1a")
	az, err := create(w, "anywhere", "")
	if code(errC) != "InsufficientDBInstanceCapacity" || code(errA) != "InvalidParameterCombination" || err != nil || az != "us-east-1b" {
		t.Errorf("1c: %v; 1a: %v; no zone: %s %v", errC, errA, az, err)
	}
	w.emu.SetZoneCapacity("us-east-1b", false)
	if _, err := create(w, "nowhere", ""); code(err) != "InsufficientDBInstanceCapacity" {
		t.Errorf("no zone with room: %v", err)
	}
}

func TestReplicaParameterGroups(t *testing.T) {
	for engine, want := range map[string]string{"mysql": "InvalidParameterCombination", "postgres": "InvalidParameterCombination",
		"oracle-ee": "", "db2-se": ""} {
		w := newWorld(t, Options{})
		w.emu.AddInstance(InstanceSpec{ID: "src", Class: "db.m7g.large", Engine: engine, AZ: "us-east-1a"})
		_, err := w.rds.CreateDBInstanceReadReplica(context.Background(), &rds.CreateDBInstanceReadReplicaInput{
			DBInstanceIdentifier: aws.String("replica"), SourceDBInstanceIdentifier: aws.String("src"), DBParameterGroupName: aws.String("pg")})
		if code(err) != want {
			t.Errorf("%s: %v, want %q", engine, err, want)
		}
	}
}

func TestLambdaRules(t *testing.T) {
	ctx := context.Background()
	put := func(w *world, q string, n int32) string {
		_, err := w.lambda.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("fn"), Qualifier: aws.String(q), ProvisionedConcurrentExecutions: aws.Int32(n)})
		return code(err)
	}
	t.Run("one config per version", func(t *testing.T) {
		w := newWorld(t, Options{})
		w.emu.AddFunction("fn", "7", "live", "blue")
		if c := put(w, "7", 5); c != "" {
			t.Fatal(c)
		}
		if c := put(w, "live", 5); c != "ResourceConflictException" {
			t.Errorf("alias of a provisioned version: %q", c)
		}
		if _, err := w.lambda.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("fn"), Qualifier: aws.String("7")}); err != nil {
			t.Fatal(err)
		}
		if c := put(w, "live", 5); c != "" {
			t.Fatal(c)
		}
		for _, q := range []string{"7", "blue"} {
			if c := put(w, q, 5); c != "ResourceConflictException" {
				t.Errorf("%s, whose version live provisions: %q", q, c)
			}
		}
	})
	t.Run("no config on $LATEST or while an alias routes", func(t *testing.T) {
		w := newWorld(t, Options{})
		w.emu.AddFunction("fn", "7", "8")
		w.emu.SetAlias("fn", "dev", "$LATEST", nil)
		w.emu.SetAlias("fn", "live", "7", map[string]float64{"8": 0.1})
		for q, want := range map[string]string{"$LATEST": "InvalidParameterValueException", "dev": "InvalidParameterValueException",
			"live": "InvalidParameterValueException"} {
			if c := put(w, q, 5); c != want {
				t.Errorf("%s: %q", q, c)
			}
		}
		if _, err := w.lambda.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("fn"), Qualifier: aws.String("8")}); err != nil {
			t.Errorf("deleting a config that is not there: %v", err)
		}
	})
	t.Run("reserved concurrency bounds it; the unreserved pool keeps its minimum", func(t *testing.T) {
		w := newWorld(t, Options{Concurrency: 100, MinUnreserved: 10})
		w.emu.AddFunction("fn", "7", "8")
		w.emu.AddFunction("other", "1")
		w.emu.SetReservedConcurrency("other", 30)
		if c := put(w, "7", 61); c != "InvalidParameterValueException" { // 100 - 30 - 61 < 10
			t.Errorf("below the minimum: %q", c)
		}
		if c := put(w, "7", 60); c != "" {
			t.Errorf("at the minimum: %q", c)
		}
		acct, _ := w.lambda.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if u := aws.ToInt32(acct.AccountLimit.UnreservedConcurrentExecutions); u != 10 {
			t.Errorf("unreserved %d, want 100 - 30 reserved - 60 provisioned", u)
		}
		w.emu.SetReservedConcurrency("fn", 50) // the provisioned 60 now comes out of the reservation
		if c := put(w, "8", 1); c != "InvalidParameterValueException" {
			t.Errorf("beyond the reservation: %q", c)
		}
		fc, _ := w.lambda.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("fn")})
		list, _ := w.lambda.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("fn")})
		if aws.ToInt32(fc.ReservedConcurrentExecutions) != 50 || len(list.ProvisionedConcurrencyConfigs) != 1 ||
			aws.ToString(list.ProvisionedConcurrencyConfigs[0].FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:fn:7" {
			t.Errorf("reserved %v, configs %+v", fc.ReservedConcurrentExecutions, list.ProvisionedConcurrencyConfigs)
		}
	})
	t.Run("GetAlias", func(t *testing.T) {
		w := newWorld(t, Options{})
		w.emu.AddFunction("fn", "7", "8")
		w.emu.SetAlias("fn", "live", "7", map[string]float64{"8": 0.25})
		a, err := w.lambda.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live")})
		if err != nil || aws.ToString(a.FunctionVersion) != "7" || a.RoutingConfig.AdditionalVersionWeights["8"] != 0.25 {
			t.Errorf("%+v %v", a, err)
		}
		if _, err := w.lambda.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("fn"), Name: aws.String("nope")}); code(err) != "ResourceNotFoundException" {
			t.Errorf("unknown alias: %v", err)
		}
	})
}

func TestStaleWriterAndFailoverEvents(t *testing.T) {
	w := newWorld(t, Options{FailoverDelay: 30 * time.Second, ClusterLag: 3 * time.Minute, EventLag: 20 * time.Second})
	w.prod()
	w.clock.Step(3 * time.Minute)
	w.emu.Failover("prod", "r-small", false)
	w.clock.Step(time.Minute) // over for 30 s
	if writer := w.emu.Cluster("prod").Writer; writer != "r-small" {
		t.Fatalf("writer %s", writer)
	}
	if status, writer, _ := w.cluster(t); status != "available" || writer != "writer" {
		t.Errorf("the lagging listing: %s, writer %q; want the old writer, available", status, writer)
	}
	events := func(maxRecords int32) []string {
		var out []string
		p := rds.NewDescribeEventsPaginator(w.rds, &rds.DescribeEventsInput{SourceType: "db-cluster", SourceIdentifier: aws.String("prod"),
			EventCategories: []string{"failover"}, StartTime: aws.Time(t0), MaxRecords: aws.Int32(maxRecords)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				out = append(out, aws.ToString(ev.Message))
			}
		}
		return out
	}
	want := []string{"Started cross AZ failover to DB instance: r-small", "Completed failover to DB instance: r-small"}
	if diff := cmp.Diff(want, events(100)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	for i := 0; i < 30; i++ { // 62 events: pages of 20
		w.emu.Failover("prod", "", false)
		w.clock.Step(time.Minute)
	}
	if n := len(events(20)); n != 62 {
		t.Errorf("%d events over pages of 20, want 62", n)
	}
}

func TestLostAnswers(t *testing.T) {
	w := newWorld(t, Options{})
	w.prod()
	w.emu.LoseAnswers("DeleteDBInstance", 1)
	ctx := context.Background()
	_, err := w.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("r-small")})
	if code(err) != "InternalFailure" {
		t.Fatalf("first answer %v, want InternalFailure", err)
	}
	_, err = w.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("r-small")})
	if code(err) != "InvalidDBInstanceState" {
		t.Errorf("the retry: %v, want InvalidDBInstanceState: the first was carried out", err)
	}
}

// TestKMSKeyNotAccessible: while the key of a cluster or source cannot be
// used, a new instance there answers KMSKeyNotAccessibleFault and nothing is
// made; once it can, creation works again.
func TestKMSKeyNotAccessible(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, Options{})
	w.prod()
	w.emu.AddInstance(InstanceSpec{ID: "src", Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1a"})
	reader := func(id string) error {
		_, err := w.rds.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String("prod"),
			Engine: aws.String("aurora-postgresql"), DBInstanceClass: aws.String("db.r7g.large")})
		return err
	}
	replica := func(id string) error {
		_, err := w.rds.CreateDBInstanceReadReplica(ctx, &rds.CreateDBInstanceReadReplicaInput{
			DBInstanceIdentifier: aws.String(id), SourceDBInstanceIdentifier: aws.String("src")})
		return err
	}
	w.emu.SetKeyAccessible("prod", false)
	w.emu.SetKeyAccessible("src", false)
	if got := []string{code(reader("r1")), code(replica("rr1")), w.status("r1"), w.status("rr1")}; !cmp.Equal(got,
		[]string{"KMSKeyNotAccessibleFault", "KMSKeyNotAccessibleFault", "DBInstanceNotFound", "DBInstanceNotFound"}) {
		t.Errorf("with the keys inaccessible: %v", got)
	}
	w.emu.SetKeyAccessible("prod", true)
	w.emu.SetKeyAccessible("src", true)
	if err1, err2 := reader("r1"), replica("rr1"); err1 != nil || err2 != nil {
		t.Errorf("with the keys back: %v, %v", err1, err2)
	}
}
