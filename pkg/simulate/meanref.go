package simulate

import (
	"fmt"
	"math"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
)

// MeanReference is a yardstick for what any policy can reach on a trace: a
// rule that asks for the capacity the local mean load needs plus a margin,
//
//	need = max(1, ceil(mean + Margin*sqrt(mean)))      (mean in replicas)
//
// and holds, at each tick, the largest need of the ticks until a replica
// asked for now would be ready (so that a decrease never removes a replica
// the next S still needs).
//
// With Centred, mean is the true mean load of the Window around each tick,
// future included: more than any forecast can know. Without it, the same
// rule sees only the Window of load that ended before the tick: the mean a
// reactive policy could compute. Sweeping Margin traces each one's curve of
// violating fraction against cost; the gap between the two curves is what a
// perfect forecast of the local mean is worth, and the distance of the
// centred curve from zero is the minute-to-minute noise no policy can
// foresee. A MeanReference is not a policy: Centred reads the future.
//
// With Relative, the margin is Margin times the mean rather than times its
// square root: the yardstick for a load whose swings grow in proportion to
// it (the World Cup's), where a square-root margin is the wrong shape.
type MeanReference struct {
	Window   time.Duration // the span the mean is taken over, >= T
	Centred  bool          // the window is centred on the tick (reads ahead)
	Margin   float64       // replicas per square root of the mean (per replica with Relative), >= 0
	Relative bool          // the margin grows in proportion to the mean
}

// Validate reports the first bad field, naming it, its value and what is allowed.
func (r MeanReference) Validate(m *Model) error {
	if r.Window < m.T {
		return fmt.Errorf("window: %s: must be at least the tick (%s)", durfmt.D(r.Window), durfmt.D(m.T))
	}
	if r.Margin < 0 || math.IsNaN(r.Margin) || math.IsInf(r.Margin, 0) {
		return fmt.Errorf("margin: %v: must be a finite number >= 0", r.Margin)
	}
	return nil
}

// PlayMeanReference plays r over the whole model and returns the finished
// run (for its timeline, pass WithTimeline).
func PlayMeanReference(m *Model, r MeanReference, opts ...RunOption) (*Run, error) {
	if err := r.Validate(m); err != nil {
		return nil, err
	}
	n := m.Ticks()
	prefix := make([]float64, n+1) // prefix[i] = load of ticks 0..i-1
	for i := range n {
		prefix[i+1] = prefix[i] + m.Load(i)
	}
	width := max(1, int(r.Window/m.T))
	ahead := int(m.S / m.T) // ticks until a replica asked for now is ready
	// need(j) is the need at tick j; the window is [lo, hi) in ticks.
	need := func(j int) int32 {
		var lo int
		if r.Centred {
			lo = j - width/2
		} else {
			// Ends before the earliest tick whose decision this need feeds
			// (j-ahead), so a run at tick i reads only ticks before i.
			lo = j - ahead - width
		}
		hi := lo + width
		lo, hi = max(0, lo), min(n, hi)
		if hi <= lo {
			// Nothing before the trace: start where the HPA reference
			// does, from the first tick's load.
			lo, hi = 0, 1
		}
		mean := (prefix[hi] - prefix[lo]) / float64(hi-lo)
		if r.Relative {
			return max(1, int32(math.Ceil(mean*(1+r.Margin))))
		}
		return max(1, int32(math.Ceil(mean+r.Margin*math.Sqrt(mean))))
	}
	hold := func(i int) int32 {
		v := need(i)
		for j := i + 1; j <= min(n-1, i+ahead); j++ {
			v = max(v, need(j))
		}
		return v
	}
	run := NewRun(m, hold(0), opts...)
	for !run.Done() {
		if err := run.Request(hold(run.Tick())); err != nil {
			return nil, err
		}
		run.Advance()
	}
	return run, nil
}
