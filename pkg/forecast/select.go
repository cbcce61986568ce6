package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Score is one model's rolling-origin backtest at one horizon.
type Score struct {
	Model string
	// N is how many forecasts were scored.
	N int
	// MAE is the mean absolute error in the series' units.
	MAE float64
	// MASE is MAE over the daily seasonal naive forecast's MAE on the same
	// targets at the same horizon: below 1 beats "same time yesterday".
	// NaN when the series is shorter than a day and a horizon.
	MASE float64
	// SMAPE is the symmetric mean absolute percentage error, 0..2
	// (a pair of zeros counts as no error).
	SMAPE float64
}

// Prediction is a forecast with its interval.
type Prediction struct {
	Point, Lower, Upper float64
}

// Selection is the model a backtest chose, fitted through the whole series
// and ready to forecast after its last point, with every candidate's score
// and the error quantiles its intervals come from.
type Selection struct {
	Model   string
	Fitted  Fitted
	Horizon int
	// Scores of every candidate that could be fitted, best first.
	Scores []Score
	// Skipped names the candidates the series was too short for.
	Skipped []string
	// lo and hi are quantiles of the chosen model's scaled backtest errors
	// (actual - forecast) / errScale(forecast).
	lo, hi float64
	floor  float64
	sqrt   bool
}

// scale is what an error at forecast f is measured in: f, or sqrt(f) when
// the spread is SpreadSqrt; never below the floor's.
func (s *Selection) scale(f float64) float64 {
	f = max(f, s.floor)
	if s.sqrt {
		return math.Sqrt(f)
	}
	return f
}

// Best is the chosen model's score.
func (s *Selection) Best() Score { return s.Scores[0] }

// Predict forecasts h >= 1 steps after the last observed point, with the
// interval of the selection's quantile. The interval comes from errors at
// the selection's horizon, so it is conservative for shorter ones.
func (s *Selection) Predict(h int) Prediction {
	p := s.Fitted.Forecast(h)
	sc := s.scale(p)
	return Prediction{Point: p, Lower: max(0, min(p, p+s.lo*sc)), Upper: max(p, p+s.hi*sc)}
}

// Observe appends one observation to the chosen model.
func (s *Selection) Observe(y float64) { s.Fitted.Observe(y) }

// SelectOptions tune Select.
type SelectOptions struct {
	// Horizon in steps (>= 1) at which models are compared.
	Horizon int
	// Backtest is how many of the newest points are held out and forecast
	// from rolling origins (default one day).
	Backtest int
	// Quantile of the interval's upper bound, 0.5..1 (default 0.9); the
	// lower bound is the mirror quantile.
	Quantile float64
	// Raw, when set, is the series y was averaged from: y[i] is the mean of
	// Raw[i*PerPoint : (i+1)*PerPoint]. The interval is then taken from the
	// errors of the backtest's forecasts against each raw point of their
	// target rather than against its mean, so that it covers the noise
	// within a point of y (a forecast of 5-minute means that plans for the
	// minutes inside them).
	Raw      []float64
	PerPoint int
	// Spread is how the interval widens with the forecast: SpreadRelative
	// (the default: in proportion to it), SpreadSqrt (with its square
	// root, as the noise of a count such as requests per second does), or
	// SpreadAuto (whichever of the two scores better on the backtest by the
	// quantile's pinball loss).
	Spread string
}

// Interval spreads (SelectOptions.Spread).
const (
	SpreadRelative = "relative"
	SpreadSqrt     = "sqrt"
	SpreadAuto     = "auto"
)

// Select fits every model on the series without its newest Backtest points,
// rolls each forward through those points (observing one at a time, without
// refitting) scoring its forecasts Horizon steps ahead, and keeps the model
// with the lowest MAE. The kept model has then observed the whole series.
// Models the series is too short for are skipped; when every one is, Select
// returns a *ShortError naming the shortest need.
func Select(y []float64, p Periods, models []Model, opt SelectOptions) (*Selection, error) {
	if opt.Horizon < 1 {
		return nil, fmt.Errorf("horizon: %d: must be >= 1 step", opt.Horizon)
	}
	if opt.Quantile == 0 {
		opt.Quantile = 0.9
	}
	if opt.Quantile < 0.5 || opt.Quantile >= 1 {
		return nil, fmt.Errorf("quantile: %v: must be in [0.5, 1)", opt.Quantile)
	}
	n := len(y)
	if opt.Raw != nil && (opt.PerPoint < 1 || len(opt.Raw) != n*opt.PerPoint) {
		return nil, fmt.Errorf("raw: %d points: must be %d points of y times per_point (%d), per_point >= 1", len(opt.Raw), n, opt.PerPoint)
	}
	if opt.Spread != "" && opt.Spread != SpreadRelative && opt.Spread != SpreadSqrt && opt.Spread != SpreadAuto {
		return nil, fmt.Errorf("spread: %q: must be %s, %s or %s", opt.Spread, SpreadRelative, SpreadSqrt, SpreadAuto)
	}
	bt := opt.Backtest
	if bt <= 0 {
		bt = p.Daily
	}
	// Never hold out more than a quarter of the series: the rest must fit.
	bt = min(bt, n/4)
	if bt < opt.Horizon+1 {
		return nil, &ShortError{Model: "backtest", Have: n, Min: 4 * (opt.Horizon + 1)}
	}
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(max(1, n))
	floor := max(0.05*mean, 1e-9)

	sel := &Selection{Horizon: opt.Horizon, floor: floor, sqrt: opt.Spread == SpreadSqrt}
	var bestErrs, bestFs []float64
	shortest := -1
	for _, m := range models {
		fit, err := m.Fit(y[:n-bt])
		var short *ShortError
		if errors.As(err, &short) {
			sel.Skipped = append(sel.Skipped, m.Name())
			if shortest < 0 || short.Min+bt < shortest {
				shortest = short.Min + bt
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		sc, errs, fs := backtest(fit, y, n-bt, opt.Horizon, p.Daily, opt.Raw, opt.PerPoint)
		sc.Model = m.Name()
		if len(sel.Scores) == 0 || sc.MAE < sel.Scores[0].MAE {
			sel.Model, sel.Fitted, bestErrs, bestFs = m.Name(), fit, errs, fs
			sel.Scores = append([]Score{sc}, sel.Scores...)
		} else {
			sel.Scores = append(sel.Scores, sc)
		}
	}
	if sel.Fitted == nil {
		return nil, &ShortError{Model: "every model (" + strings.Join(sel.Skipped, ", ") + ")", Have: n, Min: shortest}
	}
	slices.SortStableFunc(sel.Scores[1:], func(a, b Score) int { return cmpFloat(a.MAE, b.MAE) })
	if opt.Spread != SpreadAuto {
		sel.lo, sel.hi = sel.interval(bestErrs, bestFs, opt.Quantile)
		return sel, nil
	}
	// Both spreads cover the quantile over the whole backtest; keep the one
	// whose upper bound scores better point by point (the quantile's
	// pinball loss), which rewards covering it at every level of the load
	// with the narrowest bound.
	var loss [2]float64
	var lohi [2][2]float64
	for i, sqrt := range []bool{false, true} {
		sel.sqrt = sqrt
		lo, hi := sel.interval(bestErrs, bestFs, opt.Quantile)
		lohi[i] = [2]float64{lo, hi}
		for j, f := range bestFs {
			// The actual less the upper bound.
			if d := bestErrs[j] - hi*sel.scale(f); d >= 0 {
				loss[i] += opt.Quantile * d
			} else {
				loss[i] -= (1 - opt.Quantile) * d
			}
		}
	}
	pick := 0
	if loss[1] < loss[0] {
		pick = 1
	}
	sel.sqrt = pick == 1
	sel.lo, sel.hi = lohi[pick][0], lohi[pick][1]
	return sel, nil
}

// Spread is the interval's spread: SpreadSqrt or SpreadRelative (what
// SpreadAuto chose).
func (s *Selection) Spread() string {
	if s.sqrt {
		return SpreadSqrt
	}
	return SpreadRelative
}

// interval is the quantiles of the backtest errors errs (actual -
// forecast fs[i]) scaled by the selection's spread.
func (s *Selection) interval(errs, fs []float64, q float64) (lo, hi float64) {
	scaled := make([]float64, len(errs))
	for i, e := range errs {
		scaled[i] = e / s.scale(fs[i])
	}
	slices.Sort(scaled)
	return Quantile(scaled, 1-q), Quantile(scaled, q)
}

// backtest rolls fit (positioned at origin) through y[origin:], scoring the
// forecasts made h steps ahead; it returns the score, the errors (against
// each of the raw points per target when raw is set) and the forecast each
// error is of.
func backtest(fit Fitted, y []float64, origin, h, daily int, raw []float64, per int) (Score, []float64, []float64) {
	var acc Accuracy
	errs := make([]float64, 0, len(y)-origin)
	fs := make([]float64, 0, len(y)-origin)
	for o := origin; o <= len(y); o++ {
		if target := o - 1 + h; target < len(y) {
			f := fit.Forecast(h)
			ref := math.NaN()
			if target-daily >= 0 {
				ref = y[target-daily]
			}
			acc.Add(y[target], f, ref)
			if raw == nil {
				errs, fs = append(errs, y[target]-f), append(fs, f)
			} else {
				for _, v := range raw[target*per : (target+1)*per] {
					errs, fs = append(errs, v-f), append(fs, f)
				}
			}
		}
		if o < len(y) {
			fit.Observe(y[o])
		}
	}
	return acc.Score(), errs, fs
}

// Accuracy accumulates forecast errors against actual values and a
// reference forecast (the daily seasonal naive one, for MASE).
type Accuracy struct {
	n, nRef     int
	abs, absRef float64
	absWithRef  float64
	smape       float64
}

// Add scores one forecast; ref is the reference forecast for the same
// target, NaN when there is none (MASE then counts only targets with one).
func (a *Accuracy) Add(actual, forecast, ref float64) {
	e := math.Abs(actual - forecast)
	a.n++
	a.abs += e
	if d := math.Abs(actual) + math.Abs(forecast); d > 0 {
		a.smape += 2 * e / d
	}
	if !math.IsNaN(ref) {
		a.nRef++
		a.absWithRef += e
		a.absRef += math.Abs(actual - ref)
	}
}

// Score summarises what was added.
func (a *Accuracy) Score() Score {
	s := Score{N: a.n, MAE: math.NaN(), MASE: math.NaN(), SMAPE: math.NaN()}
	if a.n > 0 {
		s.MAE = a.abs / float64(a.n)
		s.SMAPE = a.smape / float64(a.n)
	}
	if a.nRef > 0 && a.absRef > 0 {
		s.MASE = a.absWithRef / a.absRef
	}
	return s
}

// Quantile is the q-quantile (q in [0, 1]) of sorted xs, linearly
// interpolated between the closest ranks; 0 for none.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	return xs[i] + (pos-float64(i))*(xs[i+1]-xs[i])
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
