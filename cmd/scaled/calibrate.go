package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/simulate"
	"github.com/scaled-dev/scaled/pkg/sources"
)

type calibrateFlags struct {
	prometheus                          string
	requests, ready, latency, requested string
	slo                                 float64
	window, step, timeout               time.Duration
	end, format                         string
}

func newCalibrateCommand() *cobra.Command {
	f := calibrateFlags{}
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Estimate a service's capacity per replica and startup delay from its own metrics",
		Long: `Read a service's history from Prometheus and set the reference model (docs/model.md) to it:

  capacity   from --requests (requests/s of the whole service), --ready (its ready replicas) and
             --latency (its p95 in seconds): the M/M/1 rate mu that fits the busiest quarter of
             the points, and c, the requests/s one ready replica serves with p95 at --slo;
  startup    from --requested (the replicas asked for) and --ready: the time from each rise of
             the requested count to the ready count reaching it.

Give the queries of either part or both. Each is a range query over --range ending at --end,
every --step; points where a query has no value, or one that is not a finite number >= 0, are
left out. The report ends with the scaled simulate flags that state the service in its own terms.`,
		Example: `  scaled calibrate --prometheus.url http://localhost:9090 --slo 0.25 \
    --requests 'sum(rate(http_requests_total{job="web"}[1m]))' \
    --ready 'sum(kube_deployment_status_replicas_ready{deployment="web"})' \
    --latency 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[1m])))' \
    --requested 'sum(kube_deployment_spec_replicas{deployment="web"})'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCalibrate(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.prometheus, "prometheus.url", "", "the Prometheus-compatible HTTP API holding the service's history, required")
	fs.StringVar(&f.requests, "requests", "", "PromQL: requests/s the whole service receives")
	fs.StringVar(&f.ready, "ready", "", "PromQL: the service's ready replicas")
	fs.StringVar(&f.latency, "latency", "", "PromQL: the service's p95 latency in seconds")
	fs.StringVar(&f.requested, "requested", "", "PromQL: the replicas asked for (a Deployment's spec.replicas)")
	fs.Float64Var(&f.slo, "slo", 0, "the p95 latency objective in seconds (needed with --latency)")
	fs.DurationVar(&f.window, "range", 7*24*time.Hour, "how much history to read")
	fs.StringVar(&f.end, "end", "", "end of the history, RFC 3339 or unix seconds (default: now)")
	fs.DurationVar(&f.step, "step", 15*time.Second, "resolution of the range queries (a startup delay is timed to a step)")
	fs.DurationVar(&f.timeout, "prometheus.query-timeout", 2*time.Minute, "bound on each range query, all its pages included")
	fs.StringVar(&f.format, "format", "text", "report format: text or json")
	// The spellings of earlier releases still work, with a warning: every
	// other command spells these prometheus.url and prometheus.query-timeout.
	fs.StringVar(&f.prometheus, "prometheus-url", "", "")
	fs.DurationVar(&f.timeout, "query-timeout", 2*time.Minute, "")
	_ = fs.MarkDeprecated("prometheus-url", "use --prometheus.url, as every other command")
	_ = fs.MarkDeprecated("query-timeout", "use --prometheus.query-timeout, as every other command")
	return cmd
}

// calibrateReport is what calibrate found, as --format json prints it.
type calibrateReport struct {
	From           time.Time                  `json:"from"`
	To             time.Time                  `json:"to"`
	StepSeconds    float64                    `json:"step_seconds"`
	Capacity       *simulate.CapacityEstimate `json:"capacity,omitempty"`
	Startup        *startupReport             `json:"startup,omitempty"`
	MedianReplicas float64                    `json:"median_ready_replicas,omitempty"`
	SimulateFlags  []string                   `json:"simulate_flags"`
}

type startupReport struct {
	MedianSeconds float64 `json:"median_seconds"`
	P90Seconds    float64 `json:"p90_seconds"`
	ScaleUps      int     `json:"scale_ups"`
	Unfinished    int     `json:"unfinished"`
	Abandoned     int     `json:"abandoned"`
}

func (f calibrateFlags) validate() (end time.Time, errs []error) {
	if f.prometheus == "" {
		errs = append(errs, errors.New("--prometheus.url: empty: give the Prometheus API that holds the service's history"))
	}
	if f.format != "text" && f.format != "json" {
		errs = append(errs, fmt.Errorf("--format: %q: must be text or json", f.format))
	}
	capacity := f.requests != "" || f.latency != ""
	startup := f.requested != ""
	switch {
	case !capacity && !startup:
		errs = append(errs, errors.New("no query: give --requests, --ready and --latency (capacity), --requested and --ready (startup), or all four"))
	case capacity && (f.requests == "" || f.latency == "" || f.ready == ""):
		errs = append(errs, fmt.Errorf("--requests %q, --ready %q, --latency %q: the capacity needs all three", f.requests, f.ready, f.latency))
	case startup && f.ready == "":
		errs = append(errs, errors.New("--ready: empty: the startup delay needs it beside --requested"))
	}
	if capacity && (!(f.slo > 0) || math.IsInf(f.slo, 0)) {
		errs = append(errs, fmt.Errorf("--slo: %g: must be the p95 objective in seconds, > 0", f.slo))
	}
	if f.step <= 0 {
		errs = append(errs, fmt.Errorf("--step: %s: must be > 0", durfmt.Format(f.step)))
	}
	if f.window < 20*f.step || f.window <= 0 {
		errs = append(errs, fmt.Errorf("--range: %s: must hold at least 20 steps of %s", durfmt.Format(f.window), durfmt.Format(f.step)))
	}
	if f.timeout <= 0 {
		errs = append(errs, fmt.Errorf("--prometheus.query-timeout: %s: must be > 0", durfmt.Format(f.timeout)))
	}
	end = time.Now()
	if f.end != "" {
		t, err := parseTime(f.end)
		if err != nil {
			errs = append(errs, fmt.Errorf("--end: %q: must be RFC 3339 (2026-01-02T15:04:05Z) or unix seconds", f.end))
		}
		end = t
	}
	return end, errs
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	sec, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return time.Time{}, errors.New("not a time")
	}
	return time.Unix(0, int64(sec*1e9)).UTC(), nil
}

func runCalibrate(ctx context.Context, out io.Writer, f calibrateFlags) error {
	end, errs := f.validate()
	if len(errs) > 0 {
		return &exitError{code: 2, err: errors.Join(errs...)}
	}
	prom, err := sources.NewPrometheus(config.Prometheus{URL: f.prometheus, QueryTimeout: f.timeout})
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--prometheus.url: %w", err)}
	}
	end = end.Truncate(f.step)
	start := end.Add(-f.window)
	read := func(flag, expr string) ([]scaling.Sample, error) {
		if expr == "" {
			return nil, nil
		}
		// A comparison drops the points that are NaN (a quantile over no
		// requests), infinite or negative, instead of failing the range.
		s, err := prom.QueryRange(ctx, "("+expr+") >= 0 < +Inf", start, end, f.step)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return s, nil
	}
	rep := calibrateReport{From: start.UTC(), To: end.UTC(), StepSeconds: f.step.Seconds()}
	var ready, requests, latency, requested []scaling.Sample
	for _, q := range []struct {
		flag, expr string
		into       *[]scaling.Sample
	}{{"--ready", f.ready, &ready}, {"--requests", f.requests, &requests}, {"--latency", f.latency, &latency}, {"--requested", f.requested, &requested}} {
		if *q.into, err = read(q.flag, q.expr); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if f.latency != "" {
		c, err := simulate.EstimateCapacity(requests, ready, latency, f.slo)
		if err != nil {
			errs = append(errs, fmt.Errorf("capacity: %w", err))
		} else {
			rep.Capacity = &c
		}
	}
	if f.requested != "" {
		s, err := simulate.EstimateStartup(requested, ready)
		if err != nil {
			errs = append(errs, fmt.Errorf("startup: %w", err))
		} else {
			rep.Startup = &startupReport{
				MedianSeconds: s.Median.Seconds(), P90Seconds: s.P90.Seconds(),
				ScaleUps: s.ScaleUps, Unfinished: s.Unfinished, Abandoned: s.Abandoned,
			}
		}
	}
	if m, err := simulate.MedianReplicas(ready); err == nil {
		rep.MedianReplicas = m
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	rep.SimulateFlags = simulateFlagsFor(rep)
	if f.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeCalibration(out, rep)
}

// simulateFlagsFor are the scaled simulate flags that state the service as
// calibrated, rounded to what the measurement supports.
func simulateFlagsFor(rep calibrateReport) []string {
	var flags []string
	if c := rep.Capacity; c != nil {
		flags = append(flags, "--slo", strconv.FormatFloat(c.SLO, 'g', -1, 64),
			"--capacity-per-replica", strconv.FormatFloat(roundSig(c.C, 3), 'g', -1, 64))
	}
	if s := rep.Startup; s != nil {
		flags = append(flags, "--startup-delay", durfmt.Format(time.Duration(s.MedianSeconds)*time.Second))
	}
	if rep.MedianReplicas > 0 {
		flags = append(flags, "--median-replicas", strconv.FormatFloat(math.Round(rep.MedianReplicas), 'g', -1, 64))
	}
	return flags
}

// roundSig rounds x to n significant digits.
func roundSig(x float64, n int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

func writeCalibration(out io.Writer, rep calibrateReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "history: %s to %s, every %s\n", rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339), durfmt.Format(time.Duration(rep.StepSeconds*float64(time.Second))))
	if c := rep.Capacity; c != nil {
		fmt.Fprintf(&b, "\ncapacity per replica at a p95 SLO of %gs\n", c.SLO)
		fmt.Fprintf(&b, "  mu  %.2f req/s per replica: the M/M/1 rate that fits the busiest %d of %d points (middle half %.2f to %.2f)\n",
			c.Mu, c.Points, c.Usable, c.MuLow, c.MuHigh)
		fmt.Fprintf(&b, "  c   %.2f req/s per replica: mu - ln(20)/%g; a replica reaches the SLO at utilisation %.2f\n",
			c.C, c.SLO, c.UtilisationAtSLO)
		fmt.Fprintf(&b, "  the busiest points served %.2f to %.2f req/s per ready replica at a median p95 of %.2f x the SLO\n",
			c.BusiestFrom, c.BusiestTo, c.BusiestP95OverSLO)
		if c.BusiestP95OverSLO < 0.5 {
			fmt.Fprintf(&b, "  note: the service never came near its SLO in this history: c is extrapolated along the model's\n"+
				"        queueing curve, not measured; check it with a load test\n")
		}
		if c.MuHigh > 1.25*c.MuLow {
			fmt.Fprintf(&b, "  note: the per-point estimates spread widely: the service's latency does not follow the model closely\n")
		}
	}
	if s := rep.Startup; s != nil {
		fmt.Fprintf(&b, "\nstartup delay, from a rise of the requested replicas to as many ready\n")
		fmt.Fprintf(&b, "  median %s, p90 %s over %d scale-ups", durfmt.Format(time.Duration(s.MedianSeconds*float64(time.Second))), durfmt.Format(time.Duration(s.P90Seconds*float64(time.Second))), s.ScaleUps)
		if s.Unfinished+s.Abandoned > 0 {
			fmt.Fprintf(&b, " (%d more never ready within the history, %d undone first)", s.Unfinished, s.Abandoned)
		}
		b.WriteString("\n")
	}
	if rep.MedianReplicas > 0 {
		fmt.Fprintf(&b, "\nmedian ready replicas: %g\n", rep.MedianReplicas)
	}
	fmt.Fprintf(&b, "\nbacktest a config as this service:\n  scaled simulate --config CONFIG --trace TRACE %s\n", strings.Join(rep.SimulateFlags, " "))
	if c := rep.Capacity; c != nil {
		fmt.Fprintf(&b, "and in the example configs, divide by %.3g (the capacity per replica) where they divide by 7, and by %g (the SLO) where they divide by 1.0\n",
			roundSig(c.C, 3), c.SLO)
	}
	_, err := io.WriteString(out, b.String())
	return err
}
