package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// replicaModel is SIMULATION.md's replica rule: an increase becomes ready S
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

// referenceHPA transcribes SIMULATION.md "The HPA reference, exactly". An
// entry is forgotten once it is 300 s old, the same strict window as HPA's
// After(cutoff).
type referenceHPA struct {
	u, mu   float64
	max     int32
	history []timedRecommendation
}

func (h *referenceHPA) step(now time.Time, demand float64, n, r int32) int32 {
	util := demand / (float64(n) * h.mu)
	ratio := util / h.u
	var desired int32
	if math.Abs(ratio-1) <= 0.1 {
		desired = r
	} else {
		desired = int32(math.Ceil(ratio * float64(n)))
		if ratio > 1 && desired < r {
			desired = r
		}
	}
	desired = min(max(desired, 1), h.max)
	kept := h.history[:0]
	for _, e := range h.history {
		if now.Sub(e.at) < 300*time.Second {
			kept = append(kept, e)
		}
	}
	h.history = append(kept, timedRecommendation{desired, now})
	switch {
	case desired < r:
		hi := desired
		for _, e := range h.history {
			hi = max(hi, e.replicas)
		}
		return min(r, hi)
	case desired > r:
		return min(desired, max(r+4, 2*r))
	}
	return r
}

// The Decider with a utilisation target and DefaultBehavior must give the
// same requested count at every tick as the SIMULATION.md reference, on a
// demand that rises, spikes, falls and idles.
func TestDeciderMatchesSimulationHPAReference(t *testing.T) {
	const (
		mu      = 10.0
		maxR    = 200
		tick    = 15 * time.Second
		startup = 60 * time.Second
	)
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
		t.Run("u="+strconv.FormatFloat(u, 'f', 1, 64), func(t *testing.T) {
			r0 := max(1, int32(math.Ceil(demand[0]/(mu*u))))
			ref := &referenceHPA{u: u, mu: mu, max: maxR}
			refModel := &replicaModel{ready: r0}
			p := mustTT(t, "hpa", "utilisation", TargetUtilization, u)
			d := mustDecider(t, Spec{Policies: []Policy{p}, Bounds: Bounds{Min: 1, Max: maxR}, Behavior: DefaultBehavior()})
			model := &replicaModel{ready: r0}
			changes := 0
			for i, lambda := range demand {
				now := t0.Add(time.Duration(i) * tick)
				refModel.advance(now)
				model.advance(now)

				want := ref.step(now, lambda, refModel.ready, refModel.requested())
				refModel.set(now, want, startup)

				cur := model.requested()
				dec := d.Decide(Input{Now: now, Capacity: scaling.Capacity{Current: cur, Ready: model.ready}, Signals: map[string]scaling.Reading{
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

// pkg/policy decides and never touches the world: no I/O packages, no clock.
func TestPolicyPackageDoesNoIO(t *testing.T) {
	forbidden := map[string]bool{"os": true, "os/exec": true, "net": true, "net/http": true, "io": true, "io/ioutil": true,
		"io/fs": true, "bufio": true, "syscall": true, "log": true, "log/slog": true, "unsafe": true, "math/rand": true, "math/rand/v2": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		timeName := ""
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[path] || strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "os/") {
				t.Errorf("%s imports %q", f, path)
			}
			if path == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName {
				switch sel.Sel.Name {
				case "Now", "Since", "Until", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick":
					t.Errorf("%s: time.%s reads or waits on the clock", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
	if checked < 4 {
		t.Errorf("checked only %d files", checked)
	}
}
