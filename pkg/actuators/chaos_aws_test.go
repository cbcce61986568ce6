package actuators_test

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/internal/awsemu"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// The chaos test drives an Aurora target through the real engine (its
// policies and guards built from examples/aws, a fake clock) while the
// emulator fails the cluster over, lags, lingers on deletions, degrades
// and kills readers, runs out of capacity in zones and backs the cluster
// up. Whatever happens, scaled must never delete a writer or a reader it did
// not create, nor a serving reader when that leaves fewer than min_readers
// serving; once the chaos stops it must settle on the count the load asks for.
//
// DescribeDBClusters lags the truth by chaosClusterLag, six times the
// failover: for two and a half minutes after a failover it still names the
// old writer, and lists the reader Aurora promoted as a reader. RDS events
// show chaosEventLag late. Answers are lost (the call was carried out) and
// calls throttled at random.

const (
	chaosTick        = 15 * time.Second
	chaosFailover    = 30 * time.Second
	chaosClusterLag  = 3 * time.Minute
	chaosEventLag    = 20 * time.Second
	chaosInstanceLag = 10 * time.Second
	chaosTarget      = 0.6 // the examples' target utilisation
	settledOn        = 4   // readers the calm load asks for
)

var chaosT0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func TestAuroraChaos(t *testing.T) {
	type run struct {
		name, config string
		chaosTicks   int
		seed         int64
		long         bool
	}
	runs := []run{
		{name: "kind defaults", config: "aurora.yaml", chaosTicks: 2880, seed: 1},           // 12 h
		{name: "pod-like guards", config: "aurora_podlike.yaml", chaosTicks: 2880, seed: 1}, // 12 h
	}
	for seed := int64(1); seed <= 8; seed++ { // 2 days each
		runs = append(runs, run{name: fmt.Sprintf("kind defaults, 2 days, seed %d", seed), config: "aurora.yaml", chaosTicks: 11520, seed: seed, long: true})
	}
	runs = append(runs, run{name: "pod-like guards, 2 days", config: "aurora_podlike.yaml", chaosTicks: 11520, seed: 1, long: true})
	for _, tc := range runs {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.long && (testing.Short() || raceDetector):
				t.Skip("the long chaos runs skip in -short and under the race detector")
			case raceDetector:
				tc.chaosTicks /= 4
			}
			if tc.long {
				t.Parallel()
			}
			w := newChaosWorld(t, tc.config, tc.seed)
			w.run(tc.chaosTicks)
		})
	}
}

// chaosCounts is what happened, for the log and the assertions.
type chaosCounts struct {
	ChaosTicks, CalmTicks                   int
	Failovers, Degraded, Killed, ZoneFlips  int
	Throttled, Lost                         int
	ClusterHolds, DeletePhaseChanges        int
	Created, CreateRefused, Deleted         int
	DeadDeleted                             int
	WriterDeletes, ForeignDeletes, BelowMin int
	MaxReaders                              int
	Outcomes                                map[scaling.Outcome]int
	SettledAfter                            time.Duration
}

type chaosWorld struct {
	t     *testing.T
	emu   *awsemu.Emulator
	clk   *clocktesting.FakeClock
	rnd   *rand.Rand
	sc    *engine.Scaler
	act   *actuators.Aurora
	owner string
	min   int

	mu     sync.Mutex // counts, which the emulator's handler writes too
	counts chaosCounts

	demand   float64   // load in readers at 100 %
	holdTill time.Time // the cluster goes back to available then
	calm     bool
}

func newChaosWorld(t *testing.T, example string, seed int64) *chaosWorld {
	t.Helper()
	data, err := os.ReadFile("../../examples/aws/" + example)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Scalers[0]
	aurora := sc.Target.Spec.(*actuators.AuroraTarget)
	clk := clocktesting.NewFakeClock(chaosT0)
	w := &chaosWorld{t: t, clk: clk, rnd: rand.New(rand.NewSource(seed)), owner: sc.Name, min: int(aurora.MinReaders),
		demand: settledOn * chaosTarget, counts: chaosCounts{Outcomes: map[scaling.Outcome]int{}}}
	w.emu = awsemu.New(clk, awsemu.Options{
		CreateDelay: 10 * time.Minute, DeleteDelay: 5 * time.Minute, FailoverDelay: chaosFailover,
		ClusterLag: chaosClusterLag, EventLag: chaosEventLag, InstanceLag: chaosInstanceLag, InstanceQuota: 100,
		DeletePhases: []awsemu.Phase{{Status: "", For: 30 * time.Second}, {Status: "delete-precheck", For: time.Minute}},
	})
	zones := []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}
	w.emu.AddCluster(awsemu.ClusterSpec{ID: aurora.ClusterIdentifier, Engine: "aurora-postgresql", EngineVersion: "16.4",
		WriterID: "orders-writer", WriterClass: "db.r7g.large", SubnetGroup: "orders-subnets", AZs: zones})
	w.emu.AddInstance(awsemu.InstanceSpec{ID: "orders-reporting", Class: "db.r7g.large", Engine: "aurora-postgresql", AZ: zones[1],
		ClusterID: aurora.ClusterIdentifier})
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)

	target := *aurora
	target.Endpoint = srv.URL
	w.act, err = actuators.NewAurora(target, actuators.AWSOptions{
		Config: aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
			Retryer: func() aws.Retryer { return actuators.NewAWSRetryer(actuators.DefaultAWSMaxAttempts, time.Millisecond) }},
		Scaler: sc.Name, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cfg.Resolve(sc)
	if err != nil {
		t.Fatal(err)
	}
	dec, errs := r.NewDecider()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	w.sc = engine.NewScaler(engine.ScalerSpec{
		Name: sc.Name, Decider: dec, Actuator: w.act, Interval: chaosTick, QueryTimeout: 5 * time.Second,
		Signals: []engine.Signal{{Name: sc.Signals[0].Name, Expr: sc.Signals[0].Expr(), MaxAge: sc.Signals[0].MaxAge, Source: w}},
	}, nil, nil, nil)
	return w
}

// ServeHTTP checks every deletion against the emulator's true state before
// the emulator carries it out.
func (w *chaosWorld) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.ParseForm() == nil && r.PostForm.Get("Action") == "DeleteDBInstance" {
		w.checkDelete(r.PostForm.Get("DBInstanceIdentifier"))
	}
	w.emu.ServeHTTP(rw, r)
}

func (w *chaosWorld) checkDelete(id string) {
	var target *awsemu.InstanceState
	serving := 0
	for _, in := range w.emu.Instances() {
		if in.ID == id {
			target = &in
		}
		if in.ClusterID != "" && !in.Writer && !in.DeleteAsked && in.ID != id && awsemu.Serving(in.Status) {
			serving++
		}
	}
	if target == nil || target.DeleteAsked {
		return // AWS refuses it
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	at := w.clk.Now().Sub(chaosT0)
	switch {
	case target.Writer:
		w.counts.WriterDeletes++
		w.t.Errorf("at %s: deleting %s, the writer", at, id)
	case target.Tags[actuators.TagOwner] != w.owner:
		w.counts.ForeignDeletes++
		w.t.Errorf("at %s: deleting %s, a reader scaled did not create", at, id)
	case awsemu.Serving(target.Status) && serving < w.min:
		w.counts.BelowMin++
		w.t.Errorf("at %s: deleting %s (%s) leaves %d readers serving, below min_readers %d", at, id, target.Status, serving, w.min)
	}
	if !awsemu.Serving(target.Status) {
		w.counts.DeadDeleted++
	}
}

// Query answers the utilisation signal: the load over the readers that
// serve, as CloudWatch's reader CPU would; none serving is an empty result.
func (w *chaosWorld) Query(_ context.Context, _ string, ts time.Time) (scaling.Sample, error) {
	serving := len(w.serving())
	if serving == 0 {
		return scaling.Sample{}, scaling.Fail(scaling.FailureEmpty, "no reader reports its CPU")
	}
	return scaling.Sample{Time: ts, Value: w.demand / float64(serving)}, nil
}

func (w *chaosWorld) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) ([]scaling.Sample, error) {
	return nil, fmt.Errorf("not used")
}

// serving lists the readers that serve now, deletion not asked.
func (w *chaosWorld) serving() []awsemu.InstanceState {
	var out []awsemu.InstanceState
	for _, in := range w.emu.Instances() {
		if in.ClusterID != "" && !in.Writer && !in.DeleteAsked && awsemu.Serving(in.Status) {
			out = append(out, in)
		}
	}
	return out
}

func (w *chaosWorld) run(chaosTicks int) {
	ctx := context.Background()
	for i := 0; i < chaosTicks; i++ {
		w.tick(ctx)
	}
	w.settle()
	const calmTicks = 2400 // 10 h: from 15 readers, 11 deletions 600 s apart after a 1800 s window
	stable := 0
	for i := 0; i < calmTicks && stable < 120; i++ {
		w.tick(ctx)
		w.counts.CalmTicks++
		c, err := w.act.Read(ctx)
		switch {
		case err == nil && c.Current == settledOn && c.Ready == settledOn && len(w.serving()) == settledOn:
			if stable == 0 {
				w.counts.SettledAfter = time.Duration(w.counts.CalmTicks) * chaosTick
			}
			stable++
		default:
			stable = 0
		}
	}
	w.tally()
	w.t.Logf("%+v", w.counts)
	if stable < 120 {
		w.t.Errorf("not settled on %d readers after %d calm ticks: %s", settledOn, calmTicks, w.describe())
	}
	// Dead readers go at the next change (Set); a reader that died while the
	// count was already right waits for one, which a constant calm load
	// never brings: ask for the count the target has, as the next change would.
	if c, err := w.act.Read(context.Background()); err == nil {
		if err := w.act.Set(context.Background(), c.Current, "the next change"); err != nil {
			w.t.Errorf("the next change: %v", err)
		}
	}
	for _, in := range w.emu.Instances() {
		if in.Tags[actuators.TagOwner] == w.owner && !awsemu.Serving(in.Status) && !in.DeleteAsked {
			w.t.Errorf("%s (%s), scaled's, is still there once settled", in.ID, in.Status)
		}
	}
	if !raceDetector && (w.counts.Deleted == 0 || w.counts.Failovers == 0 || w.counts.Killed == 0 || w.counts.CreateRefused == 0) {
		w.t.Errorf("the chaos did not exercise the target: %+v", w.counts)
	}
}

func (w *chaosWorld) tick(ctx context.Context) {
	d := w.sc.Tick(ctx, w.clk.Now())
	w.mu.Lock()
	w.counts.Outcomes[d.Outcome]++
	if !w.calm {
		w.counts.ChaosTicks++
	}
	w.mu.Unlock()
	readers := 0
	for _, in := range w.emu.Instances() {
		if in.ClusterID != "" && !in.Writer {
			readers++
		}
	}
	w.counts.MaxReaders = max(w.counts.MaxReaders, readers)
	// The chaos strikes between ticks, at least InstanceLag before the next,
	// so that what DescribeDBInstances shows then is what is true.
	w.clk.Step(chaosTick - chaosInstanceLag)
	if !w.calm {
		w.stir()
	}
	w.clk.Step(chaosInstanceLag)
}

// tally counts the writes the emulator answered since the last tally.
func (w *chaosWorld) tally() {
	w.counts.Created, w.counts.CreateRefused, w.counts.Deleted = 0, 0, 0
	for _, c := range w.emu.Calls() {
		switch {
		case c.Op == "CreateDBInstance" && (c.Code == "" || c.Lost):
			w.counts.Created++
		case c.Op == "CreateDBInstance":
			w.counts.CreateRefused++
		case c.Op == "DeleteDBInstance" && (c.Code == "" || c.Lost):
			w.counts.Deleted++
		}
	}
}

// stir applies this tick's chaos.
func (w *chaosWorld) stir() {
	r, now := w.rnd, w.clk.Now()
	cluster := w.emu.Cluster("orders")
	w.demand = math.Min(8, math.Max(0.3, w.demand*math.Exp(r.NormFloat64()*0.03)))
	if r.Float64() < 0.002 {
		w.demand = math.Min(8, w.demand*2)
	}
	if !w.holdTill.IsZero() && !now.Before(w.holdTill) {
		if cluster.Status != awsemu.StatusFailingOver {
			w.emu.SetClusterStatus("orders", "available")
		}
		w.holdTill = time.Time{}
	}
	readers := w.serving()
	switch x := r.Float64(); {
	case x < 0.004 && cluster.Status == "available" && w.holdTill.IsZero():
		target := ""
		if len(readers) > 0 && r.Intn(2) == 0 {
			target = readers[r.Intn(len(readers))].ID
		}
		w.emu.Failover("orders", target, r.Intn(2) == 0)
		w.counts.Failovers++
	case x < 0.005 && cluster.Status == "available" && w.holdTill.IsZero():
		w.emu.SetClusterStatus("orders", []string{"backing-up", "modifying", "upgrading"}[r.Intn(3)])
		w.holdTill = now.Add(time.Duration(1+r.Intn(20)) * time.Minute)
		w.counts.ClusterHolds++
	case x < 0.008 && len(readers) > 0:
		w.emu.SetInstanceStatus(readers[r.Intn(len(readers))].ID, []string{"failed", "incompatible-parameters", "inaccessible-encryption-credentials"}[r.Intn(3)])
		w.counts.Killed++
	case x < 0.03 && len(readers) > 0:
		status := []string{"modifying", "backing-up", "configuring-log-exports", "rebooting", "upgrading", "storage-optimization"}[r.Intn(6)]
		w.emu.DegradeInstance(readers[r.Intn(len(readers))].ID, status, time.Duration(1+r.Intn(20))*time.Minute)
		w.counts.Degraded++
	case x < 0.04:
		w.emu.SetZoneCapacity([]string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}[r.Intn(3)], r.Intn(2) == 0)
		w.counts.ZoneFlips++
	case x < 0.05:
		w.emu.Throttle("*", 1+r.Intn(3))
		w.counts.Throttled++
	case x < 0.06:
		w.emu.LoseAnswers([]string{"CreateDBInstance", "DeleteDBInstance", "DescribeDBInstances", "DescribeDBClusters", "DescribeEvents"}[r.Intn(5)], 1)
		w.counts.Lost++
	case x < 0.062:
		w.emu.SetDeletePhases(awsemu.Phase{Status: "", For: time.Duration(r.Intn(180)) * time.Second},
			awsemu.Phase{Status: []string{"delete-precheck", "modifying", "configuring-log-exports"}[r.Intn(3)], For: time.Duration(r.Intn(300)) * time.Second})
		w.counts.DeletePhaseChanges++
	}
}

// settle ends the chaos: every zone has room, the cluster is available,
// and the load asks for settledOn readers from now on.
func (w *chaosWorld) settle() {
	w.calm = true
	for _, z := range []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"} {
		w.emu.SetZoneCapacity(z, true)
	}
	for w.emu.Cluster("orders").Status == awsemu.StatusFailingOver {
		w.tick(context.Background())
	}
	w.emu.SetClusterStatus("orders", "available")
	w.holdTill = time.Time{}
	w.demand = settledOn * chaosTarget
}

func (w *chaosWorld) describe() string {
	var parts []string
	for _, in := range w.emu.Instances() {
		parts = append(parts, fmt.Sprintf("%s %s writer=%v asked=%v owner=%s", in.ID, in.Status, in.Writer, in.DeleteAsked, in.Tags[actuators.TagOwner]))
	}
	sort.Strings(parts)
	c, err := w.act.Read(context.Background())
	return fmt.Sprintf("read %+v %v, status %q, instances %v", c, err, w.act.Status(), parts)
}
