package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scaled-dev/scaled/pkg/simulate"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// tune runs scaled tune with args and --format json, and returns the
// report; it fails the test on a non-zero exit.
func tune(t *testing.T, args ...string) tuneReport {
	t.Helper()
	out, stderr, code := runScaled(t, append([]string{"tune", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("scaled tune %v: exit %d: %s", args, code, stderr)
	}
	var rep tuneReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	return rep
}

func TestTuneIsReproducibleWithASeed(t *testing.T) {
	tr := smallTrace(t)
	run := func(name string, seed string) (tuneReport, []byte) {
		out := filepath.Join(t.TempDir(), "tuned.yaml") // the header names it
		rep := tune(t, "--trace", tr, "--seed", seed, "--max-evaluations", "30", "--budget", "10m", "--out", out)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return rep, data
	}
	a, fileA := run("a.yaml", "7")
	b, fileB := run("b.yaml", "7")
	if string(fileA) != string(fileB) {
		t.Errorf("the same seed and --max-evaluations wrote different files:\n%s\n---\n%s", fileA, fileB)
	}
	if a.Evaluated != b.Evaluated || a.Evaluated < 20 {
		t.Errorf("evaluations %d and %d: want the same, at least 20", a.Evaluated, b.Evaluated)
	}
	for i := range a.Candidates {
		if diff := cmp.Diff(a.Candidates[i], b.Candidates[i], cmpopts.IgnoreUnexported(tuneCandidate{})); diff != "" {
			t.Fatalf("candidate %d differs between two runs with the same seed:\n%s", i, diff)
		}
	}
	c, _ := run("c.yaml", "8")
	same := len(c.Candidates) == len(a.Candidates)
	for i := 0; same && i < len(c.Candidates); i++ {
		same = c.Candidates[i].Race == a.Candidates[i].Race
	}
	if same {
		t.Errorf("seeds 7 and 8 scored the same %d candidates: the seed does not reach the search", len(a.Candidates))
	}
}

// A template whose bounds leave one replica: every candidate scores as the
// HPA does, none is better, and tune says so and emits the HPA-equivalent
// config, which scaled check takes.
func TestTuneFallsBackToTheHPAEquivalent(t *testing.T) {
	tmpl := strings.Replace(defaultTuneTemplate, "max: 1000", "max: 1", 1)
	path := filepath.Join(t.TempDir(), "one.yaml")
	if err := os.WriteFile(path, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "tuned.yaml")
	text, stderr, code := runScaled(t, "tune", "--config", path, "--trace", smallTrace(t), "--max-evaluations", "12", "--budget", "10m", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "No candidate was better than the HPA at u=0.6 in the search part"; !strings.Contains(text, want) {
		t.Errorf("output lacks %q:\n%s", want, text)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"the HPA-equivalent config", "target: 0.8566", "max: 1\n", "name: slo_utilisation"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the emitted file lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "behavior") || strings.Contains(string(data), "predictive") {
		t.Errorf("the HPA-equivalent config has guards or a forecast of its own:\n%s", data)
	}
	if out, stderr, code := runScaled(t, "check", "-c", out); code != 0 {
		t.Errorf("scaled check on the emitted file: exit %d: %s%s", code, out, stderr)
	}
}

// The held-out scores tune prints are those scaled simulate --score-from
// gives for the emitted file, to the last digit; the file, as a config and
// as a Scaler manifest, passes scaled check and keeps the template's
// queries and bounds.
func TestTuneHoldoutIsSimulateScoreFrom(t *testing.T) {
	tr := smallTrace(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "tuned.yaml")
	rep := tune(t, "--trace", tr, "--startup-delay", "2m", "--max-evaluations", "24", "--budget", "10m", "--out", out)
	if rep.Holdout.Ticks != 120 || rep.Search.Ticks != 360 {
		t.Errorf("parts of %d and %d ticks, want 360 searched and 120 held out (a quarter of two hours)", rep.Search.Ticks, rep.Holdout.Ticks)
	}
	sim, stderr, code := runScaled(t, "simulate", "--config", out, "--trace", tr, "--startup-delay", "2m", "--hpa-targets", "0.6",
		"--score-from", rep.Holdout.From, "--format", "json")
	if code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	var s simulateReport
	if err := json.Unmarshal([]byte(sim), &s); err != nil {
		t.Fatal(err)
	}
	if got := scoreOf(s.Scaled); got != rep.Chosen.Holdout {
		t.Errorf("simulate --score-from scores the emitted file %+v, tune said %+v", got, rep.Chosen.Holdout)
	}
	if got := scoreOf(s.HPA[0].Score); got != rep.Reference.Holdout {
		t.Errorf("simulate --score-from scores the HPA %+v, tune said %+v", got, rep.Reference.Holdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Written by scaled tune", "held-out part", "HPA", `sum(rate(http_requests_total{namespace="shop",service="web"}[1m])) / 7`, "max: 1000"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the emitted file lacks %q:\n%s", want, data)
		}
	}
	if out, stderr, code := runScaled(t, "check", "-c", out); code != 0 {
		t.Errorf("scaled check on the emitted config: exit %d: %s%s", code, out, stderr)
	}
	if !strings.Contains(string(data), "      - name: capacity\n        type: target_tracking\n") {
		t.Errorf("the emitted policies do not start with their name and type:\n%s", data)
	}
	manifest, plot := filepath.Join(dir, "scaler.yaml"), filepath.Join(dir, "tune.png")
	tune(t, "--trace", tr, "--max-evaluations", "6", "--budget", "10m", "--out", manifest, "--scaler-object", "shop/web", "--plot", plot)
	fh, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if img, err := png.Decode(fh); err != nil || img.Bounds().Dx() < 500 {
		t.Errorf("--plot tune.png: not a PNG of a readable size: %v", err)
	}
	if out, stderr, code := runScaled(t, "check", "-c", manifest); code != 0 {
		data, _ := os.ReadFile(manifest)
		t.Errorf("scaled check on the emitted manifest: exit %d: %s%s\n%s", code, out, stderr, data)
	}
}

func TestTuneRefusesBadFlags(t *testing.T) {
	tr := smallTrace(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--holdout", "1.5"}, "--holdout: 1.5: must be a fraction in (0, 1)"},
		{[]string{"--objective", "speed"}, `--objective: "speed": must be either, violations or cost`},
		{[]string{"--budget", "0s"}, "--budget: 0s: must be > 0"},
		{[]string{"--margin", "0.5"}, "--margin: 0.5: must be a fraction in [0, 0.5)"},
		{[]string{"--hpa-target", "1.5"}, "--hpa-target: 1.5: must be a number in (0, 1)"},
		{[]string{"--scaler-object", "shop/web"}, "--scaler-object shop/web: needs --out"},
		{[]string{"--plot", "x.gif"}, `--plot: "x.gif": the file name must end in .png or .svg`},
	} {
		_, stderr, code := runScaled(t, append([]string{"tune", "--trace", tr}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("tune %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// The winner keeps the margin below the reference on the axis the
// objective holds it to, in the search part, and never exceeds it on the
// objective's.
func TestTuneWinnerKeepsTheMargin(t *testing.T) {
	tr := smallTrace(t)
	for _, objective := range []string{"violations", "cost", "either"} {
		rep := tune(t, "--trace", tr, "--objective", objective, "--margin", "0.03", "--max-evaluations", "30", "--budget", "10m")
		if rep.Margin != 0.03 {
			t.Errorf("%s: the report's margin is %g, want 0.03", objective, rep.Margin)
		}
		if rep.Fallback {
			t.Fatalf("%s: no candidate won on the small trace: the test shows nothing", objective)
		}
		c, r := rep.Chosen.Search, rep.Reference.Search
		held, bound := c.Cost <= 0.97*r.Cost && c.Violating <= r.Violating, "cost <= 0.97 x, violations <= 1 x"
		onCost := c.Violating <= 0.97*r.Violating && c.Cost <= r.Cost
		switch objective {
		case "cost":
			held, bound = onCost, "violations <= 0.97 x, cost <= 1 x"
		case "either":
			held, bound = held || onCost, "one axis <= 0.97 x, the other <= 1 x"
		}
		if !held {
			t.Errorf("%s: chosen %+v against the HPA's %+v in the search part: want %s", objective, c, r, bound)
		}
	}
}

// The whole tune, finalists and held-out run included, ends within its
// budget, and the time it keeps for them does not stop the search after
// its first generation.
func TestTuneStaysWithinItsBudget(t *testing.T) {
	rep := tune(t, "--trace", smallTrace(t), "--budget", "3s")
	if rep.Seconds > 3+2 {
		t.Errorf("a 3s budget took %.1fs", rep.Seconds)
	}
	for _, f := range rep.Families {
		if f.Generations < 2 {
			t.Errorf("family %s ran %d generations in 3s on a two-hour trace: the search stopped too early", f.Name, f.Generations)
		}
	}
}

// A window's score from the timeline is the score a run made with
// ScoreFrom at the window's start gives, to the last digit, and the window
// over every tick is the run's own score.
func TestTuneWindowScoresAreScoreFrom(t *testing.T) {
	tr, err := sources.LoadTrace(smallTrace(t))
	if err != nil {
		t.Fatal(err)
	}
	params := simulate.DefaultParams()
	params.S = 2 * time.Minute
	m, err := simulate.NewModel(tr, params)
	if err != nil {
		t.Fatal(err)
	}
	run, err := simulate.PlayHPAReference(m, 0.6, 1000, simulate.WithTimeline())
	if err != nil {
		t.Fatal(err)
	}
	n, k := m.Ticks(), m.Ticks()/3
	w := windowScores(m, run.Timeline(), []int{0, k, n})
	if whole := windowScores(m, run.Timeline(), []int{0, n})[0]; whole != scoreOf(run.Score()) {
		t.Errorf("the window over every tick scores %+v, the run %+v", whole, scoreOf(run.Score()))
	}
	if want := scoreOf(simulate.RunHPAReference(m, 0.6, 1000, simulate.ScoreFrom(k))); w[1] != want {
		t.Errorf("the window from tick %d scores %+v, a run scored from there %+v", k, w[1], want)
	}
	if w[0].Actions+w[1].Actions != run.Score().ScaleActions || w[1].Violating == 0 || w[0].Cost <= 0 {
		t.Errorf("windows %+v: want their actions to add up to the run's %d, and the spike violating in the second", w, run.Score().ScaleActions)
	}
}

// A finalist wins only if it wins on the whole search part and on its
// check part, the weeks before the race; among the winners, --objective
// either takes the larger gain on either axis.
func TestTuneChoosesFinalistsThatWinOnTheCheckPart(t *testing.T) {
	ref := tuneScore{Violating: 0.1, Cost: 1000}
	tu := &tuner{objective: "either", margin: 0.02, ref: ref, raceRef: ref, refCheck: &tuneScore{Violating: 0.1, Cost: 500}, seen: map[string]*tuneCandidate{}}
	fam := &tuneFamily{name: "f"}
	add := func(key string, search, check tuneScore) {
		tu.seen[key] = &tuneCandidate{Family: "f", key: key, fam: fam, Race: search, Search: &search, Check: &check}
	}
	// Half the violations in the search part, but more than the
	// reference in the check part: the race week's fit.
	add("a-race-only", tuneScore{Violating: 0.05, Cost: 970}, tuneScore{Violating: 0.11, Cost: 490})
	// 15 % less cost at 0.97 x the violations, in both parts.
	add("b-cost", tuneScore{Violating: 0.097, Cost: 850}, tuneScore{Violating: 0.097, Cost: 430})
	// 12 % fewer violations at 0.98 x the cost, in both parts.
	add("c-violations", tuneScore{Violating: 0.088, Cost: 975}, tuneScore{Violating: 0.09, Cost: 485})
	// 1 % less cost and violations: inside the margin on both axes.
	add("d-margin", tuneScore{Violating: 0.099, Cost: 990}, tuneScore{Violating: 0.099, Cost: 495})
	for _, tc := range []struct{ objective, want string }{
		{"either", "b-cost"}, {"cost", "b-cost"}, {"violations", "c-violations"},
	} {
		tu.objective = tc.objective
		got := tu.choose()
		if got == nil || got.key != tc.want {
			t.Errorf("--objective %s chose %v, want %s", tc.objective, got, tc.want)
		}
	}
	delete(tu.seen, "b-cost")
	delete(tu.seen, "c-violations")
	tu.objective = "either"
	if got := tu.choose(); got != nil {
		t.Errorf("chose %s, which wins only in the race week or only inside the margin: want none", got.key)
	}
}
