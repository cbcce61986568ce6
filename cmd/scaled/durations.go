package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/scaled-dev/scaled/internal/durfmt"
)

// durationFlag wraps a duration flag's own value: it takes durfmt.Parse's
// syntax, hands the value on in Go's, and shows it as durfmt.Format does.
type durationFlag struct{ inner pflag.Value }

func (d durationFlag) Type() string { return "duration" }

func (d durationFlag) String() string {
	v, err := durfmt.Parse(d.inner.String())
	if err != nil {
		return d.inner.String()
	}
	return durfmt.Format(v)
}

func (d durationFlag) Set(s string) error {
	v, err := durfmt.Parse(s)
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
		if def, err := durfmt.Parse(f.DefValue); err == nil {
			f.DefValue = durfmt.Format(def)
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
