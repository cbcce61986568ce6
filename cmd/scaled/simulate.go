package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/simulate"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// simulatedPrometheusURL stands in for an unset prometheus.url: a simulation
// never queries Prometheus, and a production config may take its URL from
// the environment.
const simulatedPrometheusURL = "http://prometheus.simulated.invalid"

type simulateFlags struct {
	config, trace, scaler string
	binds                 []string
	out, plot, format     string
	initial               int32
	params                simulate.Params
	// capacity is c, requests/s one replica serves at the SLO; > 0 sets mu
	// from it (mu = c + ln(20)/L). muSet says --mu was given too.
	capacity float64
	muSet    bool
	// medianSet says --median-replicas was given: a --query history is
	// rescaled only then.
	medianSet bool
	// allowImplausible runs a model whose replicas meet the SLO only at a
	// tiny share of their service rate; without it such a model is refused.
	allowImplausible bool
	hpaTargets       string
	hpaAt            []float64    // hpaTargets parsed
	history          historyFlags // simulate_history.go
	scoreFrom        string       // RFC 3339; empty scores every tick
	plotFrom, plotTo string       // RFC 3339; the window --plot draws
}

// optionalInt32 is an int32 flag that may be left unset (-1), which --help
// shows as no default of its own: the usage says what unset means.
type optionalInt32 struct{ p *int32 }

func (o optionalInt32) String() string {
	if o.p == nil || *o.p < 0 {
		return ""
	}
	return strconv.Itoa(int(*o.p))
}

func (o optionalInt32) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return fmt.Errorf("%q: must be a whole number >= 0", s)
	}
	*o.p = int32(n)
	return nil
}

func (optionalInt32) Type() string { return "int32" }

func newSimulateCommand() *cobra.Command {
	f := simulateFlags{params: simulate.DefaultParams(), initial: -1}
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Backtest a config on a recorded trace through the real decision engine",
		Long: `Replay a trace (CSV: timestamp,value = requests per step) through the real policies and guards
of one scaler, under the reference service model of docs/model.md, and score it: the share of
requests that violated the latency SLO, the cost in replica-hours, the cost against the oracle and
the scale actions, beside the reference HPA at utilisation 0.5, 0.6 and 0.7 on the same trace.

The scaler's signals read the model's observations instead of Prometheus: a signal named after an
observation binds to it, any other needs --bind SIGNAL=OBSERVATION. Observations: ` + simulate.ObservationList() + `.
The config is the one that runs in production; its queries are never sent anywhere.`,
		Example: `  scaled simulate --config examples/simulate/hpa.yaml --trace worldcup98.csv
  scaled simulate --config examples/simulate/recommended.yaml --trace worldcup98.csv --startup-delay 10m
  scaled simulate -c scaled.yaml --trace t.csv --scaler web --bind cpu_utilisation=utilisation --out t.csv --plot t.svg
  scaled simulate -c scaled.yaml --query 'sum(rate(http_requests_total{service="web"}[1m]))' --range 14d --prometheus.url http://localhost:9090 --slo 0.25 --capacity-per-replica 40`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.muSet = cmd.Flags().Changed("mu")
			f.medianSet = cmd.Flags().Changed("median-replicas")
			return runSimulate(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&f.config, "config", "c", "scaled.yaml", "config file (YAML)")
	fs.StringVar(&f.out, "out", "", "write the timeline CSV, one row per tick, to this file")
	fs.StringVar(&f.plot, "plot", "", "draw demand, capacity, replicas (the HPA reference's too) and violations to this file (.png or .svg)")
	fs.StringVar(&f.plotFrom, "from", "", "with --plot: draw from this time on (RFC 3339, within the trace); the runs still replay it whole")
	fs.StringVar(&f.plotTo, "to", "", "with --plot: draw up to this time (RFC 3339, within the trace, after --from)")
	fs.StringVar(&f.format, "format", "text", "score format: text or json")
	fs.Var(optionalInt32{&f.initial}, "initial", "replicas at the start, all ready (default: the oracle's count at the first tick, within bounds)")
	addModelFlags(fs, &f)
	fs.StringVar(&f.hpaTargets, "hpa-targets", "0.5,0.6,0.7", "utilisation targets of the HPA reference runs scored beside the config, comma-separated")
	fs.StringVar(&f.scoreFrom, "score-from", "", "replay the whole trace but score only the ticks from this time on (RFC 3339), the HPA reference's and the oracle's too")
	addHistoryFlags(fs, &f.history)
	fs.Lookup("median-replicas").Usage = medianReplicasUsage
	return cmd
}

// addModelFlags adds the flags that state the service model: simulate's
// and tune's.
func addModelFlags(fs *pflag.FlagSet, f *simulateFlags) {
	fs.StringVar(&f.trace, "trace", "", "trace CSV (timestamp,value); or --query")
	fs.StringVar(&f.scaler, "scaler", "", "scaler to simulate (default: the config's only scaler)")
	fs.StringArrayVar(&f.binds, "bind", nil, "bind a signal to an observation, SIGNAL=OBSERVATION (repeatable)")
	fs.Float64Var(&f.params.Mu, "mu", f.params.Mu, "mu: requests/s one replica serves (M/M/1 service rate); or give --capacity-per-replica")
	fs.Float64Var(&f.capacity, "capacity-per-replica", 0, "c: requests/s one replica serves with p95 at the SLO, as measured (scaled calibrate); sets mu = c + ln(20)/slo (default: from --mu)")
	fs.Float64Var(&f.params.L, "slo", f.params.L, "L: the p95 latency SLO in seconds")
	fs.DurationVar(&f.params.S, "startup-delay", f.params.S, "S: delay before a requested replica is ready; the scaler plans for it unless its config sets startup_delay")
	fs.DurationVar(&f.params.S, "startup", f.params.S, "S: the same as --startup-delay")
	_ = fs.MarkDeprecated("startup", "use --startup-delay, the name of the config's startup_delay")
	fs.DurationVar(&f.params.T, "tick", f.params.T, "T: the model's tick and evaluation grid, not the scaler's (its config's interval, a multiple of T)")
	fs.Float64Var(&f.params.M, "median-replicas", f.params.M, "m: scale demand so that the median non-zero rate needs this many replicas")
	fs.BoolVar(&f.allowImplausible, "allow-implausible-model", false,
		fmt.Sprintf("run even when a replica meets the SLO only below %.0f%% of its service rate (c < %g mu), which no utilisation target can hold", 100*minUtilisationAtSLO, minUtilisationAtSLO))
}

// minUtilisationAtSLO is the least share of its service rate at which a
// replica of a plausible model meets the SLO (c/mu). Below it the SLO sits
// within a few service times of an idle replica's own p95, so that every
// utilisation target, the HPA reference's too, violates almost always: far
// more often a --slo given without the capacity that goes with it (--mu 10
// is meant for --slo 1) than a real service.
const minUtilisationAtSLO = 0.1

// simulateReport is the score as --format json prints it.
type simulateReport struct {
	Config    string      `json:"config"`
	Scaler    string      `json:"scaler"`
	Trace     string      `json:"trace"`
	ScoreFrom string      `json:"score_from,omitempty"`
	Model     modelReport `json:"model"`
	// Demand is "rescaled" (by the model's demand_scale, to
	// median_replicas) or "own": a --query history as the service had it.
	Demand          string              `json:"demand"`
	InitialReplicas int32               `json:"initial_replicas"`
	Scaled          simulate.Score      `json:"scaled"`
	HPA             []hpaReferenceScore `json:"hpa_reference"`
	Oracle          simulate.Score      `json:"oracle"`
	// Warnings say why the scores may not describe the service.
	Warnings []string `json:"warnings,omitempty"`
}

type modelReport struct {
	Mu             float64 `json:"mu"`
	SLOSeconds     float64 `json:"slo_seconds"`
	C              float64 `json:"c"`
	StartupSeconds float64 `json:"startup_seconds"`
	TickSeconds    float64 `json:"tick_seconds"`
	MedianReplicas float64 `json:"median_replicas"`
	DemandScale    float64 `json:"demand_scale"`
	Ticks          int     `json:"ticks"`
}

type hpaReferenceScore struct {
	Target      float64        `json:"target"`
	MaxReplicas int32          `json:"max_replicas"`
	Score       simulate.Score `json:"score"`
}

func runSimulate(ctx context.Context, out, notes io.Writer, f simulateFlags) error {
	usage := func(err error) error { return &exitError{code: 2, err: err} }
	histEnd, err := f.history.validate(f.trace, time.Now())
	if err != nil {
		return usage(err)
	}
	if f.format != "text" && f.format != "json" {
		return usage(fmt.Errorf("--format: %q: must be text or json", f.format))
	}
	var scoreFrom time.Time
	if f.scoreFrom != "" {
		if scoreFrom, err = time.Parse(time.RFC3339, f.scoreFrom); err != nil {
			return usage(fmt.Errorf("--score-from: %q: must be RFC 3339, e.g. 2025-03-01T00:00:00Z", f.scoreFrom))
		}
	}
	plotFormat, err := plotFileFormat(f.plot)
	if err != nil {
		return usage(err)
	}
	window, err := f.plotWindow()
	if err != nil {
		return usage(err)
	}
	binds, err := parseBinds(f.binds)
	if err != nil {
		return usage(err)
	}
	cfg, err := loadSimulationConfig(f.config)
	if err != nil {
		return usage(err)
	}
	if err := serviceParams(&f); err != nil {
		return usage(err)
	}
	if err := f.params.Validate(); err != nil {
		return usage(fmt.Errorf("model: %w", err))
	}
	// A --query history keeps the service's own rate unless
	// --median-replicas rescales it, so the model needs the capacity of
	// one of its replicas.
	ownScale := f.ownScale()
	var tr *sources.Trace
	if f.trace != "" {
		if tr, err = sources.LoadTrace(f.trace); err != nil {
			return usage(fmt.Errorf("--trace: %w", err))
		}
	} else {
		var errs []error
		if err := f.ownScaleProblem(); err != nil {
			errs = append(errs, err)
		}
		p, url, err := f.history.historySource(cfg.Prometheus)
		if err != nil {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return usage(errors.Join(errs...))
		}
		if tr, f.trace, err = historyTrace(ctx, notes, f.history, histEnd, p, url); err != nil {
			return err
		}
	}
	demand := "rescaled"
	if ownScale {
		f.params, demand = ownScaleParams(f.params, tr)
	}
	m, err := simulate.NewModel(tr, f.params)
	if err != nil {
		return usage(fmt.Errorf("--trace %s: %w", f.trace, err))
	}
	from := 0
	if f.scoreFrom != "" {
		if from, err = m.TickFrom(scoreFrom); err != nil {
			return usage(fmt.Errorf("--score-from: %w", err))
		}
	}
	sc, err := simulate.SelectScaler(cfg, f.scaler)
	if err != nil {
		return usage(fmt.Errorf("--scaler: %w", err))
	}
	opts := simulate.EngineOptions{Timeline: f.out != "" || f.plot != "", ScoreFrom: from}
	if f.initial >= 0 {
		opts.Initial = &f.initial
	}
	run, err := simulate.RunConfig(m, cfg, sc.Name, binds, opts)
	if err != nil {
		return usage(err)
	}

	rep := simulateReport{
		Config: f.config, Scaler: sc.Name, Trace: f.trace, ScoreFrom: f.scoreFrom,
		Model: modelReport{
			Mu: m.Mu, SLOSeconds: m.L, C: m.C(), StartupSeconds: m.S.Seconds(), TickSeconds: m.T.Seconds(),
			MedianReplicas: m.M, DemandScale: m.Scale(), Ticks: m.Ticks(),
		},
		Demand:          demand,
		InitialReplicas: run.Initial(),
		Scaled:          run.Score(),
		Oracle:          simulate.OracleScoreFrom(m, from),
	}
	// The reference HPA runs under the scaler's own cap, so that both face
	// the same limit (set bounds.max high to compare with docs/model.md).
	var refs []simulate.PlotReference
	for _, u := range f.hpaAt {
		opts := []simulate.RunOption{simulate.ScoreFrom(from)}
		if f.plot != "" {
			opts = append(opts, simulate.WithTimeline())
		}
		hpa, err := simulate.PlayHPAReference(m, u, sc.Bounds.Max, opts...)
		if err != nil {
			return usage(fmt.Errorf("the HPA reference at %g: %w", u, err))
		}
		rep.HPA = append(rep.HPA, hpaReferenceScore{Target: u, MaxReplicas: sc.Bounds.Max, Score: hpa.Score()})
		refs = append(refs, simulate.PlotReference{Name: fmt.Sprintf("HPA u=%g", u), Rows: hpa.Timeline()})
	}
	rep.Warnings = referenceWarnings(m, from, rep)

	if f.out != "" {
		if err := writeFile(f.out, func(w io.Writer) error { return simulate.WriteTimeline(w, run.Timeline()) }); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if f.plot != "" {
		lo, hi, err := window.ticks(m)
		if err != nil {
			return usage(err)
		}
		title := fmt.Sprintf("scaled simulate: %s on %s", sc.Name, filepath.Base(f.trace))
		for i := range refs {
			refs[i].Rows = refs[i].Rows[lo:hi]
		}
		if err := writeFile(f.plot, func(w io.Writer) error {
			return simulate.WritePlot(w, plotFormat, title, run.Timeline()[lo:hi], m.Params, refs...)
		}); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	if f.format == "json" {
		for _, w := range rep.Warnings {
			fmt.Fprintln(notes, "warning:", w)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeScoreTable(out, rep)
}

// plotWindow is the part of the trace --plot draws: --from and --to, each
// optional.
type plotWindow struct{ from, to time.Time }

// plotWindow parses --from and --to; ticks checks them against the trace.
func (f *simulateFlags) plotWindow() (plotWindow, error) {
	var w plotWindow
	var errs []error
	for _, t := range []struct {
		flag, value string
		into        *time.Time
	}{{"--from", f.plotFrom, &w.from}, {"--to", f.plotTo, &w.to}} {
		if t.value == "" {
			continue
		}
		if f.plot == "" {
			errs = append(errs, fmt.Errorf("%s %s: needs --plot, the drawing it narrows", t.flag, t.value))
		}
		v, err := time.Parse(time.RFC3339, t.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: must be RFC 3339, e.g. 2025-03-01T00:00:00Z", t.flag, t.value))
			continue
		}
		*t.into = v
	}
	if !w.from.IsZero() && !w.to.IsZero() && !w.from.Before(w.to) {
		errs = append(errs, fmt.Errorf("--from %s, --to %s: --from must be before --to", f.plotFrom, f.plotTo))
	}
	return w, errors.Join(errs...)
}

// ticks is the range [lo, hi) of m's ticks within the window, or an error
// naming the trace's span when an end lies outside it or holds no tick.
func (w plotWindow) ticks(m *simulate.Model) (lo, hi int, err error) {
	hi = m.Ticks()
	if !w.from.IsZero() {
		if lo, err = m.TickFrom(w.from); err != nil {
			return 0, 0, fmt.Errorf("--from: %w", err)
		}
	}
	if !w.to.IsZero() {
		i, err := m.TickFrom(w.to)
		if err != nil {
			return 0, 0, fmt.Errorf("--to: %w", err)
		}
		hi = i + 1
		if m.TickTime(i).After(w.to) {
			hi = i // to falls between ticks: the tick before it is the last
		}
	}
	if hi-lo < 2 {
		return 0, 0, fmt.Errorf("--from %s, --to %s: hold %d tick(s) of %s: want at least 2", fmtTimeOr(w.from, "the start"), fmtTimeOr(w.to, "the end"), max(0, hi-lo), durfmt.Format(m.T))
	}
	return lo, hi, nil
}

func fmtTimeOr(t time.Time, otherwise string) string {
	if t.IsZero() {
		return otherwise
	}
	return t.UTC().Format(time.RFC3339)
}

// medianReplicasUsage is --median-replicas' help where a --query history
// may be kept at its own rate (simulate, tune).
const medianReplicasUsage = "m: rescale demand so that the median non-zero rate needs this many replicas: a --trace always is, a --query history only when this is given (it keeps the service's own rate otherwise)"

// ownScale says a --query history keeps the service's own rate: it is
// rescaled only when --median-replicas is given.
func (f *simulateFlags) ownScale() bool { return f.trace == "" && !f.medianSet }

// ownScaleProblem says what a history kept at its own rate lacks: the
// capacity of one replica, which a rescaled history takes from m.
func (f *simulateFlags) ownScaleProblem() error {
	if !f.ownScale() || f.capacity != 0 || f.muSet {
		return nil
	}
	return errors.New("--query: keeps the service's own request rate, so the model needs what one replica serves: " +
		"give --capacity-per-replica (requests/s at the SLO; scaled calibrate measures it) or --mu, " +
		"or --median-replicas N to rescale the history as a --trace file is")
}

// ownScaleParams are p with m such that the model's scale m*c/median is 1
// on tr: its demand is the recorded rate ("own"). A trace with no demand
// at all keeps p ("rescaled", which is then moot).
func ownScaleParams(p simulate.Params, tr *sources.Trace) (simulate.Params, string) {
	med, ok := medianRate(tr)
	if !ok {
		return p, "rescaled"
	}
	p.M = med / p.C()
	return p, "own"
}

// medianRate is the median of a trace's non-zero rates (value/step), and
// false when every value is 0.
func medianRate(tr *sources.Trace) (float64, bool) {
	var rates []float64
	for _, s := range tr.Samples {
		if s.Value > 0 {
			rates = append(rates, s.Value/tr.Step.Seconds())
		}
	}
	if len(rates) == 0 {
		return 0, false
	}
	slices.Sort(rates)
	n := len(rates)
	if n%2 == 1 {
		return rates[n/2], true
	}
	return (rates[n/2-1] + rates[n/2]) / 2, true
}

// mostlyViolating is the violating fraction above which a reference run
// says more about the model than about the HPA.
const mostlyViolating = 0.5

// referenceWarnings says why the HPA reference cannot hold the SLO under
// this model (every target above the utilisation at which a replica meets
// it, or every run violating more than half of the requests), and what to
// set instead.
func referenceWarnings(m *simulate.Model, from int, rep simulateReport) []string {
	if len(rep.HPA) == 0 {
		return nil
	}
	scores := make([]string, len(rep.HPA))
	targets := make([]float64, len(rep.HPA))
	mostly := true
	for i, h := range rep.HPA {
		scores[i] = fmt.Sprintf("u=%g %.4f", h.Target, h.Score.ViolatingRequestFraction)
		targets[i] = h.Target
		mostly = mostly && h.Score.ViolatingRequestFraction > mostlyViolating
	}
	atSLO := m.C() / m.Mu
	if slices.Min(targets) > atSLO {
		// The targets that stand to this model as the defaults stand to the
		// reference model (docs/model.md).
		ref := simulate.DefaultParams()
		scaled := make([]string, len(targets))
		for i, u := range targets {
			scaled[i] = strconv.FormatFloat(roundSig(u*atSLO/(ref.C()/ref.Mu), 3), 'g', -1, 64)
		}
		return []string{fmt.Sprintf("every HPA reference target is above %.3g, the utilisation up to which a replica of this model meets the SLO (c/mu), "+
			"so each holds its replicas where they break it (violating %s); check --slo and --capacity-per-replica, "+
			"or compare at targets below it: --hpa-targets %s", atSLO, strings.Join(scores, ", "), strings.Join(scaled, ","))}
	}
	if !mostly {
		return nil
	}
	w := fmt.Sprintf("every HPA reference run violates the SLO for more than half of the requests (%s): ", strings.Join(scores, ", "))
	peak := int32(0)
	for i := from; i < m.Ticks(); i++ {
		peak = max(peak, m.OracleReplicasAt(i))
	}
	if max := rep.HPA[0].MaxReplicas; peak > max {
		w += fmt.Sprintf("the demand needs up to %d replicas at the SLO, and they run under the scaler's bounds.max %d; "+
			"raise bounds.max, or lower --median-replicas (%g)", peak, max, m.M)
	} else {
		w += "the model does not describe a service its HPA keeps within the SLO; check --slo, --capacity-per-replica and --startup-delay against scaled calibrate"
	}
	return []string{w}
}

// serviceParams applies the flags that state the service in its own terms
// and checks the HPA targets, reporting every problem at once.
func serviceParams(f *simulateFlags) error {
	var errs []error
	switch c := f.capacity; {
	case c == 0:
	case f.muSet:
		errs = append(errs, fmt.Errorf("--capacity-per-replica: %g: give either it or --mu, not both (mu = c + ln(20)/slo)", c))
	case !(c > 0) || math.IsInf(c, 0):
		errs = append(errs, fmt.Errorf("--capacity-per-replica: %g: must be a finite number > 0", c))
	default:
		f.params.Mu = simulate.MuForCapacity(c, f.params.L)
	}
	if err := plausibleModel(f); err != nil {
		errs = append(errs, err)
	}
	f.hpaAt = nil
	for _, part := range strings.Split(f.hpaTargets, ",") {
		u, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || !(u > 0 && u < 1) {
			errs = append(errs, fmt.Errorf("--hpa-targets: %q: each target must be a number in (0, 1)", strings.TrimSpace(part)))
			continue
		}
		f.hpaAt = append(f.hpaAt, u)
	}
	return errors.Join(errs...)
}

// plausibleModel refuses, unless --allow-implausible-model, a model whose
// replicas meet the SLO only at a tiny share of their service rate; it
// leaves invalid parameters to Params.Validate.
func plausibleModel(f *simulateFlags) error {
	p := f.params
	if f.allowImplausible || p.Validate() != nil || p.C()/p.Mu >= minUtilisationAtSLO {
		return nil
	}
	what := fmt.Sprintf("--mu %g", p.Mu)
	fix := "give --capacity-per-replica instead (the requests/s one replica serves with p95 at the SLO; scaled calibrate measures it)"
	switch {
	case f.capacity > 0:
		what = fmt.Sprintf("--capacity-per-replica %g", f.capacity)
		fix = "check --capacity-per-replica against scaled calibrate, or a load test"
	case !f.muSet:
		what = fmt.Sprintf("the default --mu %g, meant for --slo 1,", p.Mu)
	}
	return fmt.Errorf("model: c %.3g req/s per replica is %.2g%% of mu %.4g req/s: with %s and --slo %g a replica meets its p95 only below "+
		"that utilisation (c = mu - ln(20)/slo), so every run, the HPA reference's too, violates almost always; %s, "+
		"or --allow-implausible-model to run it anyway", p.C(), 100*p.C()/p.Mu, p.Mu, what, p.L, fix)
}

// loadSimulationConfig loads and validates a config as the daemon does,
// except that an unset prometheus.url is allowed: nothing is queried.
func loadSimulationConfig(path string) (*config.Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return loadSimulationData(path, data)
}

// loadSimulationData is loadSimulationConfig on the file's content.
func loadSimulationData(path string, data []byte) (*config.Config, error) {
	if cfg, ok, err := manifestConfig(path, data); ok || err != nil {
		return cfg, err
	}
	cfg, err := config.LoadData(path, data, viper.New(), func(c *config.Config) {
		if c.Prometheus.URL == "" {
			c.Prometheus.URL = simulatedPrometheusURL
		}
	})
	var problems config.Problems
	if errors.As(err, &problems) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, err
}

// manifestConfig is the config that runs the Scaler objects of data, the
// file at path, as a scaled with the defaults would run them, and false
// when the file is a config file.
func manifestConfig(path string, data []byte) (*config.Config, bool, error) {
	daemon, err := daemonConfig("", viper.New(), simulatedPrometheusURL)
	if err != nil {
		return nil, false, err
	}
	ms, err := readManifests(path, data, daemon)
	if err != nil || len(ms) == 0 {
		return nil, false, nil // a config file, or not one: config.Load says which
	}
	var errs []error
	for _, m := range ms {
		if len(m.Problems) > 0 {
			errs = append(errs, fmt.Errorf("the Scaler %s (line %d): %w", m.Key(), m.Line, config.Problems(m.Problems)))
		}
		daemon.Scalers = append(daemon.Scalers, m.Scaler)
	}
	if len(errs) > 0 {
		return nil, true, fmt.Errorf("%s: %w", path, errors.Join(errs...))
	}
	return daemon, true, nil
}

// parseBinds turns SIGNAL=OBSERVATION flags into a map.
func parseBinds(flags []string) (map[string]string, error) {
	binds := map[string]string{}
	var errs []error
	for _, b := range flags {
		sig, obs, ok := strings.Cut(b, "=")
		sig, obs = strings.TrimSpace(sig), strings.TrimSpace(obs)
		switch {
		case !ok || sig == "" || obs == "":
			errs = append(errs, fmt.Errorf("--bind: %q: must be SIGNAL=OBSERVATION, OBSERVATION one of %s", b, simulate.ObservationList()))
		case binds[sig] != "" && binds[sig] != obs:
			errs = append(errs, fmt.Errorf("--bind: %q: signal %s is already bound to %s", b, sig, binds[sig]))
		default:
			binds[sig] = obs
		}
	}
	return binds, errors.Join(errs...)
}

func writeFile(path string, write func(io.Writer) error) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(fh); err != nil {
		_ = fh.Close()
		return err
	}
	return fh.Close()
}

func writeScoreTable(out io.Writer, rep simulateReport) error {
	m := rep.Model
	span := time.Duration(float64(m.Ticks) * m.TickSeconds * float64(time.Second))
	fmt.Fprintf(out, "scaler %s (%s) on %s: %d ticks of %s (%s), starting at %d replicas\n",
		rep.Scaler, rep.Config, rep.Trace, m.Ticks, durfmt.Format(time.Duration(m.TickSeconds*float64(time.Second))), durfmt.Format(span), rep.InitialReplicas)
	fmt.Fprintf(out, "model: mu %.4g req/s, p95 SLO %gs (c %.3f req/s per replica), startup %s, median demand needs %.3g replicas\n",
		m.Mu, m.SLOSeconds, m.C, durfmt.Format(time.Duration(m.StartupSeconds*float64(time.Second))), m.MedianReplicas)
	if rep.Demand == "own" {
		fmt.Fprintf(out, "demand: the service's own rate, not rescaled (--median-replicas rescales it)\n")
	} else {
		fmt.Fprintf(out, "demand: the trace's rate x %.4g, so that its median needs %g replicas (--median-replicas)\n", m.DemandScale, m.MedianReplicas)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(out, "WARNING: %s\n", w)
	}
	if rep.ScoreFrom != "" {
		fmt.Fprintf(out, "scored from %s on: the last %d ticks, every run replayed from the trace's start\n", rep.ScoreFrom, rep.Scaled.Ticks)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tviolating fraction\tcost (replica-h)\tcost vs oracle\tscale actions\t")
	row := func(name string, s simulate.Score) {
		fmt.Fprintf(tw, "%s\t%.4f\t%.1f\t%.2f\t%d\t\n", name, s.ViolatingRequestFraction, s.CostReplicaHours, s.CostVsOracle, s.ScaleActions)
	}
	row("scaled: "+rep.Scaler, rep.Scaled)
	for _, h := range rep.HPA {
		row(fmt.Sprintf("HPA reference u=%g", h.Target), h.Score)
	}
	row("oracle", rep.Oracle)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.HPA) > 0 {
		fmt.Fprintf(out, "\nThe HPA reference runs under the scaler's bounds.max (%d).\n", rep.HPA[0].MaxReplicas)
	}
	return nil
}

// plotFileFormat is the format of the --plot file named path, png or svg
// by its ending; "" when path is.
func plotFileFormat(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format != "png" && format != "svg" {
		return "", fmt.Errorf("--plot: %q: the file name must end in .png or .svg", path)
	}
	return format, nil
}
