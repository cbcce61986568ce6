package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

func newCheckCommand() *cobra.Command {
	v := viper.New()
	var path, daemon string
	var query bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate a config or Scaler manifests; with --query also run each signal once and print what came back",
		Long: `Validate a config and report every problem at once, each with its path, its value and what is
allowed. With --query, evaluate every signal once, and fetch the history of every predictive policy
as it will at start: how much there is, whether it reaches min_history, and which forecasting models
it allows now and later. Exit status: 0 valid, 2 invalid, 1 when --query found a failing signal.

The file may also hold Scaler objects (kind: Scaler, as kubectl apply takes them): each is checked
as the scaled named by --daemon-config (default: built-in defaults) would check it in its namespace,
tenancy included, with the same messages its status would carry.

The flags after --daemon-config override the config's keys that a check uses, as they do for scaled
run. scaled run's other flags are taken too, and checked, so that a check of run's command line
says what run would say; --help lists only those that change what a check does.`,
		Example: `  scaled check --config scaled.yaml
  scaled check --config scaled.yaml --query     # also run every query once against Prometheus
  scaled check --config examples/scalers/web.yaml --daemon-config scaled.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return check(cmd.Context(), cmd.OutOrStdout(), v, path, daemon, query)
		},
	}
	// --config and --query first, the overrides of the config's keys after.
	cmd.Flags().SortFlags = false
	cmd.Flags().StringVarP(&path, "config", "c", "scaled.yaml", "config file, or Scaler manifests (YAML)")
	cmd.Flags().BoolVar(&query, "query", false, "evaluate every signal once against its source and print the result")
	cmd.Flags().StringVar(&daemon, "daemon-config", "", "for Scaler manifests: the config of the scaled that runs them")
	config.BindFlags(cmd.Flags(), v)
	// What only the daemon acts on (its listener, logs, leases, kept
	// decisions) is still taken and checked, but not listed.
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !checkFlags[f.Name] {
			f.Hidden = true
		}
	})
	return cmd
}

// checkFlags are the flags --help lists for check: its own, and the
// overrides of the config's keys that change what a check does beyond
// checking their own values: where --query asks, how long it waits, and
// the interval the scalers' windows and histories go by.
var checkFlags = map[string]bool{
	"config": true, "query": true, "daemon-config": true, "help": true,
	"prometheus.url": true, "prometheus.query-timeout": true, "interval": true,
}

func check(ctx context.Context, out io.Writer, v *viper.Viper, path, daemon string, query bool) error {
	placeholder := simulatedPrometheusURL
	if query {
		placeholder = ""
	}
	dcfg, err := daemonConfig(daemon, v, placeholder)
	if err != nil && daemon != "" {
		return &exitError{code: 2, err: err}
	}
	data, err := readConfigFile(path)
	if err == nil && dcfg != nil {
		manifests, err := readManifests(path, data, dcfg)
		if err == nil && len(manifests) > 0 {
			return checkManifests(ctx, out, path, dcfg, manifests, query)
		}
	}
	var cfg *config.Config
	if err == nil {
		cfg, err = config.LoadData(path, data, v)
	}
	if err != nil {
		problems := problemLines(err)
		fmt.Fprintf(out, "%s: %d problem(s)\n", path, len(problems))
		for _, p := range problems {
			fmt.Fprintf(out, "  %s\n", p)
		}
		return &exitError{code: 2, err: fmt.Errorf("%s is not valid", path)}
	}
	objects := ""
	if cfg.ScalerObjects.Enabled {
		objects = ", and the cluster's Scaler objects"
	}
	fmt.Fprintf(out, "%s: valid, %d scaler(s)%s\n", path, len(cfg.Scalers), objects)
	for i, sc := range cfg.Scalers {
		for j, sig := range sc.Signals {
			if _, ok := sig.Source.Spec.(*sources.QuerySpec); ok && sig.MaxAge > 0 && !sources.IsSelector(sig.Expr()) {
				fmt.Fprintf(out, "  note: scalers[%d].signals[%d].max_age: %s: the query is computed, so its answer is stamped with the evaluation time and max_age cannot see how old its data is (see docs/configuration.md, \"What max_age can see\")\n", i, j, durfmt.Format(sig.MaxAge))
			}
		}
	}
	if !query {
		return nil
	}
	return querySignals(ctx, out, cfg, cfg.Scalers)
}

// checkManifests reports the problems of each Scaler object of path, or
// that all are valid; with query, it runs their signals once.
func checkManifests(ctx context.Context, out io.Writer, path string, daemon *config.Config, ms []v1alpha1.Manifest, query bool) error {
	var lines []string
	for _, m := range ms {
		for _, p := range fielderr.Lines(m.Problems) {
			lines = append(lines, fmt.Sprintf("Scaler %s (line %d): %s", m.Key(), m.Line, p))
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(out, "%s: %d problem(s)\n", path, len(lines))
		for _, l := range lines {
			fmt.Fprintf(out, "  %s\n", l)
		}
		return &exitError{code: 2, err: fmt.Errorf("%s is not valid", path)}
	}
	fmt.Fprintf(out, "%s: valid, %d Scaler object(s)\n", path, len(ms))
	if !query {
		return nil
	}
	scalers := make([]config.Scaler, len(ms))
	for i, m := range ms {
		scalers[i] = m.Scaler
	}
	return querySignals(ctx, out, daemon, scalers)
}

// querySignals evaluates every signal of scalers once, as cfg's scaled would.
func querySignals(ctx context.Context, out io.Writer, cfg *config.Config, scalers []config.Scaler) error {
	if cfg.Prometheus.URL == "" {
		for _, sc := range scalers {
			for _, sig := range sc.Signals {
				if _, ok := sig.Source.Spec.(sources.PrometheusBacked); ok {
					return &exitError{code: 2, err: errors.New("--query: no prometheus.url: set it in --daemon-config, SCALED_PROMETHEUS_URL or --prometheus.url")}
				}
			}
		}
	}
	clk := clock.RealClock{}
	factories := newFactories(zap.NewNop(), clk, nil, withExactTime())
	failed := 0
	// Every signal is asked about one time, so that the signals of a
	// grouped query share one request.
	now := clk.Now()
	for _, declared := range scalers {
		sc, err := cfg.Resolve(declared)
		if err != nil {
			failed++
			fmt.Fprintf(out, "  %s: FAILED: %v\n", declared.Name, err)
			continue
		}
		for _, sig := range sc.Signals {
			q, err := factories.Source(&sc, sig)
			if err != nil {
				failed++
				fmt.Fprintf(out, "  %s/%s: FAILED: %v\n", sc.Name, sig.Name, err)
				continue
			}
			qctx, cancel := context.WithTimeout(ctx, sc.QueryTimeout)
			s, err := sources.QueryMaxAge(qctx, q, sig.Expr, now, sig.MaxAge)
			cancel()
			if err == nil {
				err = sig.ValidRange.Check(sig.Name, s.Value)
			}
			if err != nil {
				failed++
				fmt.Fprintf(out, "  %s/%s: FAILED (%s): %v\n", sc.Name, sig.Name, scaling.KindOf(err), err)
				continue
			}
			fmt.Fprintf(out, "  %s/%s = %g (at %s)\n", sc.Name, sig.Name, s.Value, s.Time.UTC().Format(time.RFC3339))
		}
	}
	failed += checkHistory(ctx, out, cfg, factories, clk.Now()) // check_history.go
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d signal(s) failed", failed)}
	}
	return nil
}

// problemLines is one line per problem: each of config.Problems, or the
// lines of any other error (an unreadable file, a YAML syntax error).
func problemLines(err error) []string {
	var lines []string
	for _, e := range flatten(err) {
		lines = append(lines, strings.Split(e.Error(), "\n")...)
	}
	return lines
}

// flatten unwraps joined errors down to single ones.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
