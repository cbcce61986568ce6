// Command frontier draws, for one trace under the reference model (docs/model.md), three
// curves of violating fraction against cost: the HPA reference over a range
// of utilisation targets, and simulate.MeanReference with a trailing and a
// centred window over a range of margins. It then reads each curve at the
// cost of the HPA at u=0.6, by linear interpolation between its points:
//
//	go run ./hack/frontier --trace testdata/traces/nasa_http_aug95.csv
//	go run ./hack/frontier --trace testdata/traces/nasa_http_aug95.csv --startup-delay 10m --window 20m
//
// The centred reference knows the coming load's mean, which no policy can;
// where even it violates more than a target asks at a given cost, no policy
// reaches that target on that trace.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/scaled-dev/scaled/pkg/simulate"
	"github.com/scaled-dev/scaled/pkg/sources"
)

type point struct {
	label string
	s     simulate.Score
}

type curve struct {
	name string
	pts  []point
}

func main() {
	tracePath := flag.String("trace", "", "trace CSV (timestamp,value)")
	window := flag.Duration("window", 10*time.Minute, "span of the reference's mean")
	at := flag.Float64("at", 0.6, "read the curves at the cost of the HPA at this utilisation target")
	startup := flag.Duration("startup-delay", simulate.DefaultParams().S, "S: delay before a requested replica is ready, as scaled simulate's --startup-delay")
	flag.DurationVar(startup, "startup", *startup, "the same as --startup-delay (the earlier name)")
	format := flag.String("format", "text", "text, or json: every curve's points, for hack/bench-sim.sh")
	spread := flag.String("spread", "sqrt", "the reference's margin: sqrt (of the mean) or relative (to it)")
	flag.Parse()
	if err := run(*tracePath, *window, *at, *startup, *format, *spread); err != nil {
		fmt.Fprintln(os.Stderr, "frontier:", err)
		os.Exit(1)
	}
}

func run(tracePath string, window time.Duration, at float64, startup time.Duration, format, spread string) error {
	if tracePath == "" {
		return fmt.Errorf("--trace: empty: want a trace CSV")
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("--format: %q: must be text or json", format)
	}
	if spread != "sqrt" && spread != "relative" {
		return fmt.Errorf("--spread: %q: must be sqrt or relative", spread)
	}
	relative := spread == "relative"
	margins := []float64{0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75, 4, 4.25, 4.5, 4.75, 5}
	if relative {
		margins = []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1}
	}
	tr, err := sources.LoadTrace(tracePath)
	if err != nil {
		return err
	}
	params := simulate.DefaultParams()
	params.S = startup
	if err := params.Validate(); err != nil {
		return fmt.Errorf("--startup-delay: %w", err)
	}
	m, err := simulate.NewModel(tr, params)
	if err != nil {
		return err
	}
	var hpa []point
	for u := 0.40; u <= 0.851; u += 0.05 {
		hpa = append(hpa, point{fmt.Sprintf("u=%.2f", u), simulate.RunHPAReference(m, u, 100000)})
	}
	ref := simulate.RunHPAReference(m, at, 100000)
	curves := []curve{{"HPA reference", hpa}}
	for _, centred := range []bool{false, true} {
		var pts []point
		for _, k := range margins {
			run, err := simulate.PlayMeanReference(m, simulate.MeanReference{Window: window, Centred: centred, Margin: k, Relative: relative})
			if err != nil {
				return err
			}
			pts = append(pts, point{fmt.Sprintf("margin=%.2f", k), run.Score()})
		}
		name := "trailing mean (" + window.String() + ")"
		if centred {
			name = "centred mean (" + window.String() + ", reads ahead)"
		}
		curves = append(curves, curve{name, pts})
	}
	if format == "json" {
		return writeJSON(os.Stdout, startup, window, curves)
	}
	fmt.Printf("# %s, startup %s: violating fraction / cost vs oracle / scale actions\n\n", tracePath, startup)
	for _, c := range curves {
		fmt.Printf("%s:\n", c.name)
		for _, p := range c.pts {
			fmt.Printf("  %-12s %.4f / %.3f / %d\n", p.label, p.s.ViolatingRequestFraction, p.s.CostVsOracle, p.s.ScaleActions)
		}
	}
	fmt.Printf("\nAt the cost of the HPA at u=%.2f (%.3f x the oracle, violating %.4f):\n", at, ref.CostVsOracle, ref.ViolatingRequestFraction)
	for _, c := range curves {
		v, ok := readAt(c.pts, ref.CostVsOracle)
		if !ok {
			fmt.Printf("  %-40s outside the curve's costs\n", c.name)
			continue
		}
		if ref.ViolatingRequestFraction > 0 {
			fmt.Printf("  %-40s violating %.4f (%.2f x the HPA's)\n", c.name, v, v/ref.ViolatingRequestFraction)
		} else {
			fmt.Printf("  %-40s violating %.4f\n", c.name, v)
		}
	}
	return nil
}

// readAt interpolates a curve's violating fraction at a cost, between the
// two points whose costs bracket it.
func readAt(pts []point, cost float64) (float64, bool) {
	s := append([]point(nil), pts...)
	sort.Slice(s, func(i, j int) bool { return s[i].s.CostVsOracle < s[j].s.CostVsOracle })
	for i := 1; i < len(s); i++ {
		a, b := s[i-1].s, s[i].s
		if a.CostVsOracle <= cost && cost <= b.CostVsOracle {
			if b.CostVsOracle == a.CostVsOracle {
				return min(a.ViolatingRequestFraction, b.ViolatingRequestFraction), true
			}
			f := (cost - a.CostVsOracle) / (b.CostVsOracle - a.CostVsOracle)
			return a.ViolatingRequestFraction + f*(b.ViolatingRequestFraction-a.ViolatingRequestFraction), true
		}
	}
	return 0, false
}

// jsonPoint is one point of a curve as --format json writes it.
type jsonPoint struct {
	Label     string  `json:"label"`
	Violating float64 `json:"violating"`
	Cost      float64 `json:"cost_vs_oracle"`
	Actions   int     `json:"scale_actions"`
}

// writeJSON writes the curves by role: hpa, trailing, centred.
func writeJSON(w io.Writer, startup, window time.Duration, curves []curve) error {
	out := map[string]any{"startup_seconds": startup.Seconds(), "window_seconds": window.Seconds()}
	for i, role := range []string{"hpa", "trailing", "centred"} {
		var pts []jsonPoint
		for _, p := range curves[i].pts {
			pts = append(pts, jsonPoint{p.label, p.s.ViolatingRequestFraction, p.s.CostVsOracle, p.s.ScaleActions})
		}
		out[role] = pts
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
