package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/optimize"
	"math/rand/v2"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/simulate"
	"github.com/scaled-dev/scaled/pkg/sources"
)

type tuneFlags struct {
	sim          simulateFlags // the model, the trace and the template, as simulate takes them
	hpaTarget    float64
	seed         uint64
	budget       time.Duration
	maxEvals     int
	holdout      float64
	objective    string
	margin       float64
	allowWorse   bool
	out          string
	scalerObject string
	format       string
	plot         string
}

func newTuneCommand() *cobra.Command {
	f := tuneFlags{sim: simulateFlags{params: simulate.DefaultParams(), initial: -1}}
	cmd := &cobra.Command{
		Use:   "tune",
		Short: "Fit a config to a service's own history, and prove it on the part the search did not see",
		Long: `Search the policy families scaled has (target tracking; a forecast over a target-tracking floor,
with the recent level and trend or with daily and weekly seasons) and their parameters (targets,
forecast quantile and lead, tolerances, stabilisation windows, startup hold) for the config that
does best on the service's own history under the model of docs/model.md, against the HPA at
--hpa-target run by the same model over the same history.

The history is split in time: the search sees the first part only; the last --holdout of it is
scored once, on the chosen config and on the reference, exactly as
  scaled simulate --config OUT --trace SAME --score-from START_OF_HOLDOUT
scores it. Candidates race on the last week of the search part; a candidate wins only if, on the
whole search part and on its weeks before the race (which the optimiser never scored), it is no
worse than the reference on both axes and at least --margin below it on the axis it is held to:
cost when it gains on violations, violations when it gains on cost. --objective either (the
default) takes the winner with the larger gain on either axis, violations fewer violations at no
more cost, cost less cost at no more violations. If none wins, tune says so and emits the
HPA-equivalent config.
The search (CMA-ES, gonum/optimize) uses every core and stops at --budget, or after
--max-evaluations, at the end of a generation; the same --seed and --max-evaluations give the same
result on any machine.

The template (--config, default: signals that read the model's load and share of SLO capacity, as
in examples/simulate) keeps its queries, target and bounds; tune writes its policies and behavior.`,
		Example: `  scaled tune --trace testdata/traces/nasa_http_aug95.csv --startup-delay 3m --out tuned.yaml
  scaled tune -c scaled.yaml --scaler web --query 'sum(rate(http_requests_total{service="web"}[1m]))' --range 28d --prometheus.url http://localhost:9090 --capacity-per-replica 7 --out web.yaml
  scaled tune --trace t.csv --objective cost --budget 5m --format json --plot tune.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.sim.muSet = cmd.Flags().Changed("mu")
			f.sim.medianSet = cmd.Flags().Changed("median-replicas")
			return runTune(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&f.sim.config, "config", "c", "", "template config (YAML) whose queries, target and bounds the result keeps (default: signals named load and slo_utilisation, as examples/simulate/recommended.yaml)")
	addModelFlags(fs, &f.sim)
	fs.Lookup("median-replicas").Usage = medianReplicasUsage
	addHistoryFlags(fs, &f.sim.history)
	fs.Float64Var(&f.hpaTarget, "hpa-target", 0.6, "utilisation target of the HPA reference the result must be no worse than")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the search: the same seed and --max-evaluations give the same result")
	fs.DurationVar(&f.budget, "budget", time.Minute, "time for the whole tune; the search stops at the end of the generation that reaches it")
	fs.IntVar(&f.maxEvals, "max-evaluations", 0, "stop the search after this many candidates (0: only --budget stops it), for a result that does not depend on the machine's speed")
	fs.Float64Var(&f.holdout, "holdout", 0.25, "the last fraction of the history, never seen by the search, on which the result is scored once")
	fs.StringVar(&f.objective, "objective", "either", "either: the larger gain of the two below; violations: fewest violations at no more cost than the reference; cost: lowest cost at no more violations")
	fs.Float64Var(&f.margin, "margin", 0.02, "in the search part and its check part, the winner must be at most 1 - margin times the reference on the axis it is held to (cost when it gains on violations, violations when it gains on cost), so that it stays no worse on days the search did not see")
	fs.BoolVar(&f.allowWorse, "allow-worse", false, "exit 0 even when the result is worse than the reference on both axes in the held-out part")
	fs.StringVar(&f.out, "out", "", "write the result to this file: a config that scaled run and scaled check take")
	fs.StringVar(&f.scalerObject, "scaler-object", "", "with --out: write a Scaler manifest NAMESPACE/NAME instead of a config file")
	fs.StringVar(&f.format, "format", "text", "report format: text or json")
	fs.StringVar(&f.plot, "plot", "", "draw the HPA's curve over a sweep of targets, every candidate, the chosen one and its held-out point (.png or .svg)")
	return cmd
}

// tuneScore is one run's score in one part of the history.
type tuneScore struct {
	Violating float64 `json:"violating_fraction"`
	Cost      float64 `json:"cost_replica_hours"`
	Actions   int     `json:"scale_actions"`
}

func scoreOf(s simulate.Score) tuneScore {
	return tuneScore{Violating: s.ViolatingRequestFraction, Cost: s.CostReplicaHours, Actions: s.ScaleActions}
}

// noWorse: violations and cost no higher than ref's.
func (s tuneScore) noWorse(ref tuneScore) bool {
	return s.Violating <= ref.Violating && s.Cost <= ref.Cost
}

// better: no worse, and lower on one axis.
func (s tuneScore) better(ref tuneScore) bool {
	return s.noWorse(ref) && (s.Violating < ref.Violating || s.Cost < ref.Cost)
}

type tuneCandidate struct {
	Family string             `json:"family"`
	Params map[string]float64 `json:"params"`
	// Race is the score on the race part; Search on the whole search
	// part, for the finalists only.
	Race   tuneScore  `json:"race"`
	Search *tuneScore `json:"search,omitempty"`
	// Check is a finalist's score on the search part before the race,
	// which the optimiser never scored.
	Check *tuneScore `json:"check,omitempty"`
	key   string
	fam   *tuneFamily   // nil: the HPA-equivalent config
	took  time.Duration // the race's estimated wall time run alone
}

type tunePart struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Ticks int    `json:"ticks"`
}

type tuneReport struct {
	Trace    string      `json:"trace"`
	Template string      `json:"template"`
	Scaler   string      `json:"scaler"`
	Model    modelReport `json:"model"`
	// Demand is "rescaled" (to median_replicas) or "own": a --query
	// history as the service had it.
	Demand     string          `json:"demand"`
	Objective  string          `json:"objective"`
	Margin     float64         `json:"margin"`
	Seed       uint64          `json:"seed"`
	Search     tunePart        `json:"search_part"`
	Race       tunePart        `json:"race_part"`
	Check      *tunePart       `json:"check_part,omitempty"`
	Holdout    tunePart        `json:"holdout_part"`
	HPATarget  float64         `json:"hpa_target"`
	Reference  tunePair        `json:"reference"`
	RaceRef    tuneScore       `json:"race_reference"`
	CheckRef   *tuneScore      `json:"check_reference,omitempty"`
	Chosen     tuneChosen      `json:"chosen"`
	Fallback   bool            `json:"fallback_to_hpa_equivalent"`
	Evaluated  int             `json:"evaluations"`
	Families   []tuneFamilyRun `json:"families"`
	Seconds    float64         `json:"seconds"`
	Out        string          `json:"out,omitempty"`
	Candidates []tuneCandidate `json:"candidates"`
	Failed     []string        `json:"failed,omitempty"`
}

type tunePair struct {
	Search  tuneScore `json:"search"`
	Holdout tuneScore `json:"holdout"`
}

type tuneChosen struct {
	Family string             `json:"family"`
	Params map[string]float64 `json:"params,omitempty"`
	tunePair
	WorseInHoldout bool `json:"worse_than_reference_in_holdout"`
}

type tuneFamilyRun struct {
	Name        string `json:"name"`
	About       string `json:"about"`
	Evaluations int    `json:"evaluations"`
	Generations int    `json:"generations"`
}

func runTune(ctx context.Context, out, notes io.Writer, f tuneFlags) error {
	start := time.Now()
	usage := func(err error) error { return &exitError{code: 2, err: err} }
	histEnd, err := f.sim.history.validate(f.sim.trace, time.Now())
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if f.format != "text" && f.format != "json" {
		errs = append(errs, fmt.Errorf("--format: %q: must be text or json", f.format))
	}
	if f.objective != "violations" && f.objective != "cost" && f.objective != "either" {
		errs = append(errs, fmt.Errorf("--objective: %q: must be either, violations or cost", f.objective))
	}
	if !(f.margin >= 0 && f.margin < 0.5) {
		errs = append(errs, fmt.Errorf("--margin: %g: must be a fraction in [0, 0.5)", f.margin))
	}
	if !(f.holdout > 0 && f.holdout < 1) {
		errs = append(errs, fmt.Errorf("--holdout: %g: must be a fraction in (0, 1)", f.holdout))
	}
	if f.budget <= 0 {
		errs = append(errs, fmt.Errorf("--budget: %s: must be > 0", durfmt.Format(f.budget)))
	}
	if f.maxEvals < 0 {
		errs = append(errs, fmt.Errorf("--max-evaluations: %d: must be >= 0", f.maxEvals))
	}
	if f.scalerObject != "" && f.out == "" {
		errs = append(errs, fmt.Errorf("--scaler-object %s: needs --out", f.scalerObject))
	}
	plotFormat, err := plotFileFormat(f.plot)
	if err != nil {
		errs = append(errs, err)
	}
	if !(f.hpaTarget > 0 && f.hpaTarget < 1) {
		errs = append(errs, fmt.Errorf("--hpa-target: %g: must be a number in (0, 1)", f.hpaTarget))
		f.hpaTarget = 0.6 // checked; serviceParams checks the rest
	}
	f.sim.hpaTargets = strconv.FormatFloat(f.hpaTarget, 'g', -1, 64)
	if err := serviceParams(&f.sim); err != nil {
		errs = append(errs, err)
	}
	if err := f.sim.params.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("model: %w", err))
	}
	binds, err := parseBinds(f.sim.binds)
	if err != nil {
		errs = append(errs, err)
	}
	// A --query history keeps the service's own rate, as simulate's does,
	// unless --median-replicas rescales it.
	ownScale := f.sim.ownScale()
	if err := f.sim.ownScaleProblem(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return usage(errors.Join(errs...))
	}
	tmpl, err := loadTuneTemplate(f.sim.config, f.sim.scaler, binds, f.sim.params)
	if err != nil {
		return usage(err)
	}
	var tr *sources.Trace
	if f.sim.trace != "" {
		if tr, err = sources.LoadTrace(f.sim.trace); err != nil {
			return usage(fmt.Errorf("--trace: %w", err))
		}
	} else {
		p, url, err := f.sim.history.historySource(tmpl.cfg.Prometheus)
		if err != nil {
			return usage(err)
		}
		if tr, f.sim.trace, err = historyTrace(ctx, notes, f.sim.history, histEnd, p, url); err != nil {
			return err
		}
	}
	// Each part is a model of its own; kept at the service's own rate,
	// every part's demand is the recorded rate.
	demand := "rescaled"
	paramsFor := func(tr *sources.Trace) simulate.Params {
		if !ownScale {
			return f.sim.params
		}
		var p simulate.Params
		p, demand = ownScaleParams(f.sim.params, tr)
		return p
	}
	full, err := simulate.NewModel(tr, paramsFor(tr))
	if err != nil {
		return usage(fmt.Errorf("--trace %s: %w", f.sim.trace, err))
	}
	// The search part is the trace up to the holdout, a model of its own:
	// nothing of the holdout, not even its share of the demand's median,
	// reaches the search.
	split := int(math.Round(float64(len(tr.Samples)) * (1 - f.holdout)))
	if split < 2 || len(tr.Samples)-split < 1 {
		return usage(fmt.Errorf("--holdout %g: leaves %d of %d trace points to the search and %d to the holdout: want at least 2 and 1",
			f.holdout, split, len(tr.Samples), len(tr.Samples)-split))
	}
	searchTrace := &sources.Trace{Step: tr.Step, Samples: tr.Samples[:split]}
	part, err := simulate.NewModel(searchTrace, paramsFor(searchTrace))
	if err != nil {
		return usage(fmt.Errorf("--holdout %g: the search part: %w", f.holdout, err))
	}
	holdoutFrom := tr.Samples[split].Time
	from, err := full.TickFrom(holdoutFrom)
	if err != nil {
		return usage(fmt.Errorf("--holdout %g: %w", f.holdout, err))
	}

	// Candidates race on the last raceSpan of the search part; the best
	// of them, the finalists, run on the whole of it.
	race := part
	if n := int(raceSpan / tr.Step); n < split*4/5 {
		raceTrace := &sources.Trace{Step: tr.Step, Samples: searchTrace.Samples[split-n:]}
		if race, err = simulate.NewModel(raceTrace, paramsFor(raceTrace)); err != nil {
			return usage(fmt.Errorf("--holdout %g: the search part: %w", f.holdout, err))
		}
	}
	t := &tuner{tmpl: tmpl, model: part, race: race, binds: binds, objective: f.objective, margin: f.margin, hpaTarget: f.hpaTarget,
		workers: runtime.GOMAXPROCS(0), seen: map[string]*tuneCandidate{}}
	t.ref = scoreOf(simulate.RunHPAReference(part, f.hpaTarget, tmpl.max))
	t.raceRef = t.ref
	if race != part {
		t.raceRef = scoreOf(simulate.RunHPAReference(race, f.hpaTarget, tmpl.max))
		// The check part: the search part before the race, which the
		// optimiser never scored.
		t.checkEnd = part.Ticks() - race.Ticks()
		hpa, err := simulate.PlayHPAReference(part, f.hpaTarget, tmpl.max, simulate.WithTimeline())
		if err != nil {
			return err
		}
		rc := windowScores(part, hpa.Timeline(), []int{0, t.checkEnd})[0]
		t.refCheck = &rc
	}
	rep := tuneReport{
		Trace: f.sim.trace, Template: tmpl.path, Scaler: tmpl.name, Demand: demand, Objective: f.objective, Margin: f.margin, Seed: f.seed, HPATarget: f.hpaTarget,
		Model: modelReport{
			Mu: full.Mu, SLOSeconds: full.L, C: full.C(), StartupSeconds: full.S.Seconds(), TickSeconds: full.T.Seconds(),
			MedianReplicas: full.M, DemandScale: full.Scale(), Ticks: full.Ticks(),
		},
		Search:  tunePart{From: fmtTime(part.Start()), To: fmtTime(holdoutFrom), Ticks: part.Ticks()},
		Race:    tunePart{From: fmtTime(race.Start()), To: fmtTime(holdoutFrom), Ticks: race.Ticks()},
		Holdout: tunePart{From: fmtTime(holdoutFrom), To: fmtTime(full.TickTime(full.Ticks() - 1).Add(full.T)), Ticks: full.Ticks() - from},
	}
	hpaEq, err := t.evaluate(nil, nil)
	if err != nil {
		return err
	}
	// The search leaves time for the finalists and the held-out run, and
	// 2 % of the budget for what the estimates of their times (from runs
	// timed alone) miss.
	deadline := start.Add(f.budget - f.budget/50)
	finalists := max(4, 2*t.workers)
	t.toFull = float64(full.Ticks()) / float64(race.Ticks())
	t.toPart = float64(part.Ticks()) / float64(race.Ticks())
	rep.Families = t.search(deadline, f.seed, f.maxEvals, finalists, hpaEq)
	if err := t.final(finalists, hpaEq, deadline); err != nil {
		return err
	}

	chosen := t.choose()
	rep.Fallback = chosen == nil
	if chosen == nil {
		chosen = hpaEq
	}
	header := ""
	policies, behavior := t.renderCandidate(chosen)
	data, err := tmpl.render("", policies, behavior)
	if err != nil {
		return err
	}
	cfg, err := loadSimulationData(f.out, data)
	if err != nil {
		return fmt.Errorf("the chosen config does not load: %w", err)
	}
	run, err := simulate.RunConfig(full, cfg, tmpl.name, binds, simulate.EngineOptions{ScoreFrom: from})
	if err != nil {
		return err
	}
	rep.Reference = tunePair{Search: t.ref, Holdout: scoreOf(simulate.RunHPAReference(full, f.hpaTarget, tmpl.max, simulate.ScoreFrom(from)))}
	rep.Chosen = tuneChosen{Family: chosen.Family, Params: chosen.Params, tunePair: tunePair{Search: *chosen.Search, Holdout: scoreOf(run.Score())}}
	rep.Chosen.WorseInHoldout = rep.Chosen.Holdout.Violating > rep.Reference.Holdout.Violating && rep.Chosen.Holdout.Cost > rep.Reference.Holdout.Cost
	rep.RaceRef = t.raceRef
	if t.refCheck != nil {
		rep.Check = &tunePart{From: rep.Search.From, To: fmtTime(part.TickTime(t.checkEnd)), Ticks: t.checkEnd}
		rep.CheckRef = t.refCheck
	}
	rep.Candidates = t.sorted()
	rep.Evaluated = len(rep.Candidates)
	slices.Sort(t.failed)
	rep.Failed = t.failed
	if len(t.failed) > 0 {
		fmt.Fprintf(notes, "%d candidates could not be run; the first: %s\n", len(t.failed), t.failed[0])
	}

	if f.out != "" {
		header = tuneHeader(rep, f)
		if data, err = tmpl.render(header, policies, behavior); err != nil {
			return err
		}
		if f.scalerObject != "" {
			if data, err = tmpl.manifest(data, f.scalerObject); err != nil {
				return usage(err)
			}
		}
		if err := writeFile(f.out, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		rep.Out = f.out
	}
	if f.plot != "" {
		if err := writeFile(f.plot, func(w io.Writer) error { return writeTunePlot(w, plotFormat, part, tmpl.max, rep) }); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	rep.Seconds = math.Round(time.Since(start).Seconds()*10) / 10
	if f.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := writeTuneText(out, rep); err != nil {
		return err
	}
	if rep.Chosen.WorseInHoldout && !f.allowWorse {
		return &exitError{code: 1, err: fmt.Errorf("the chosen config is worse than the HPA reference at u=%g on both violations and cost in the held-out part: "+
			"its history did not carry over; rerun with --allow-worse to keep it anyway", f.hpaTarget)}
	}
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// raceSpan is the end of the search part that candidates race on: a week
// holds the daily and weekly cycles, and the forecasts' refits over it cost
// a fraction of those over months.
const raceSpan = 7 * 24 * time.Hour

// tuner evaluates candidates on the race part, and the finalists on the
// whole search part.
type tuner struct {
	tmpl         *tuneTemplate
	model, race  *simulate.Model
	binds        map[string]string
	objective    string
	margin       float64
	ref, raceRef tuneScore
	// checkEnd ends the check part, the ticks of the search part before
	// the race (0: the race is the whole search part, no check part), and
	// refCheck is the reference's score there.
	checkEnd  int
	refCheck  *tuneScore
	hpaTarget float64
	workers   int
	// toPart and toFull are the search part's and the whole history's
	// ticks over the race part's: what a run there costs in races.
	toPart, toFull float64
	inflight       atomic.Int64 // evaluations running now

	mu     sync.Mutex
	seen   map[string]*tuneCandidate
	failed []string // candidates that could not be run, and why
	// starts are the families' starting points (the shipped settings each
	// search begins from), finalists whenever they win the race: a
	// setting known to hold on other traffic is always checked on the
	// whole search part, however many tuned neighbours outscore it in the
	// race week alone.
	starts []*tuneCandidate
}

func (t *tuner) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = append(t.failed, err.Error())
}

// renderCandidate is c's policies and behavior; nil behavior for the
// HPA-equivalent config, whose guards are the HPA's defaults.
func (t *tuner) renderCandidate(c *tuneCandidate) ([]any, map[string]any) {
	if c.fam == nil {
		share := t.hpaTarget * t.model.Mu / t.model.C()
		return []any{floorPolicy(map[string]float64{"target": share}, t.tmpl.roles)}, nil
	}
	return c.fam.render(c.Params, t.tmpl.roles)
}

// evaluate scores a family's point (nil: the HPA-equivalent config) on
// the race part, once per distinct point.
func (t *tuner) evaluate(fam *tuneFamily, v map[string]float64) (*tuneCandidate, error) {
	c := &tuneCandidate{Family: "hpa_equivalent", Params: v, fam: fam, key: "hpa_equivalent"}
	if fam != nil {
		c.Family, c.key = fam.name, fam.key(v)
	}
	t.mu.Lock()
	if got, ok := t.seen[c.key]; ok {
		t.mu.Unlock()
		return got, nil
	}
	t.mu.Unlock()
	// The race's time run alone: its wall time over the share of a core
	// it had, the evaluations running beside it over the cores.
	began, before := time.Now(), t.inflight.Add(1)
	s, err := t.run(c, t.race)
	after := t.inflight.Add(-1) + 1
	c.took = time.Duration(float64(time.Since(began)) / max(1, float64(before+after)/2/float64(t.workers)))
	if err != nil {
		return nil, err
	}
	c.Race = s
	if t.race == t.model {
		c.Search = &s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if got, ok := t.seen[c.key]; ok {
		return got, nil
	}
	t.seen[c.key] = c
	return c, nil
}

// runChecked plays c on the search part, and scores it there and on its
// check part.
func (t *tuner) runChecked(c *tuneCandidate) (tuneScore, *tuneScore, error) {
	policies, behavior := t.renderCandidate(c)
	data, err := t.tmpl.render("", policies, behavior)
	if err != nil {
		return tuneScore{}, nil, err
	}
	cfg, err := loadSimulationData(t.tmpl.path, data)
	if err != nil {
		return tuneScore{}, nil, fmt.Errorf("candidate %s: %w", c.key, err)
	}
	run, err := simulate.RunConfig(t.model, cfg, t.tmpl.name, t.binds, simulate.EngineOptions{Timeline: t.checkEnd > 0})
	if err != nil {
		return tuneScore{}, nil, fmt.Errorf("candidate %s: %w", c.key, err)
	}
	if t.checkEnd == 0 {
		return scoreOf(run.Score()), nil, nil
	}
	check := windowScores(t.model, run.Timeline(), []int{0, t.checkEnd})[0]
	return scoreOf(run.Score()), &check, nil
}

// run plays c on m.
func (t *tuner) run(c *tuneCandidate, m *simulate.Model) (tuneScore, error) {
	policies, behavior := t.renderCandidate(c)
	data, err := t.tmpl.render("", policies, behavior)
	if err != nil {
		return tuneScore{}, err
	}
	cfg, err := loadSimulationData(t.tmpl.path, data)
	if err != nil {
		return tuneScore{}, fmt.Errorf("candidate %s: %w", c.key, err)
	}
	run, err := simulate.RunConfig(m, cfg, t.tmpl.name, t.binds, simulate.EngineOptions{})
	if err != nil {
		return tuneScore{}, fmt.Errorf("candidate %s: %w", c.key, err)
	}
	return scoreOf(run.Score()), nil
}

// final runs the HPA-equivalent config and the best n candidates that win
// against the reference in the race on the whole search part, one a core,
// best first. The HPA-equivalent config and the best candidate always run;
// a later one only if its run and the held-out run still fit before the
// deadline.
func (t *tuner) final(n int, hpaEq *tuneCandidate, deadline time.Time) error {
	if t.race == t.model {
		return nil
	}
	todo := t.finalists(n, hpaEq)
	var heldOut time.Duration // the slowest finalist on the whole history
	for _, c := range todo {
		heldOut = max(heldOut, time.Duration(float64(c.took)*t.toFull))
	}
	sem := make(chan struct{}, t.workers)
	var wg sync.WaitGroup
	errs := make([]error, len(todo))
	for i, c := range todo {
		sem <- struct{}{}
		if i >= 2 && time.Now().Add(time.Duration(float64(c.took)*t.toPart)).Add(heldOut).After(deadline) {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s, check, err := t.runChecked(c)
			if err != nil {
				errs[i] = err
				return
			}
			t.mu.Lock()
			c.Search, c.Check = &s, check
			t.mu.Unlock()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// finalists are the HPA-equivalent config, the best candidate that wins
// against the reference in the race, the starting points that win there,
// and then the next best winners up to n, in that order.
func (t *tuner) finalists(n int, hpaEq *tuneCandidate) []*tuneCandidate {
	var winners []*tuneCandidate
	for _, c := range t.sorted() {
		if c.fam != nil && t.wins(c.Race, t.raceRef) {
			t.mu.Lock()
			winners = append(winners, t.seen[c.key])
			t.mu.Unlock()
		}
	}
	todo := []*tuneCandidate{hpaEq}
	add := func(c *tuneCandidate) {
		if len(todo) <= n && !slices.Contains(todo, c) {
			todo = append(todo, c)
		}
	}
	if len(winners) > 0 {
		add(winners[0])
	}
	for _, c := range t.starts {
		if slices.Contains(winners, c) {
			add(c)
		}
	}
	for _, c := range winners {
		add(c)
	}
	return todo
}

// finalTime is what the finalists take on the search part, one a core in
// their order, and then the slowest of them on the whole history: the
// time the search leaves them, from each one's race run alone.
func (t *tuner) finalTime(todo []*tuneCandidate) time.Duration {
	free := make([]time.Duration, t.workers) // when each core is free
	var end, heldOut time.Duration
	for _, c := range todo {
		if t.race != t.model {
			i := slices.Index(free, slices.Min(free))
			free[i] += time.Duration(float64(c.took) * t.toPart)
			end = max(end, free[i])
		}
		heldOut = max(heldOut, time.Duration(float64(c.took)*t.toFull))
	}
	return end + heldOut
}

// violEps is the violating fraction below which two fractions are not
// told apart when they are compared as a ratio: a run that violates
// nothing is not infinitely better than one that violates once a week.
const violEps = 1e-5

// gain is how much better s is than ref on the axis it wins on, as a
// fraction of ref (0.1: 10 % fewer violations, or 10 % less cost), and
// whether it wins at all: no worse than ref on both axes, and at least the
// margin below it on the axis held as the bound, so that the winner stays
// within the reference's bound on days the search did not see, which score
// it a little differently than the search part does. --objective
// violations holds cost as the bound and gains on violations, --objective
// cost the reverse; either takes whichever of the two gains more.
func (t *tuner) gain(s, ref tuneScore) (float64, bool) {
	if !s.better(ref) {
		return 0, false
	}
	bound := 1 - t.margin
	v := (s.Violating + violEps) / (ref.Violating + violEps)
	c := s.Cost / ref.Cost
	g, ok := math.Inf(-1), false
	if t.objective != "cost" && s.Cost <= bound*ref.Cost {
		g, ok = 1-v, true
	}
	if t.objective != "violations" && s.Violating <= bound*ref.Violating {
		g, ok = math.Max(g, 1-c), true
	}
	return g, ok
}

// wins: s gains on ref (gain).
func (t *tuner) wins(s, ref tuneScore) bool {
	_, ok := t.gain(s, ref)
	return ok
}

// loss is what the optimiser minimises: the objective's axis relative to
// the reference's, plus a steep penalty for exceeding the bound on the
// other axis; for either, the smaller of the two.
func (t *tuner) loss(s tuneScore) float64 {
	v := (s.Violating + violEps) / (t.raceRef.Violating + violEps)
	c := s.Cost / t.raceRef.Cost
	bound := 1 - t.margin
	lc := c + 0.001*v + 100*math.Max(0, v-bound)
	lv := v + 0.01*c + 100*math.Max(0, c-bound)
	switch t.objective {
	case "cost":
		return lc
	case "violations":
		return lv
	}
	return math.Min(lc, lv)
}

// finalWins: c, a finalist, wins against the reference on the whole search
// part and on its check part, the weeks before the race that the optimiser
// never scored: a candidate whose advantage is only in the race week is the
// optimiser's fit to that week, not the service's.
func (t *tuner) finalWins(c *tuneCandidate) bool {
	if c.Search == nil || !t.wins(*c.Search, t.ref) {
		return false
	}
	return c.Check == nil || t.refCheck == nil || t.wins(*c.Check, *t.refCheck)
}

// choose is the best candidate that wins against the reference in the
// search part (nil when none does): by the objective's axis, then the other, then
// fewer scale actions, then the key, so that ties resolve the same way on
// every run.
func (t *tuner) choose() *tuneCandidate {
	for _, c := range t.sorted() {
		if c.fam != nil && t.finalWins(&c) {
			return &c
		}
	}
	return nil
}

// sorted is every candidate, best first by the objective.
func (t *tuner) sorted() []tuneCandidate {
	t.mu.Lock()
	cs := make([]*tuneCandidate, 0, len(t.seen))
	for _, c := range t.seen {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	first, second := func(s tuneScore) float64 { return s.Violating }, func(s tuneScore) float64 { return s.Cost }
	if t.objective == "cost" {
		first, second = second, first
	}
	slices.SortFunc(cs, func(a, b *tuneCandidate) int {
		// Finalists that win against the reference in the search part
		// first, then candidates that win against it in the race.
		for _, better := range []func(c *tuneCandidate) bool{
			t.finalWins,
			func(c *tuneCandidate) bool { return t.wins(c.Race, t.raceRef) },
		} {
			if ab, bb := better(a), better(b); ab != bb {
				if ab {
					return -1
				}
				return 1
			}
		}
		sa, sb, ra, rb := a.Race, b.Race, t.raceRef, t.raceRef
		if a.Search != nil && b.Search != nil {
			sa, sb, ra, rb = *a.Search, *b.Search, t.ref, t.ref
		}
		// Winners by their gain, the larger first.
		ga, oka := t.gain(sa, ra)
		gb, okb := t.gain(sb, rb)
		if oka && okb && ga != gb {
			return int(math.Copysign(1, gb-ga))
		}
		for _, d := range []float64{first(sa) - first(sb), second(sa) - second(sb), float64(sa.Actions - sb.Actions)} {
			if d != 0 {
				return int(math.Copysign(1, d))
			}
		}
		return strings.Compare(a.key, b.key)
	})
	out := make([]tuneCandidate, len(cs))
	for i, c := range cs {
		out[i] = *c
		if c.Search != nil {
			s := *c.Search
			out[i].Search = &s
		}
	}
	return out
}

// search runs CMA-ES on every family at once, each with its own seeded
// source, until the deadline or the evaluation cap, checked between
// generations only: a generation once started is finished, so that the
// evaluations a cap allows are the same on every machine. The shipped
// settings each family starts from always run; a generation starts only
// if it, and after it the finalists and the held-out run, are expected to
// end before the deadline.
func (t *tuner) search(deadline time.Time, seed uint64, maxEvals, finalists int, hpaEq *tuneCandidate) []tuneFamilyRun {
	fams := tuneFamilies(t.tmpl.roles)
	runs := make([]tuneFamilyRun, len(fams))
	perFamily := 0
	if maxEvals > 0 {
		perFamily = max(1, maxEvals/len(fams))
	}
	var slowest struct {
		sync.Mutex
		d time.Duration
	}
	// The time the finalists and the held-out run need: those the race
	// has so far, and at least the slowest race as the one that always
	// runs beside the HPA-equivalent config.
	reserve := func() time.Duration {
		slowest.Lock()
		d := time.Duration(float64(slowest.d) * (t.toPart + t.toFull))
		slowest.Unlock()
		return max(d, t.finalTime(t.finalists(finalists, hpaEq)))
	}
	objective := func(fam *tuneFamily) func(x []float64) float64 {
		return func(x []float64) float64 {
			c, err := t.evaluate(fam, fam.point(x))
			if err != nil {
				t.fail(err)
				return math.Inf(1)
			}
			slowest.Lock()
			slowest.d = max(slowest.d, c.took)
			slowest.Unlock()
			return t.loss(c.Race)
		}
	}
	// The starting points first, all at once: their times say what a
	// generation and the finalists will take.
	var wg sync.WaitGroup
	for i := range fams {
		wg.Go(func() { objective(&fams[i])(fams[i].start()) })
	}
	wg.Wait()
	pops := make([]int, len(fams))
	firsts := make([]time.Duration, len(fams)) // each family's first generation on every core
	order := make([]int, len(fams))
	for i, fam := range fams {
		order[i] = i
		pop := 4 + int(3*math.Log(float64(len(fam.params))))
		pops[i] = max(t.workers, (pop+t.workers-1)/t.workers*t.workers)
		firsts[i] = time.Duration(math.MaxInt64)
		if start, err := t.evaluate(&fams[i], fam.point(fam.start())); err == nil {
			firsts[i] = time.Duration(float64(start.took) * float64(pops[i]) / float64(t.workers))
			t.starts = append(t.starts, start)
		}
	}
	// The cheapest families first: when the budget does not hold every
	// family's first generation beside the finalists' time, it holds
	// those it can rather than none.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(firsts[a], firsts[b]) })
	var first time.Duration // the admitted families' first generations, sharing the cores
	for _, i := range order {
		fam, pop := &fams[i], pops[i]
		runs[i] = tuneFamilyRun{Name: fam.name, About: fam.about, Evaluations: 1}
		if firsts[i] == time.Duration(math.MaxInt64) || time.Now().Add(first+firsts[i]).Add(reserve()).After(deadline) {
			continue
		}
		first += firsts[i]
		wg.Go(func() {
			var evals, gens int
			genStart := time.Now()
			method := &optimize.CmaEsChol{InitStepSize: 0.2, Population: pop, Src: rand.NewPCG(seed, uint64(i))}
			settings := &optimize.Settings{
				Concurrent: t.workers,
				Converger: convergerFunc(func(*optimize.Location) optimize.Status {
					gens++
					evals = 1 + gens*pop
					genTook := time.Since(genStart)
					genStart = time.Now()
					switch {
					case perFamily > 0 && evals+pop > perFamily:
						return optimize.FunctionEvaluationLimit
					case time.Now().Add(genTook).Add(reserve()).After(deadline):
						return optimize.RuntimeLimit
					}
					return optimize.NotTerminated
				}),
			}
			_, _ = optimize.Minimize(optimize.Problem{Func: objective(fam)}, fam.start(), settings, method)
			runs[i].Evaluations, runs[i].Generations = evals, gens
		})
	}
	wg.Wait()
	return runs
}

type convergerFunc func(*optimize.Location) optimize.Status

func (c convergerFunc) Init(int)                                       {}
func (c convergerFunc) Converged(l *optimize.Location) optimize.Status { return c(l) }

// tuneHeader is the emitted file's leading comment.
func tuneHeader(rep tuneReport, f tuneFlags) string {
	m := rep.Model
	var b strings.Builder
	fmt.Fprintf(&b, "Written by scaled tune for scaler %s, from %s.\n", rep.Scaler, rep.Template)
	fmt.Fprintf(&b, "History: %s (%s to %s).\n", rep.Trace, rep.Search.From, rep.Holdout.To)
	fmt.Fprintf(&b, "Model: capacity per replica %.4g req/s (mu %g), p95 SLO %gs, startup delay %s, tick %s.\n",
		m.C, m.Mu, m.SLOSeconds, durfmt.Format(time.Duration(m.StartupSeconds*float64(time.Second))), durfmt.Format(time.Duration(m.TickSeconds*float64(time.Second))))
	what := "the best of " + strconv.Itoa(rep.Evaluated) + " candidates (" + rep.Chosen.Family + ")"
	if rep.Fallback {
		what = "the HPA-equivalent config: no candidate of " + strconv.Itoa(rep.Evaluated) + " was better than the HPA in the search part"
	}
	fmt.Fprintf(&b, "Chosen: %s, objective %s, margin %g, seed %d.\n", what, rep.Objective, rep.Margin, rep.Seed)
	fmt.Fprintf(&b, "Violating fraction / cost in replica-hours / scale actions, against the HPA at u=%g:\n", rep.HPATarget)
	line := func(name string, part tunePart, c, r tuneScore) {
		fmt.Fprintf(&b, "  %s (%s to %s): this config %.4g / %.1f / %d; HPA %.4g / %.1f / %d\n",
			name, part.From, part.To, c.Violating, c.Cost, c.Actions, r.Violating, r.Cost, r.Actions)
	}
	line("search part", rep.Search, rep.Chosen.Search, rep.Reference.Search)
	line("held-out part", rep.Holdout, rep.Chosen.Holdout, rep.Reference.Holdout)
	fmt.Fprintf(&b, "The held-out scores are those of:\n  scaled simulate --config %s --trace TRACE --startup-delay %s --score-from %s",
		filepath.Base(f.out), durfmt.Format(time.Duration(m.StartupSeconds*float64(time.Second))), rep.Holdout.From)
	if rep.Demand == "own" {
		// The history as a file, at the rate the service had.
		fmt.Fprintf(&b, " --median-replicas %g", m.MedianReplicas)
	}
	return b.String()
}

func writeTuneText(out io.Writer, rep tuneReport) error {
	fmt.Fprintf(out, "scaled tune: scaler %s (%s) on %s\n", rep.Scaler, rep.Template, rep.Trace)
	m := rep.Model
	fmt.Fprintf(out, "model: mu %g req/s, p95 SLO %gs (c %.3f req/s per replica), startup %gs, tick %gs\n",
		m.Mu, m.SLOSeconds, m.C, m.StartupSeconds, m.TickSeconds)
	if rep.Demand == "own" {
		fmt.Fprintf(out, "demand: the service's own rate, not rescaled (--median-replicas rescales it)\n")
	}
	fmt.Fprintf(out, "search part %s to %s (%d ticks), held-out part %s to %s (%d ticks)\n",
		rep.Search.From, rep.Search.To, rep.Search.Ticks, rep.Holdout.From, rep.Holdout.To, rep.Holdout.Ticks)
	fmt.Fprintf(out, "searched %d candidates in %.1fs (seed %d, objective %s, margin %g):", rep.Evaluated, rep.Seconds, rep.Seed, rep.Objective, rep.Margin)
	for _, f := range rep.Families {
		fmt.Fprintf(out, " %s %d", f.Name, f.Evaluations)
	}
	fmt.Fprint(out, "\n\n")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tpart\tviolating fraction\tcost (replica-h)\tscale actions\t")
	row := func(name, part string, s tuneScore) {
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.1f\t%d\t\n", name, part, s.Violating, s.Cost, s.Actions)
	}
	name := "chosen: " + rep.Chosen.Family
	ref := fmt.Sprintf("HPA reference u=%g", rep.HPATarget)
	row(name, "search", rep.Chosen.Search)
	row(ref, "search", rep.Reference.Search)
	row(name, "held-out", rep.Chosen.Holdout)
	row(ref, "held-out", rep.Reference.Holdout)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if rep.Fallback {
		held := map[string]string{"either": "cost or violations", "violations": "cost", "cost": "violations"}[rep.Objective]
		fmt.Fprintf(out, "No candidate was better than the HPA at u=%g in the search part (no worse on both axes and %g %% or more below it on %s, there and in the weeks before the race): the result is the HPA-equivalent config.\n",
			rep.HPATarget, rep.Margin*100, held)
	}
	c, r := rep.Chosen.Holdout, rep.Reference.Holdout
	switch {
	case rep.Chosen.WorseInHoldout:
		fmt.Fprintln(out, "WORSE than the reference on both axes in the held-out part: the search part's advantage did not carry over.")
	case c.noWorse(r):
		fmt.Fprintf(out, "Held-out part: %s the reference's violations, %s its cost.\n", ratio(c.Violating, r.Violating), ratio(c.Cost, r.Cost))
	default:
		fmt.Fprintf(out, "Held-out part: mixed against the reference: %s its violations, %s its cost.\n", ratio(c.Violating, r.Violating), ratio(c.Cost, r.Cost))
	}
	if rep.Out != "" {
		fmt.Fprintf(out, "Written to %s.\n", rep.Out)
	}
	return nil
}

func ratio(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "the same as (none)"
		}
		return "above (none)"
	}
	return fmt.Sprintf("%.3g x", a/b)
}
