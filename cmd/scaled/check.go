package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

func newCheckCommand() *cobra.Command {
	v := viper.New()
	var path string
	var query bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate a config; with --query also run each signal once and print what came back",
		Long: `Validate a config and report every problem at once, each with its path, its value and what is
allowed. With --query, evaluate every signal once, and fetch the history of every predictive policy
as it will at start: how much there is, whether it reaches min_history, and which forecasting models
it allows now and later. Exit status: 0 valid, 2 invalid, 1 when --query found a failing signal.

The flags after --query override the config's global keys, as they do for scaled run.`,
		Example: `  scaled check --config scaled.yaml
  scaled check --config scaled.yaml --query     # also run every query once against Prometheus`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return check(cmd.Context(), cmd.OutOrStdout(), v, path, query)
		},
	}
	// --config and --query first, the overrides of the config's keys after.
	cmd.Flags().SortFlags = false
	cmd.Flags().StringVarP(&path, "config", "c", "scaled.yaml", "config file (YAML)")
	cmd.Flags().BoolVar(&query, "query", false, "evaluate every signal once against its source and print the result")
	config.BindFlags(cmd.Flags(), v)
	return cmd
}

func check(ctx context.Context, out io.Writer, v *viper.Viper, path string, query bool) error {
	cfg, err := config.Load(path, v)
	if err != nil {
		problems := problemLines(err)
		fmt.Fprintf(out, "%s: %d problem(s)\n", path, len(problems))
		for _, p := range problems {
			fmt.Fprintf(out, "  %s\n", p)
		}
		return &exitError{code: 2, err: fmt.Errorf("%s is not valid", path)}
	}
	fmt.Fprintf(out, "%s: valid, %d scaler(s)\n", path, len(cfg.Scalers))
	if !query {
		return nil
	}
	clk := clock.RealClock{}
	factories := newFactories(zap.NewNop(), clk, nil)
	failed := 0
	for _, sc := range cfg.Scalers {
		for _, sig := range sc.Signals {
			q, err := factories.Source(cfg, sc.Name, sig)
			if err != nil {
				failed++
				fmt.Fprintf(out, "  %s/%s: FAILED: %v\n", sc.Name, sig.Name, err)
				continue
			}
			timeout := cfg.Prometheus.QueryTimeout
			qctx, cancel := context.WithTimeout(ctx, timeout)
			now := clk.Now()
			s, err := sources.QueryMaxAge(qctx, q, sig.Expr(), now, sig.MaxAge)
			cancel()
			if err == nil {
				err = sig.Range().Check(sig.Name, s.Value)
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
