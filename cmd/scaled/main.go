// Command scaled is the autoscaling decision daemon. This package only wires
// the parts together: config, sources, policies, actuators, the loop and telemetry.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "scaled:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "scaled",
		Short: "scaled sizes workloads on SLO signals and explains every decision",
		Long: `scaled reads SLO signals from Prometheus, lets policies recommend a capacity, passes the
recommendation through guards (bounds, tolerance, stabilisation, rate limits) and sets it on the
target, or in dry run only logs and exports it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCommand(), newCheckCommand(), newSimulateCommand(), newTuneCommand(), newVersionCommand())
	root.AddCommand(newForecastCommand(), newCalibrateCommand())
	uniformDurations(root)
	return root
}

// exitError carries a specific exit code (e.g. 2 for an invalid config).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e := (*exitError)(nil); errors.As(err, &e) {
		return e.code
	}
	return 1
}
