package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// historyFlags select a trace from Prometheus instead of a file: the
// workload's own history.
type historyFlags struct {
	query         string
	rangeLen      time.Duration
	end           string
	step          time.Duration
	prometheusURL string
}

func addHistoryFlags(fs *pflag.FlagSet, h *historyFlags) {
	fs.StringVar(&h.query, "query", "", "read the trace from Prometheus: PromQL giving the load per second, e.g. sum(rate(http_requests_total[1m]))")
	fs.DurationVar(&h.rangeLen, "range", 14*24*time.Hour, "with --query: how much history, ending at --end (14d, 36h, ...)")
	fs.StringVar(&h.end, "end", "", "with --query: end of the history, RFC 3339 (default: now)")
	fs.DurationVar(&h.step, "step", time.Minute, "with --query: the trace's step")
	fs.StringVar(&h.prometheusURL, "prometheus.url", "", "with --query: the Prometheus to read (default: the config's prometheus.url, or SCALED_PROMETHEUS_URL)")
}

// validate reports every problem with the trace flags at once.
func (h *historyFlags) validate(trace string, now time.Time) (end time.Time, err error) {
	var errs []error
	switch {
	case trace == "" && h.query == "":
		errs = append(errs, errors.New("--trace, --query: both empty: give a trace file or a query"))
	case trace != "" && h.query != "":
		errs = append(errs, fmt.Errorf("--trace %s, --query: both set: give one", trace))
	}
	end = now
	if h.end != "" {
		t, perr := time.Parse(time.RFC3339, h.end)
		switch {
		case perr != nil:
			errs = append(errs, fmt.Errorf("--end: %q: must be RFC 3339, e.g. 2025-03-01T00:00:00Z", h.end))
		case t.After(now):
			errs = append(errs, fmt.Errorf("--end: %s: must not be in the future", h.end))
		default:
			end = t
		}
	}
	if h.step < time.Second || h.step%time.Second != 0 {
		errs = append(errs, fmt.Errorf("--step: %s: must be a whole number of seconds >= 1s", durfmt.Format(h.step)))
	}
	if h.rangeLen < 2*h.step {
		errs = append(errs, fmt.Errorf("--range: %s: must be at least two steps (%s)", durfmt.Format(h.rangeLen), durfmt.Format(2*h.step)))
	}
	return end, errors.Join(errs...)
}

// historySource is the Prometheus --query reads: the config's, at
// --prometheus.url when that is set.
func (h *historyFlags) historySource(prom config.Prometheus) (*sources.Prometheus, string, error) {
	if h.prometheusURL != "" {
		prom.URL = h.prometheusURL
	}
	if prom.URL == "" || prom.URL == simulatedPrometheusURL {
		return nil, "", errors.New("--prometheus.url: empty: set it, or prometheus.url in the config, to read --query")
	}
	if prom.QueryTimeout <= 0 {
		prom.QueryTimeout = config.DefaultQueryTimeout
	}
	p, err := sources.NewPrometheus(prom)
	if err != nil {
		return nil, "", fmt.Errorf("--prometheus.url: %s: %w", prom.URL, err)
	}
	return p, prom.URL, nil
}

// historyTrace reads the trace --query names from p, paged at
// sources.MaxRangePoints per query, and says on note what it found.
func historyTrace(ctx context.Context, note io.Writer, h historyFlags, end time.Time, p *sources.Prometheus, url string) (*sources.Trace, string, error) {
	start := end.Add(-h.rangeLen)
	rt, err := sources.TraceFromRange(ctx, p, h.query, start, end, h.step)
	if err != nil {
		return nil, "", fmt.Errorf("--query: %w", err)
	}
	name := fmt.Sprintf("%s over %s to %s", h.query, durfmt.Format(h.rangeLen), end.UTC().Format(time.RFC3339))
	got := time.Duration(len(rt.Samples)) * h.step
	fmt.Fprintf(note, "history from %s: %d steps of %s (%s)", url, len(rt.Samples), durfmt.Format(h.step), durfmt.Format(got))
	if rt.Leading > 0 {
		fmt.Fprintf(note, "; the series starts %s after the range does", durfmt.Format(time.Duration(rt.Leading)*h.step))
	}
	if rt.Missing > 0 {
		fmt.Fprintf(note, "; %d missing steps filled with the value before", rt.Missing)
	}
	fmt.Fprintln(note)
	return rt.Trace, name, nil
}
