package forecast

import (
	"errors"
	"fmt"
)

// WalkOptions tune Walk. Counts are in steps.
type WalkOptions struct {
	Horizon int
	// Warmup is how many points are seen before the first forecast.
	Warmup int
	// Window is the most history a refit sees (0: all of it).
	Window int
	// RefitEvery is how many new points trigger a new Select; between
	// refits the chosen model observes each point.
	RefitEvery int
	Model      string
	Quantile   float64
	Backtest   int
}

// WalkPoint is the forecast made after observing Origin points, for the
// point at index Target (Origin-1+Horizon), which may lie past the series.
type WalkPoint struct {
	Origin, Target int
	Prediction
	Model string
}

// WalkResult scores a walk: the chosen models and, on the same targets, the
// daily seasonal naive forecast.
type WalkResult struct {
	Model, SeasonalNaive Score
	// Chosen counts refits by the model they chose.
	Chosen map[string]int
	// First is the origin of the first forecast (Warmup, or later when the
	// history was too short for every model until then).
	First int
}

// Walk replays y as the policy sees it: from Warmup on, it forecasts
// Horizon steps ahead after every point, refitting (Select) every RefitEvery
// points on the newest Window points, and hands every forecast to emit.
// It scores each forecast whose target is in y.
func Walk(y []float64, p Periods, opt WalkOptions, emit func(WalkPoint) error) (WalkResult, error) {
	res := WalkResult{Chosen: map[string]int{}, First: -1}
	if opt.Horizon < 1 {
		return res, fmt.Errorf("horizon: %d: must be >= 1 step", opt.Horizon)
	}
	if opt.RefitEvery < 1 {
		opt.RefitEvery = 1
	}
	models, err := Models(p, opt.Model)
	if err != nil {
		return res, err
	}
	var (
		sel          *Selection
		since        int
		model, naive Accuracy
	)
	for o := max(1, opt.Warmup); o <= len(y); o++ {
		if sel == nil || since >= opt.RefitEvery {
			from := 0
			if opt.Window > 0 {
				from = max(0, o-opt.Window)
			}
			s, err := Select(y[from:o], p, models, SelectOptions{Horizon: opt.Horizon, Quantile: opt.Quantile, Backtest: opt.Backtest})
			var short *ShortError
			switch {
			case errors.As(err, &short) && sel == nil:
				continue // not enough history yet
			case err != nil && sel == nil:
				return res, err
			case err == nil:
				sel, since = s, 0
				res.Chosen[s.Model]++
			default: // keep the model in hand
				sel.Observe(y[o-1])
			}
		} else {
			sel.Observe(y[o-1])
		}
		since++
		if res.First < 0 {
			res.First = o
		}
		pt := WalkPoint{Origin: o, Target: o - 1 + opt.Horizon, Prediction: sel.Predict(opt.Horizon), Model: sel.Model}
		if pt.Target < len(y) && pt.Target-p.Daily >= 0 {
			ref := y[pt.Target-p.Daily]
			model.Add(y[pt.Target], pt.Point, ref)
			naive.Add(y[pt.Target], ref, ref)
		}
		if emit != nil {
			if err := emit(pt); err != nil {
				return res, err
			}
		}
	}
	res.Model, res.SeasonalNaive = model.Score(), naive.Score()
	return res, nil
}
