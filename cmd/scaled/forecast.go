package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/forecast"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/sources"
)

type forecastFlags struct {
	trace, model, out string
	horizon, warmup   time.Duration
	window, refit     time.Duration
	quantile          float64
	// config and scaler take the settings of a scaler's predictive policy.
	config, scaler string
}

func newForecastCommand() *cobra.Command {
	f := forecastFlags{}
	cmd := &cobra.Command{
		Use:   "forecast",
		Short: "Forecast a recorded trace step by step, as the predictive policy would, and score it",
		Long: `Walk through a trace (CSV: timestamp,value) as the predictive policy sees it: after
--min-history, at every step, forecast the value --horizon ahead from the past only, refitting the
model every --refit-every on the newest --history. Writes one CSV row per step:

  time,target_time,forecast,lower,upper,model

(unix seconds, values in the trace's own units, lower and upper the interval at --quantile), then
the accuracy against the actual values next to the daily seasonal naive forecast ("same time
yesterday"): MAE, MASE (MAE over seasonal naive's MAE on the same targets) and sMAPE.

With --config, the settings are those of a scaler's predictive policy (its model, quantile,
history, min_history and refit_every; the horizon is its startup delay plus lead, rounded up to the
trace's step), and the trace is its signal's replay trace unless --trace names one: a flag given
on the command line still wins.`,
		Example: `  scaled forecast --trace testdata/traces/nasa_http_aug95.csv --horizon 5m
  scaled forecast --trace testdata/traces/worldcup98.csv --horizon 5m --model hw_mul_daily --out forecast.csv
  scaled forecast --config examples/simulate/recommended.yaml --trace testdata/traces/nasa_http_aug95.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.config != "" {
				if err := fromConfig(cmd.Flags().Changed, &f); err != nil {
					return err
				}
			}
			if f.trace == "" {
				return &exitError{code: 2, err: errors.New("--trace: required (or --config with a scaler whose predictive signal replays a trace)")}
			}
			return runForecast(cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.trace, "trace", "", "trace CSV (timestamp,value); required unless --config names a replayed signal")
	fs.StringVarP(&f.config, "config", "c", "", "take the settings (and the trace, if it replays one) of a scaler's predictive policy from this config")
	fs.StringVar(&f.scaler, "scaler", "", "with --config: the scaler (default: the config's only scaler with a predictive policy)")
	fs.DurationVar(&f.horizon, "horizon", 5*time.Minute, "how far ahead to forecast: a multiple of the trace's step")
	fs.StringVar(&f.model, "model", forecast.Auto, "model: "+strings.Join(forecast.ModelNames, ", "))
	fs.StringVar(&f.out, "out", "", "write the forecast CSV to this file (default: standard output, the accuracy to standard error)")
	aliasedDuration(fs, &f.warmup, "min-history", "warmup", 24*time.Hour, "history seen before the first forecast (a predictive policy's min_history)")
	aliasedDuration(fs, &f.window, "history", "window", 14*24*time.Hour, "most history a refit sees (a predictive policy's history)")
	aliasedDuration(fs, &f.refit, "refit-every", "refit", time.Hour, "refit (select and fit the model) after this much new data (a predictive policy's refit_every)")
	fs.Float64Var(&f.quantile, "quantile", 0.9, "upper quantile of the interval, in [0.5, 1)")
	return cmd
}

// fromConfig fills what the command line did not set from the predictive
// policy of the scaler f names in f.config.
func fromConfig(given func(string) bool, f *forecastFlags) error {
	usage := func(err error) error { return &exitError{code: 2, err: err} }
	cfg, err := config.Load(f.config, nil)
	if err != nil {
		return usage(err)
	}
	type candidate struct {
		sc   config.Scaler
		name string
		spec *policy.PredictiveSpec
	}
	var found []candidate
	for _, sc := range cfg.Scalers {
		if f.scaler != "" && sc.Name != f.scaler {
			continue
		}
		for _, p := range sc.Policies {
			if spec, ok := p.Spec.(*policy.PredictiveSpec); ok {
				found = append(found, candidate{sc, p.Name, spec})
				break
			}
		}
	}
	switch {
	case len(found) == 0 && f.scaler != "":
		return usage(fmt.Errorf("--scaler: %q: no scaler of that name with a predictive policy in %s", f.scaler, f.config))
	case len(found) == 0:
		return usage(fmt.Errorf("--config: %s: no scaler has a predictive policy", f.config))
	case len(found) > 1:
		names := make([]string, len(found))
		for i, c := range found {
			names[i] = c.sc.Name
		}
		return usage(fmt.Errorf("--scaler: required: %s has several scalers with a predictive policy: %s", f.config, strings.Join(names, ", ")))
	}
	c := found[0]
	spec := *c.spec
	spec.Default()
	set := func(flag string, apply func()) {
		if !given(flag) {
			apply()
		}
	}
	set("model", func() { f.model = spec.Model })
	set("quantile", func() { f.quantile = spec.Quantile })
	set("history", func() { f.window = spec.History })
	set("min-history", func() { f.warmup = spec.MinHistory })
	set("refit-every", func() { f.refit = spec.RefitEvery })
	startup := spec.StartupDelay
	if startup == 0 {
		if r, err := cfg.Resolve(c.sc); err == nil {
			startup = r.StartupDelay
		}
	}
	if startup == 0 {
		startup = time.Minute
	}
	set("horizon", func() { f.horizon = startup + spec.Lead })
	if f.trace == "" {
		for _, sig := range c.sc.Signals {
			if r, ok := sig.Source.Spec.(*sources.ReplaySpec); ok && sig.Name == spec.Signal {
				f.trace = r.Trace
			}
		}
		if f.trace == "" {
			return usage(fmt.Errorf("--trace: required: %s's signal %s is not a replay; give a recording of it (scaled simulate --query reads one from Prometheus)", c.sc.Name, spec.Signal))
		}
	}
	f.config = fmt.Sprintf("%s (scaler %s, policy %s)", f.config, c.sc.Name, c.name)
	return nil
}

// aliasedDuration defines a duration flag under name, and old as a
// deprecated alias of it that --help no longer shows.
func aliasedDuration(fs *pflag.FlagSet, p *time.Duration, name, old string, def time.Duration, usage string) {
	fs.DurationVar(p, name, def, usage)
	fs.DurationVar(p, old, def, usage)
	_ = fs.MarkDeprecated(old, "use --"+name)
}

func runForecast(stdout, stderr io.Writer, f forecastFlags) error {
	usage := func(err error) error { return &exitError{code: 2, err: err} }
	if !slices.Contains(forecast.ModelNames, f.model) {
		return usage(fmt.Errorf("--model: %q: must be one of %s", f.model, strings.Join(forecast.ModelNames, ", ")))
	}
	if f.quantile < 0.5 || f.quantile >= 1 {
		return usage(fmt.Errorf("--quantile: %v: must be in [0.5, 1)", f.quantile))
	}
	tr, err := sources.LoadTrace(f.trace)
	if err != nil {
		return err
	}
	step := tr.Step
	if f.config != "" && f.horizon%step != 0 {
		f.horizon = (f.horizon/step + 1) * step // a policy's horizon, rounded up to the trace's step
	}
	switch {
	case f.horizon < step:
		return usage(fmt.Errorf("--horizon: %s: shorter than the trace's step (%s): a forecast cannot be finer than its data; use at least %[2]s", durfmt.Format(f.horizon), durfmt.Format(step)))
	case f.horizon%step != 0:
		return usage(fmt.Errorf("--horizon: %s: must be a multiple of the trace's step (%s)", durfmt.Format(f.horizon), durfmt.Format(step)))
	}
	for name, d := range map[string]time.Duration{"--min-history": f.warmup, "--history": f.window, "--refit-every": f.refit} {
		if d < step {
			return usage(fmt.Errorf("%s: %s: must be at least the trace's step (%s)", name, durfmt.Format(d), durfmt.Format(step)))
		}
	}
	periods, err := forecast.PeriodsFor(step)
	if err != nil {
		return usage(fmt.Errorf("--trace: %s: %w", f.trace, err))
	}
	y := make([]float64, len(tr.Samples))
	for i, s := range tr.Samples {
		y[i] = s.Value
	}
	csvOut, report := stdout, stderr
	if f.out != "" {
		file, err := os.Create(f.out)
		if err != nil {
			return err
		}
		defer file.Close()
		csvOut, report = file, stdout
	}
	w := bufio.NewWriter(csvOut)
	fmt.Fprintln(w, "time,target_time,forecast,lower,upper,model")
	t0 := tr.Samples[0].Time
	at := func(i int) int64 { return t0.Add(time.Duration(i) * step).Unix() }
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	h := int(f.horizon / step)
	res, err := forecast.Walk(y, periods, forecast.WalkOptions{
		Horizon:    h,
		Warmup:     int(f.warmup / step),
		Window:     int(f.window / step),
		RefitEvery: int(f.refit / step),
		Model:      f.model,
		Quantile:   f.quantile,
	}, func(p forecast.WalkPoint) error {
		// The row's time is the last observed step, the forecast made at its end.
		_, err := fmt.Fprintf(w, "%d,%d,%s,%s,%s,%s\n", at(p.Origin-1), at(p.Target),
			num(round4(p.Point)), num(round4(p.Lower)), num(round4(p.Upper)), p.Model)
		return err
	})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if res.First < 0 {
		return fmt.Errorf("--trace: %s: %d points: too short for any model after %s of --min-history", f.trace, len(y), durfmt.Format(f.warmup))
	}
	if f.config != "" {
		fmt.Fprintf(report, "settings of %s\n", f.config)
	}
	fmt.Fprintf(report, "%s: step %s, horizon %s (%d steps), model %s, refit every %s on at most %s, first forecast after %s\n",
		f.trace, durfmt.Format(step), durfmt.Format(f.horizon), h, f.model, durfmt.Format(f.refit), durfmt.Format(f.window), durfmt.Format(time.Duration(res.First)*step))
	fmt.Fprintf(report, "%-28s %8s %12s %8s %8s\n", "forecast", "n", "MAE", "MASE", "sMAPE")
	row := func(name string, s forecast.Score) {
		fmt.Fprintf(report, "%-28s %8d %12.4g %8.4f %8.4f\n", name, s.N, s.MAE, s.MASE, s.SMAPE)
	}
	row(f.model, res.Model)
	row("seasonal naive (daily)", res.SeasonalNaive)
	names := make([]string, 0, len(res.Chosen))
	for n := range res.Chosen {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, res.Chosen[n])
	}
	fmt.Fprintf(report, "models chosen at refits: %s\n", strings.Join(parts, ", "))
	return nil
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
