package simulate

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/simulate")

// tracesDir holds the recorded traces: testdata/traces, or $SCALED_TRACES.
func tracesDir() string {
	if d := os.Getenv("SCALED_TRACES"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "testdata", "traces")
}

func loadModel(t testing.TB, name string) *Model {
	t.Helper()
	tr, err := sources.LoadTrace(filepath.Join(tracesDir(), name+".csv"))
	if os.IsNotExist(err) || (err != nil && strings.Contains(err.Error(), "no such file")) {
		t.Skipf("trace %s not found (set SCALED_TRACES): %v", name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return mustModel(t, tr, DefaultParams())
}

func TestNewHPAReferenceRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mu, u   float64
		max     int32
		wantErr string
	}{
		{"u zero", 10, 0, 10, "target utilisation: 0: must be in (0, 1]"},
		{"u above one", 10, 1.5, 10, "target utilisation: 1.5: must be in (0, 1]"},
		{"max", 10, 0.5, 0, "max replicas: 0: must be >= 1"},
		{"mu", 0, 0.5, 10, "mu: 0: must be > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewHPAReference(tc.mu, tc.u, tc.max); err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestHPAReferenceDecide(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	obs := func(s int, demand float64, ready, requested int32) Observation {
		return Observation{Time: at(s), WindowTicks: 4, Demand: demand, Ready: ready, Requested: requested}
	}
	for _, tc := range []struct {
		name  string
		max   int32
		steps []Observation
		want  []int32
	}{
		{"within tolerance holds", 100, []Observation{obs(0, 54, 10, 10)}, []int32{10}},
		{"outside tolerance follows ceil(ratio*N)", 100, []Observation{obs(0, 56, 10, 10)}, []int32{12}},
		{"scale up limited to R+4 when small", 100, []Observation{obs(0, 100, 4, 4)}, []int32{8}},
		{"scale up limited to 2R when large", 100, []Observation{obs(0, 300, 10, 10)}, []int32{20}},
		{"scale up never below R while replicas are pending", 100, []Observation{obs(0, 30, 5, 10)}, []int32{10}},
		{"clamped to max", 12, []Observation{obs(0, 100, 10, 10)}, []int32{12}},
		{"clamped to 1", 100, []Observation{obs(0, 0, 3, 3)}, []int32{1}},
		{"first tick without observation holds", 100, []Observation{{Time: at(0), Demand: math.NaN(), Ready: 3, Requested: 3}}, []int32{3}},
		{
			"scale down waits until the high recommendation is 300 s old", 100,
			[]Observation{obs(0, 50, 10, 10), obs(15, 20, 10, 10), obs(285, 20, 10, 10), obs(300, 20, 10, 10)},
			[]int32{10, 10, 10, 4},
		},
		{
			"scale down goes to the highest recent recommendation", 100,
			[]Observation{obs(0, 50, 10, 10), obs(100, 35, 10, 10), obs(200, 20, 10, 10), obs(300, 20, 10, 10), obs(400, 20, 10, 10)},
			[]int32{10, 10, 10, 7, 4},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHPAReference(10, 0.5, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			var got []int32
			for _, o := range tc.steps {
				got = append(got, h.Decide(o))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHPAReferenceInitialReplicas(t *testing.T) {
	h, _ := NewHPAReference(10, 0.5, 20)
	for demand, want := range map[float64]int32{0: 1, 41.6: 9, 45: 9, 45.1: 10, 1000: 20} {
		if got := h.InitialReplicas(demand); got != want {
			t.Errorf("InitialReplicas(%v) = %d, want %d", demand, got, want)
		}
	}
}

// hpaReferenceMax is the replica cap used for the reference figures: far
// above any trace's need (the oracle peaks below 250), so it never binds.
const hpaReferenceMax = 1000

// figure is one cell of docs/model.md's reference table.
type figure struct {
	violating, cost float64
	actions         int
}

// publishedFigures is docs/model.md's HPA reference table, per trace, for
// u = 0.5, 0.6 and 0.7 (violating fraction / cost vs oracle / scale actions).
var publishedFigures = []struct {
	trace string
	want  [3]figure
}{
	{"nasa_http_aug95", [3]figure{{0.0469, 1.92, 18431}, {0.1272, 1.60, 17769}, {0.2494, 1.38, 17052}}},
	{"saskatchewan_http_1995", [3]figure{{0.0000, 1.38, 9577}, {0.0000, 1.15, 8920}, {0.3904, 0.99, 8352}}},
	{"worldcup98", [3]figure{{0.0004, 1.45, 9986}, {0.0057, 1.21, 8986}, {0.3285, 1.04, 8138}}},
}

// TestHPAReferenceReproducesReferenceFigures checks that this model is the one
// docs/model.md's figures were made with. Scale actions count the initial
// setting at tick 0, as the published figures do, and must match exactly.
func TestHPAReferenceReproducesReferenceFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("replays three real traces (about 1 s)")
	}
	eachPublishedFigure(t, func(t *testing.T, m *Model, u float64, w figure) {
		s := RunHPAReference(m, u, hpaReferenceMax)
		nearPublished(t, u, s, w)
		if s.ScaleActions != w.actions {
			t.Errorf("u=%.1f: scale actions %d, reference %d", u, s.ScaleActions, w.actions)
		}
	})
}

// eachPublishedFigure runs check on each trace of publishedFigures at u =
// 0.5, 0.6 and 0.7, with the figures published for it: each trace and
// each u a parallel subtest (the model is read only), so that the long
// traces replay side by side.
func eachPublishedFigure(t *testing.T, check func(t *testing.T, m *Model, u float64, want figure)) {
	for _, tc := range publishedFigures {
		t.Run(tc.trace, func(t *testing.T) {
			t.Parallel()
			m := loadModel(t, tc.trace)
			for i, u := range []float64{0.5, 0.6, 0.7} {
				t.Run(fmt.Sprintf("u=%.1f", u), func(t *testing.T) {
					t.Parallel()
					check(t, m, u, tc.want[i])
				})
			}
		})
	}
}

// nearPublished holds score s at utilisation u to the published figure w:
// violating fraction within 10 % or 0.005, cost within 5 %.
func nearPublished(t *testing.T, u float64, s Score, w figure) {
	t.Helper()
	t.Logf("u=%.1f: %.4f / %.2f / %d   reference %.4f / %.2f / %d",
		u, s.ViolatingRequestFraction, s.CostVsOracle, s.ScaleActions, w.violating, w.cost, w.actions)
	if d := math.Abs(s.ViolatingRequestFraction - w.violating); d > 0.005 && d > 0.1*w.violating {
		t.Errorf("u=%.1f: violating fraction %.4f, reference %.4f", u, s.ViolatingRequestFraction, w.violating)
	}
	if math.Abs(s.CostVsOracle-w.cost) > 0.05*w.cost {
		t.Errorf("u=%.1f: cost vs oracle %.3f, reference %.2f", u, s.CostVsOracle, w.cost)
	}
}

// TestHPAReferenceGoldenTimeline pins a short run tick by tick: a 20-minute
// trace with a flash crowd that saturates the replicas before new ones are
// ready. Regenerate after an intended change with
//
//	go test ./pkg/simulate -run TestHPAReferenceGoldenTimeline -update
func TestHPAReferenceGoldenTimeline(t *testing.T) {
	values := []float64{30, 30, 32, 31, 30, 60, 150, 240, 240, 200, 120, 60, 31, 30, 28, 0, 0, 30, 31, 30}
	m := mustModel(t, trace(time.Minute, values...), DefaultParams())
	run, err := PlayHPAReference(m, 0.6, 100, WithTimeline())
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "hpa_flash_crowd_timeline.csv", timelineCSV(t, m, run.Timeline()))
}

// timelineCSV is a run's timeline of model m as WriteTimeline writes it;
// the timeline must have a row per tick of m.
func timelineCSV(t *testing.T, m *Model, timeline []Row) []byte {
	t.Helper()
	if len(timeline) != m.Ticks() {
		t.Fatalf("timeline has %d rows, want %d", len(timeline), m.Ticks())
	}
	var buf bytes.Buffer
	if err := WriteTimeline(&buf, timeline); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compareGolden compares got with testdata/simulate/name, or rewrites the
// file when the test runs with -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("..", "..", "testdata", "simulate", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func BenchmarkHPAReference28Days(b *testing.B) {
	m := loadModel(b, "nasa_http_aug95")
	if m.Ticks() != 161280 {
		b.Fatalf("nasa trace has %d ticks, want 161280", m.Ticks())
	}
	b.ReportAllocs()
	for b.Loop() {
		RunHPAReference(m, 0.6, hpaReferenceMax)
	}
}

// replicaModel is docs/model.md's replica rule: an increase becomes ready S
// later; a decrease removes pending replicas first (newest first), then
// ready ones.
type replicaModel struct {
	ready   int32
	pending []time.Time // ready times, oldest first
}

func (m *replicaModel) advance(now time.Time) {
	for len(m.pending) > 0 && !m.pending[0].After(now) {
		m.ready++
		m.pending = m.pending[1:]
	}
}

func (m *replicaModel) requested() int32 { return m.ready + int32(len(m.pending)) }

func (m *replicaModel) set(now time.Time, r int32, startup time.Duration) {
	for m.requested() < r {
		m.pending = append(m.pending, now.Add(startup))
	}
	for m.requested() > r {
		if len(m.pending) > 0 {
			m.pending = m.pending[:len(m.pending)-1]
		} else {
			m.ready--
		}
	}
}

// pkg/policy's Decider with a utilisation target and DefaultBehavior gives
// the same requested count at every tick as the HPA reference, on a demand
// that rises, spikes, falls and idles.
func TestDeciderMatchesTheHPAReference(t *testing.T) {
	const (
		mu      = 10.0
		maxR    = 200
		tick    = 15 * time.Second
		startup = 60 * time.Second
	)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(1))
	var demand []float64
	level := 40.0
	for i := 0; i < 2000; i++ {
		switch i % 400 {
		case 100:
			level *= 4 // a spike
		case 160:
			level /= 4
		case 300:
			level = 3 // near idle
		case 340:
			level = 40 + rng.Float64()*60
		}
		level *= 1 + (rng.Float64()-0.5)*0.08
		demand = append(demand, level)
	}
	for _, u := range []float64{0.5, 0.6, 0.7} {
		t.Run(fmt.Sprintf("u=%.1f", u), func(t *testing.T) {
			ref, err := NewHPAReference(mu, u, maxR)
			if err != nil {
				t.Fatal(err)
			}
			p, err := policy.NewTargetTracking("hpa", "utilisation", policy.TargetUtilization, u, policy.DefaultTolerance)
			if err != nil {
				t.Fatal(err)
			}
			d, errs := policy.NewDecider(policy.Spec{Policies: []policy.Policy{p}, Bounds: policy.Bounds{Min: 1, Max: maxR}, Behavior: policy.DefaultBehavior()}, nil)
			if errs != nil {
				t.Fatal(errs)
			}
			r0 := ref.InitialReplicas(demand[0])
			refModel, model := &replicaModel{ready: r0}, &replicaModel{ready: r0}
			changes := 0
			for i, lambda := range demand {
				now := t0.Add(time.Duration(i) * tick)
				refModel.advance(now)
				model.advance(now)

				want := ref.Decide(Observation{Time: now, WindowTicks: 1, Demand: lambda, Ready: refModel.ready, Requested: refModel.requested()})
				refModel.set(now, want, startup)

				cur := model.requested()
				dec := d.Decide(policy.Input{Now: now, Capacity: scaling.Capacity{Current: cur, Ready: model.ready}, Signals: map[string]scaling.Reading{
					"utilisation": {Name: "utilisation", Sample: scaling.Sample{Time: now, Value: lambda / (float64(model.ready) * mu)}},
				}})
				if dec.Desired != cur {
					d.Scaled(now, cur, dec.Desired)
					model.set(now, dec.Desired, startup)
					changes++
				}
				if dec.Desired != want {
					t.Fatalf("tick %d (demand %.1f, ready %d, requested %d): Decider %d, reference %d\n%+v", i, lambda, model.ready, cur, dec.Desired, want, dec)
				}
			}
			if changes < 20 {
				t.Errorf("only %d scale actions: the sequence does not exercise the guards", changes)
			}
		})
	}
}
