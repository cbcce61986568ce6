package actuators

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scaled-dev/scaled/internal/awsemu"
)

// seedClusters adds n Aurora clusters c000, c001, ... to the emulated
// account, each with its writer and one available reader owned by "db".
func seedClusters(e *awsEnv, n int) {
	for i := range n {
		id := fmt.Sprintf("c%03d", i)
		e.emu.AddCluster(awsemu.ClusterSpec{ID: id, Engine: "aurora-postgresql", EngineVersion: "16.4", WriterID: id + "-writer",
			WriterClass: "db.r7g.large", SubnetGroup: "subnets", AZs: []string{"us-east-1a", "us-east-1b"}})
		e.emu.AddInstance(awsemu.InstanceSpec{ID: id + "-scaled-1", Class: "db.r7g.large", Engine: "aurora-postgresql", AZ: "us-east-1b",
			ClusterID: id, Tags: []awsemu.Tag{{Key: TagOwner, Value: "db"}}})
	}
}

// auroraIn is the Aurora target of cluster in the shared region r.
func (e *awsEnv) auroraIn(t *testing.T, r *AWSRegion, cluster string) *Aurora {
	t.Helper()
	o := e.opts
	o.Region = r
	a, err := NewAurora(AuroraTarget{ClusterIdentifier: cluster, ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: e.url}}, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func unlimited(maxAge time.Duration) AWSLimits {
	return AWSLimits{RDS: AWSServiceLimit{RequestsPerSecond: 1e6, Burst: 1e6}, Lambda: AWSServiceLimit{RequestsPerSecond: 1e6, Burst: 1e6},
		ListingMaxAge: maxAge}
}

// One budget bounds every target of a region: a request that cannot get a
// token before its deadline is not sent, and the read fails at once as
// throttled, naming the budget; retries take tokens too.
func TestAWSBudgetBoundsEveryTargetOfARegion(t *testing.T) {
	t.Run("no token before the deadline", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		seedClusters(env, 2)
		reg := prometheus.NewRegistry()
		m := NewAWSMetrics(reg)
		r := NewAWSRegion(env.opts.Config, AWSLimits{RDS: AWSServiceLimit{RequestsPerSecond: 0.01, Burst: 3},
			Lambda: AWSServiceLimit{RequestsPerSecond: 1, Burst: 1}}, m, env.clock)
		a, b := env.auroraIn(t, r, "c000"), env.auroraIn(t, r, "c001")
		if cur, _ := mustRead(t, a); cur != 1 {
			t.Fatalf("c000 reads %d readers, want 1", cur)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := b.Read(ctx) // DescribeDBClusters takes the last token; DescribeDBInstances gets none
		wantKind(t, err, AWSThrottled)
		if took := time.Since(start); took > time.Second {
			t.Errorf("the read failed after %s: a wait that cannot end before the deadline must fail at once", took)
		}
		for _, s := range []string{"DescribeDBInstances: throttled", "no AWS API token before the deadline",
			"scaled's rds budget in us-east-1 is 0.01 requests per second with a burst of 3 (aws.rds), shared by every target of the region"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not say %q", err, s)
			}
		}
		if n := len(env.emu.Calls()); n != 3 {
			t.Errorf("the emulator saw %d requests, want the 3 the budget allows", n)
		}
		for _, c := range []struct {
			op, outcome string
			want        float64
		}{{"DescribeDBClusters", AWSOutcomeSuccess, 2}, {"DescribeDBInstances", AWSOutcomeSuccess, 1}, {"DescribeDBInstances", AWSOutcomeNotSent, 1}} {
			if got := testutil.ToFloat64(m.requests.WithLabelValues("rds", c.op, c.outcome)); got != c.want {
				t.Errorf("scaled_aws_api_requests_total{rds,%s,%s} = %g, want %g", c.op, c.outcome, got, c.want)
			}
		}
		if got := tokensOf(t, reg, "lambda"); got != 1 {
			t.Errorf("scaled_aws_api_tokens{service=lambda} = %g, want its burst, 1: no Lambda call was made", got)
		}
		if got := tokensOf(t, reg, "rds"); got >= 1 {
			t.Errorf("scaled_aws_api_tokens{service=rds} = %g, want < 1 after the burst is spent", got)
		}
	})
	t.Run("retries take tokens", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		seedClusters(env, 1)
		m := NewAWSMetrics(nil)
		r := NewAWSRegion(env.opts.Config, unlimited(0), m, env.clock)
		env.emu.Throttle("DescribeDBClusters", 2)
		mustRead(t, env.auroraIn(t, r, "c000"))
		if got := testutil.ToFloat64(m.requests.WithLabelValues("rds", "DescribeDBClusters", AWSOutcomeThrottled)); got != 2 {
			t.Errorf("throttled DescribeDBClusters counted %g, want 2: every attempt goes through the budget", got)
		}
		if got := testutil.ToFloat64(m.requests.WithLabelValues("rds", "DescribeDBClusters", AWSOutcomeSuccess)); got != 1 {
			t.Errorf("successful DescribeDBClusters counted %g, want 1", got)
		}
	})
	t.Run("Lambda targets share the Lambda budget", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddFunction("checkout", "1", "2")
		env.emu.SeedProvisioned("checkout", "1", 10)
		env.emu.SeedProvisioned("checkout", "2", 20)
		r := NewAWSRegion(env.opts.Config, AWSLimits{RDS: AWSServiceLimit{RequestsPerSecond: 1, Burst: 1},
			Lambda: AWSServiceLimit{RequestsPerSecond: 0.01, Burst: 1}}, nil, env.clock)
		o := env.opts
		o.Region = r
		var ls []*Lambda
		for _, q := range []string{"1", "2"} {
			l, err := NewLambda(LambdaTarget{FunctionName: "checkout", Qualifier: q, LambdaOptions: LambdaOptions{Endpoint: env.url}}, o)
			if err != nil {
				t.Fatal(err)
			}
			ls = append(ls, l)
		}
		if cur, _ := mustRead(t, ls[0]); cur != 10 {
			t.Fatalf("version 1 reads %d, want 10", cur)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := ls[1].Read(ctx)
		wantKind(t, err, AWSThrottled, "scaled's lambda budget in us-east-1")
	})
}

// tokensOf is the scaled_aws_api_tokens gauge of service.
func tokensOf(t *testing.T, reg *prometheus.Registry, service string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == "scaled_aws_api_tokens" && l.GetName() == "service" && l.GetValue() == service {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no scaled_aws_api_tokens{service=%q}", service)
	return 0
}

// Every Aurora and RDS target of a region reads one account-wide listing,
// every page of it, once per listing_max_age; a target scaled just changed
// reads its own cluster until a listing started after the change.
func TestAWSTargetsShareOnePagedListing(t *testing.T) {
	env := newAWSEnv(t, awsemu.Options{InstanceQuota: 1000})
	seedClusters(env, 130) // 130 clusters and 260 instances: 2 and 3 pages
	env.emu.AddInstance(awsemu.InstanceSpec{ID: "orders", Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1a", SubnetGroup: "orders-subnets"})
	for _, id := range []string{"orders-scaled-1", "orders-scaled-2"} {
		env.emu.AddInstance(awsemu.InstanceSpec{ID: id, Class: "db.m7g.large", Engine: "postgres", AZ: "us-east-1b", SourceID: "orders",
			Tags: []awsemu.Tag{{Key: TagOwner, Value: "db"}}})
	}
	r := NewAWSRegion(env.opts.Config, unlimited(10*time.Second), nil, env.clock)
	var targets []Actuator
	for i := range 130 {
		targets = append(targets, env.auroraIn(t, r, fmt.Sprintf("c%03d", i)))
	}
	o := env.opts
	o.Region = r
	source, err := NewRDS(RDSTarget{SourceInstance: "orders", ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: env.url}}, o)
	if err != nil {
		t.Fatal(err)
	}
	// calls lists the operations since the last call of it, as op, or
	// op(identifier) for a call about one cluster. A retry is not one: a
	// large answer now and then loses its connection under the SDK
	// (aws/aws-sdk-go-v2#1825), which retries it.
	seen := 0
	calls := func() []string {
		all := env.emu.Calls()
		var out []string
		for _, c := range all[seen:] {
			switch {
			case c.Attempt > 1:
			case c.Params["DBClusterIdentifier"] != "" && c.Op == "DescribeDBClusters":
				out = append(out, c.Op+"("+c.Params["DBClusterIdentifier"]+")")
			case c.Params["Filters.Filter.1.Values.Value.1"] != "":
				out = append(out, c.Op+"("+c.Params["Filters.Filter.1.Values.Value.1"]+")")
			default:
				out = append(out, c.Op)
			}
		}
		seen = len(all)
		return out
	}
	readAll := func(want map[int]int32) {
		t.Helper()
		for i, a := range targets {
			w := int32(1)
			if n, ok := want[i]; ok {
				w = n
			}
			if cur, ready := mustRead(t, a); cur != w || ready != 1 {
				t.Fatalf("c%03d reads %d/%d, want %d/1", i, cur, ready, w)
			}
		}
		if cur, ready := mustRead(t, source); cur != 2 || ready != 2 {
			t.Fatalf("orders reads %d/%d replicas, want 2/2", cur, ready)
		}
	}
	listing := []string{"DescribeDBClusters", "DescribeDBClusters", "DescribeDBInstances", "DescribeDBInstances", "DescribeDBInstances"}

	readAll(nil)
	if diff := cmp.Diff(listing, calls()); diff != "" {
		t.Errorf("131 targets read (-want +got): every page of one listing, nothing else:\n%s", diff)
	}
	env.clock.Step(5 * time.Second)
	readAll(nil)
	if got := calls(); len(got) != 0 {
		t.Errorf("within listing_max_age the targets read again: %v", got)
	}
	env.clock.Step(15 * time.Second) // twice listing_max_age: the first target waits for a new listing
	readAll(nil)
	if diff := cmp.Diff(listing, calls()); diff != "" {
		t.Errorf("after twice listing_max_age (-want +got): one new listing:\n%s", diff)
	}

	// A change: c007 reads its own cluster until a listing started after it.
	if err := targets[7].Set(context.Background(), 2, "up"); err != nil {
		t.Fatal(err)
	}
	readAll(map[int]int32{7: 2})
	if diff := cmp.Diff([]string{"CreateDBInstance", "DescribeDBClusters(c007)", "DescribeDBInstances(c007)"}, calls()); diff != "" {
		t.Errorf("after a creation in c007 (-want +got):\n%s", diff)
	}
	env.clock.Step(20 * time.Second)
	readAll(map[int]int32{7: 2})
	if diff := cmp.Diff(listing, calls()); diff != "" {
		t.Errorf("once a listing started after the change (-want +got): c007 back on it:\n%s", diff)
	}
}

// A reload's limits apply at once to the targets already built.
func TestAWSRegionTakesNewLimits(t *testing.T) {
	env := newAWSEnv(t, awsemu.Options{})
	seedClusters(env, 1)
	r := NewAWSRegion(env.opts.Config, unlimited(0), nil, env.clock)
	a := env.auroraIn(t, r, "c000")
	mustRead(t, a)
	r.SetLimits(AWSLimits{RDS: AWSServiceLimit{RequestsPerSecond: 0.01, Burst: 1}, Lambda: AWSServiceLimit{RequestsPerSecond: 1, Burst: 1},
		ListingMaxAge: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := a.Read(ctx)
	wantKind(t, err, AWSThrottled, "0.01 requests per second with a burst of 1")
	if got := r.listingMaxAge(); got != 5*time.Second {
		t.Errorf("listing max age %s, want the new 5s", got)
	}
}
