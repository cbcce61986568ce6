package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// fmtDuration is how every command writes a duration: Go's syntax, which
// the config, a Scaler object and every flag take, without its zero units
// (336h, 1h30m, 1m, 15s rather than 336h0m0s, 1h30m0s, 1m0s).
func fmtDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d < 0 {
		return "-" + fmtDuration(-d)
	}
	if d < time.Second {
		return d.String()
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
		d -= m * time.Minute
	}
	if d > 0 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s")
	}
	return b.String()
}

// parseDuration takes Go's syntax (1h30m, 1.5h, 90s) or Prometheus' (14d,
// 2w, 1y), so that a flag takes what a PromQL range or a config does.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("%q: must be a duration such as 90s, 15m, 36h or 14d", s)
}

// durationFlag wraps a duration flag's own value: it takes parseDuration's
// syntax, hands the value on in Go's, and shows it as fmtDuration does.
type durationFlag struct{ inner pflag.Value }

func (d durationFlag) Type() string { return "duration" }

func (d durationFlag) String() string {
	v, err := parseDuration(d.inner.String())
	if err != nil {
		return d.inner.String()
	}
	return fmtDuration(v)
}

func (d durationFlag) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), strconv.Quote(strings.TrimSpace(s))+": "))
	}
	return d.inner.Set(v.String())
}

// uniformDurations gives every duration flag of cmd and its subcommands
// one syntax in and one out: each takes Go's and Prometheus' durations,
// and --help shows its default as every command writes durations.
func uniformDurations(cmd *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if _, done := f.Value.(durationFlag); done || f.Value.Type() != "duration" {
			return
		}
		f.Value = durationFlag{f.Value}
		if def, err := parseDuration(f.DefValue); err == nil {
			f.DefValue = fmtDuration(def)
			if def == 0 {
				f.DefValue = "0" // shown as no default, as pflag shows 0s
			}
		}
	}
	cmd.Flags().VisitAll(wrap)
	cmd.PersistentFlags().VisitAll(wrap)
	for _, c := range cmd.Commands() {
		uniformDurations(c)
	}
}
