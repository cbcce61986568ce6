package actuators

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/awsemu"
)

// fleetRun is what a fleet of Aurora targets in one account did.
type fleetRun struct {
	reads, failed    int     // target reads, and those that failed
	firstErr         error   // the first failure
	requests         int     // RDS requests the account answered
	throttled        int     // of which ThrottlingException
	mean, peak       float64 // requests per second over the run, and in the busiest second
	seconds          float64
	perTargetPerTick float64
}

// runFleet runs targets Aurora targets, each with its writer and one
// reader, in one emulated account that throttles at RDS's documented limit
// (300 of burst, 12 per second), in real time: each reads its cluster every
// interval for ticks ticks, at its own offset in the interval as the
// daemon staggers scalers, with the interval as deadline.
func runFleet(t *testing.T, targets, ticks int, interval time.Duration, limits AWSLimits) fleetRun {
	t.Helper()
	clk := clock.RealClock{}
	emu := awsemu.New(clk, awsemu.Options{InstanceQuota: 2 * targets,
		RequestLimits: map[string]awsemu.RequestLimit{awsemu.ServiceRDS: awsemu.RDSRequestLimit}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	env := &awsEnv{emu: emu, url: srv.URL}
	seedClusters(env, targets)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer: func() aws.Retryer { return NewAWSRetryer(DefaultAWSMaxAttempts, 200*time.Millisecond) }}
	r := NewAWSRegion(cfg, limits, nil, clk)
	var acts []*Aurora
	for i := range targets {
		a, err := NewAurora(AuroraTarget{ClusterIdentifier: fmt.Sprintf("c%03d", i), ReplicaOptions: ReplicaOptions{Owner: "db", Endpoint: srv.URL}},
			AWSOptions{Config: cfg, Region: r, Scaler: "db", Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		acts = append(acts, a)
	}
	// The first listing, which the first tick of every target waits for.
	if _, err := acts[0].Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(100 * time.Millisecond)
	var mu sync.Mutex
	var run fleetRun
	var wg sync.WaitGroup
	for i, a := range acts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			offset := interval * time.Duration(i) / time.Duration(targets)
			for k := range ticks {
				time.Sleep(time.Until(start.Add(time.Duration(k)*interval + offset)))
				ctx, cancel := context.WithTimeout(context.Background(), interval)
				c, err := a.Read(ctx)
				cancel()
				if err == nil && (c.Current != 1 || c.Ready != 1) {
					err = fmt.Errorf("c%03d reads %d/%d, want 1/1", i, c.Current, c.Ready)
				}
				mu.Lock()
				run.reads++
				if err != nil {
					run.failed++
					if run.firstErr == nil {
						run.firstErr = err
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	end := time.Now()
	perSecond := map[int64]int{}
	for _, c := range emu.Calls() {
		if c.Service != awsemu.ServiceRDS || c.At.Before(start) {
			continue
		}
		run.requests++
		if c.Code == "ThrottlingException" {
			run.throttled++
		}
		perSecond[c.At.Sub(start).Milliseconds()/1000]++
	}
	run.seconds = end.Sub(start).Seconds()
	run.mean = float64(run.requests) / run.seconds
	var counts []int
	for _, n := range perSecond {
		counts = append(counts, n)
	}
	sort.Ints(counts)
	if len(counts) > 0 {
		run.peak = float64(counts[len(counts)-1])
	}
	run.perTargetPerTick = float64(run.requests) / float64(run.reads)
	return run
}

func (f fleetRun) String() string {
	return fmt.Sprintf("%d reads (%d failed), %d RDS requests (%d throttled by the account) in %.1fs: mean %.2f/s, peak %.0f in one second, %.3f per read",
		f.reads, f.failed, f.requests, f.throttled, f.seconds, f.mean, f.peak, f.perTargetPerTick)
}

// 200 Aurora targets in one account stay within scaled's RDS budget (the
// defaults: 5 per second, burst 50) while every target reads its cluster
// every tick: one shared, paged listing per listing_max_age instead of two
// Describe calls per target per tick (about 133 per second here, which
// the account's 12 per second throttles).
//
//	go test ./pkg/actuators -run TestAWSBudgetOf200AuroraTargets -v
func TestAWSBudgetOf200AuroraTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 200 targets for 12 s of real time")
	}
	const targets, ticks, interval = 200, 4, 3 * time.Second
	limits := DefaultAWSLimits().Resolved(interval)
	run := runFleet(t, targets, ticks, interval, limits)
	t.Logf("listing_max_age %s: %s", limits.ListingMaxAge, run)
	if run.failed > 0 {
		t.Errorf("%d of %d reads failed, first: %v; every target must read each tick", run.failed, run.reads, run.firstErr)
	}
	if run.reads != targets*ticks {
		t.Errorf("%d reads, want %d", run.reads, targets*ticks)
	}
	if run.throttled > 0 {
		t.Errorf("the account throttled %d requests", run.throttled)
	}
	if want := limits.RDS.RequestsPerSecond; run.mean > want {
		t.Errorf("mean %.2f RDS requests per second, over the budget's %g", run.mean, want)
	}
	if want := float64(limits.RDS.Burst) + limits.RDS.RequestsPerSecond; run.peak > want {
		t.Errorf("peak %.0f RDS requests in one second, over the budget's burst and rate, %g", run.peak, want)
	}
}

// The same fleet with each target reading its own cluster (2 Describe
// calls per read, as before the shared listing) asks the account for about
// 133 requests per second: far over the budget, and throttled by the
// account's own 12 per second. This is the figure the shared listing
// removes.
//
//	go test ./pkg/actuators -run TestAWSBudgetOf200AuroraTargetsReadingAlone -v
func TestAWSBudgetOf200AuroraTargetsReadingAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 200 targets for 6 s of real time")
	}
	const targets, ticks, interval = 200, 2, 3 * time.Second
	// No budget and no shared listing: what each target's own client did.
	limits := AWSLimits{RDS: AWSServiceLimit{RequestsPerSecond: 1e6, Burst: 1e6}, Lambda: AWSServiceLimit{RequestsPerSecond: 1e6, Burst: 1e6}}
	run := runFleet(t, targets, ticks, interval, limits)
	t.Logf("each target reading its own cluster: %s", run)
	if run.throttled == 0 || run.mean <= DefaultRDSRequestsPerSecond {
		t.Errorf("reading alone stayed within the budget (%s): the fleet test above would not show what sharing saves", run)
	}
}
