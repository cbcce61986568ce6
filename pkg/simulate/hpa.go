package simulate

import (
	"fmt"
	"math"
	"time"
)

// hpaTolerance and hpaScaleDownWindow are Kubernetes' defaults: a 10 %
// dead band around the target and a 300 s scale-down stabilisation window.
const (
	hpaTolerance       = 0.1
	hpaScaleDownWindow = 300 * time.Second
)

// HPAReference is the "HPA reference" of docs/model.md: Kubernetes
// HPA v2 with default behaviour on a utilisation target, as the model sees it.
// It is written straight from that text, apart from pkg/policy, so that it can
// serve as the yardstick the reference figures were made with.
type HPAReference struct {
	target  float64 // u
	maxRepl int32
	mu      float64
	recent  []hpaRecommendation // oldest first
}

type hpaRecommendation struct {
	at      time.Time
	desired int32
}

// NewHPAReference builds the reference HPA for target utilisation u in (0, 1]
// and a replica cap max >= 1 on a model with service rate mu.
func NewHPAReference(mu, u float64, max int32) (*HPAReference, error) {
	if !(u > 0 && u <= 1) {
		return nil, fmt.Errorf("target utilisation: %v: must be in (0, 1]", u)
	}
	if max < 1 {
		return nil, fmt.Errorf("max replicas: %d: must be >= 1", max)
	}
	if !(mu > 0) {
		return nil, fmt.Errorf("mu: %v: must be > 0", mu)
	}
	return &HPAReference{target: u, maxRepl: max, mu: mu}, nil
}

// InitialReplicas is max(1, ceil(demand0/(mu*u))), capped at max.
func (h *HPAReference) InitialReplicas(demand0 float64) int32 {
	return min(h.maxRepl, max(1, int32(math.Ceil(demand0/(h.mu*h.target)))))
}

// Decide is one tick of the reference HPA: the new requested count R.
// Without an observation (the first tick) or without a ready replica to
// measure, it holds R.
func (h *HPAReference) Decide(o Observation) int32 {
	r, n := o.Requested, o.Ready
	if o.WindowTicks == 0 || n <= 0 {
		return r
	}
	// 1. util and ratio.
	util := o.Demand / (float64(n) * h.mu)
	ratio := util / h.target
	// 2. tolerance, else the proportional count; never below R when scaling up.
	var desired int32
	if math.Abs(ratio-1) <= hpaTolerance {
		desired = r
	} else {
		desired = int32(math.Ceil(ratio * float64(n)))
		if ratio > 1 && desired < r {
			desired = r
		}
	}
	desired = min(max(desired, 1), h.maxRepl)
	// 3. remember, forget entries older than 300 s. An entry exactly 300 s old
	// is forgotten too: Kubernetes keeps only rec.timestamp.After(now-window).
	h.recent = append(h.recent, hpaRecommendation{at: o.Time, desired: desired})
	drop := 0
	for drop < len(h.recent) && o.Time.Sub(h.recent[drop].at) >= hpaScaleDownWindow {
		drop++
	}
	if drop > 0 {
		h.recent = append(h.recent[:0], h.recent[drop:]...) // keep the capacity
	}
	// 4. scale down to the highest recent recommendation; scale up by at most
	// max(4 replicas, 100 %).
	switch {
	case desired < r:
		highest := desired
		for _, rec := range h.recent {
			highest = max(highest, rec.desired)
		}
		return min(r, highest)
	case desired > r:
		return min(desired, max(r+4, 2*r))
	}
	return r
}

// RunHPAReference plays the reference HPA with target u and replica cap max
// over the whole model and returns its score (of the ticks ScoreFrom says,
// when given). It panics on a u or max that NewHPAReference refuses.
func RunHPAReference(m *Model, u float64, max int32, opts ...RunOption) Score {
	run, err := PlayHPAReference(m, u, max, opts...)
	if err != nil {
		panic("simulate.RunHPAReference: " + err.Error())
	}
	return run.Score()
}

// PlayHPAReference plays the reference HPA over the whole model and returns
// the finished run (for its timeline, pass WithTimeline).
func PlayHPAReference(m *Model, u float64, max int32, opts ...RunOption) (*Run, error) {
	h, err := NewHPAReference(m.Mu, u, max)
	if err != nil {
		return nil, err
	}
	run := NewRun(m, h.InitialReplicas(m.Demand(0)), opts...)
	for !run.Done() {
		if err := run.Request(h.Decide(run.Observe())); err != nil {
			return nil, err
		}
		run.Advance()
	}
	return run, nil
}
