package policy

import (
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// ModelNeed is how much history one forecasting model needs before a
// predictive policy can select it.
type ModelNeed struct {
	Model string
	Needs time.Duration
}

// HistoryPlan is what a predictive policy does with a given history.
type HistoryPlan struct {
	// Window and MinHistory are the spec's history and min_history.
	Window, MinHistory time.Duration
	// Acts is false while the history is shorter than MinHistory: the
	// policy abstains.
	Acts bool
	// Usable are the models the history is long enough for, in spec order;
	// Later those it is not, each with the history it needs.
	Usable []string
	Later  []ModelNeed
}

// PlanFor says which of its models the policy can select from have of
// history at its step: each model is fitted on the history without the
// backtest's held-out points (a day, at most a quarter of the history) and
// must have its own minimum there, and the held-out points must cover the
// horizon (forecast.Select).
func (p *Predictive) PlanFor(have time.Duration) HistoryPlan {
	plan := HistoryPlan{Window: p.spec.History, MinHistory: p.spec.MinHistory, Acts: have >= p.spec.MinHistory}
	points := int(have / p.spec.Smooth)
	for _, m := range p.models {
		need := p.pointsFor(m.MinPoints())
		if points >= need {
			plan.Usable = append(plan.Usable, m.Name())
		} else {
			plan.Later = append(plan.Later, ModelNeed{Model: m.Name(), Needs: time.Duration(need) * p.spec.Smooth})
		}
	}
	return plan
}

// pointsFor is the shortest series (in smoothed points) on which
// forecast.Select can fit and backtest a model that needs minPoints.
func (p *Predictive) pointsFor(minPoints int) int {
	for n := minPoints; ; n++ {
		bt := min(p.periods.Daily, n/4)
		if n-bt >= minPoints && bt >= p.horizon+1 {
			return n
		}
	}
}

// HistoryLength is how much history h covers, as a predictive policy
// counts it against min_history: from the oldest point to one step after
// the newest, missing points inside included.
func HistoryLength(h scaling.History) time.Duration { return h.Span() }
