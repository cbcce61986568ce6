// Command frontier draws, for one trace under SIMULATION.md's model, three
// curves of violating fraction against cost: the HPA reference over a range
// of utilisation targets, and simulate.MeanReference with a trailing and a
// centred window over a range of margins. It then reads each curve at the
// cost of the HPA at u=0.6, by linear interpolation between its points:
//
//	go run ./hack/frontier --trace ../shared/traces/nasa_http_aug95.csv
//
// The centred reference knows the coming load's mean, which no policy can;
// where even it violates more than a target asks at a given cost, no policy
// reaches that target on that trace.
package main

import (
	"flag"
	"fmt"
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
	startup := flag.Duration("startup", simulate.DefaultParams().S, "S: delay before a requested replica is ready")
	flag.Parse()
	if err := run(*tracePath, *window, *at, *startup); err != nil {
		fmt.Fprintln(os.Stderr, "frontier:", err)
		os.Exit(1)
	}
}

func run(tracePath string, window time.Duration, at float64, startup time.Duration) error {
	if tracePath == "" {
		return fmt.Errorf("--trace: empty: want a trace CSV")
	}
	tr, err := sources.LoadTrace(tracePath)
	if err != nil {
		return err
	}
	params := simulate.DefaultParams()
	params.S = startup
	if err := params.Validate(); err != nil {
		return fmt.Errorf("--startup: %w", err)
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
		for k := 0.0; k <= 5.001; k += 0.25 {
			run, err := simulate.PlayMeanReference(m, simulate.MeanReference{Window: window, Centred: centred, Margin: k})
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
