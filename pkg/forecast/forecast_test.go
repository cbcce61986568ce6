package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// synthetic is level + trend*t + daily and weekly sines, additively or
// multiplicatively, plus Gaussian noise of relative size noise, at an
// hourly step (24 points a day) unless the period says otherwise.
type synthetic struct {
	level, trend  float64
	daily, weekly float64 // amplitudes (relative when mul)
	period        int     // points per day
	mul           bool
	noise         float64
	seed          uint64
}

func (s synthetic) at(t int) float64 {
	d := math.Sin(2 * math.Pi * float64(t) / float64(s.period))
	w := math.Sin(2 * math.Pi * float64(t) / float64(7*s.period))
	base := s.level + s.trend*float64(t)
	if s.mul {
		return base * (1 + s.daily*d) * (1 + s.weekly*w)
	}
	return base + s.daily*d + s.weekly*w
}

func (s synthetic) series(n int) []float64 {
	r := rand.New(rand.NewPCG(s.seed, 1))
	y := make([]float64, n)
	for t := range y {
		y[t] = s.at(t) * (1 + s.noise*r.NormFloat64())
	}
	return y
}

// selectAuto selects among every model for y, two steps ahead at the 0.9
// quantile.
func selectAuto(t *testing.T, y []float64, p Periods) *Selection {
	t.Helper()
	models, err := Models(p, Auto)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := Select(y, p, models, SelectOptions{Horizon: 2, Quantile: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func hourly(t *testing.T) Periods {
	t.Helper()
	p, err := PeriodsFor(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestModelsRecoverSeasonAndTrend fits each model to a series with a known
// season and trend, and checks that its forecasts over the next day follow
// the true curve (without noise) within tol of the level.
func TestModelsRecoverSeasonAndTrend(t *testing.T) {
	p := hourly(t)
	daily := synthetic{level: 100, trend: 0, daily: 40, period: 24, noise: 0.01, seed: 1}
	trendDaily := synthetic{level: 100, trend: 0.2, daily: 40, period: 24, noise: 0.01, seed: 2}
	weekly := synthetic{level: 100, trend: 0.05, daily: 30, weekly: 25, period: 24, noise: 0.01, seed: 3}
	mulTrend := synthetic{level: 100, trend: 0.2, daily: 0.5, period: 24, mul: true, noise: 0.01, seed: 4}
	mulWeekly := synthetic{level: 100, daily: 0.5, weekly: 0.3, period: 24, mul: true, noise: 0.01, seed: 5}
	tests := []struct {
		name  string
		model Model
		s     synthetic
		n     int
		tol   float64 // max |forecast - truth| / level over the next day
	}{
		{"seasonal naive daily, pure daily season", NewSeasonalNaive(SeasonalNaiveDaily, p.Daily), daily, 24 * 14, 0.04},
		{"seasonal naive weekly, daily and weekly season", NewSeasonalNaive(SeasonalNaiveWeekly, p.Weekly),
			synthetic{level: 100, daily: 30, weekly: 25, period: 24, noise: 0.01, seed: 6}, 24 * 21, 0.04},
		{"holt-winters additive daily, trend", NewHoltWinters(HoltWintersAddDaily, p.Daily, false), trendDaily, 24 * 14, 0.04},
		{"holt-winters multiplicative daily, trend", NewHoltWinters(HoltWintersMulDaily, p.Daily, true), mulTrend, 24 * 14, 0.05},
		{"holt-winters additive weekly, trend", NewHoltWinters(HoltWintersAddWeek, p.Weekly, false), weekly, 24 * 28, 0.05},
		{"holt-winters multiplicative weekly", NewHoltWinters(HoltWintersMulWeek, p.Weekly, true), mulWeekly, 24 * 28, 0.06},
		{"harmonic, daily and weekly season with trend", NewHarmonic(HarmonicRegression, p.Daily, p.Weekly), weekly, 24 * 28, 0.04},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fit, err := tc.model.Fit(tc.s.series(tc.n))
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for h := 1; h <= 24; h++ {
				truth := tc.s.at(tc.n - 1 + h)
				worst = max(worst, math.Abs(fit.Forecast(h)-truth)/tc.s.level)
			}
			if worst > tc.tol {
				t.Errorf("worst error over the next day: %.3f of the level: want <= %.3f", worst, tc.tol)
			}
		})
	}
}

// TestTrendIsExtrapolated checks that the trend models carry a trend on,
// rather than only the last level: a day ahead is a day's trend above.
func TestTrendIsExtrapolated(t *testing.T) {
	p := hourly(t)
	s := synthetic{level: 100, trend: 1, daily: 10, period: 24, seed: 7}
	y := s.series(24 * 14)
	for _, m := range []Model{
		NewHoltWinters(HoltWintersAddDaily, p.Daily, false),
		NewHarmonic(HarmonicRegression, p.Daily, p.Weekly),
	} {
		fit, err := m.Fit(y)
		if err != nil {
			t.Fatal(err)
		}
		rise := fit.Forecast(25) - fit.Forecast(1) // one day apart, same phase: the trend alone
		if math.Abs(rise-24) > 4 {
			t.Errorf("%s: rise over a day at the same phase = %.2f: want 24 +- 4", m.Name(), rise)
		}
	}
}

// TestHoltFollowsLevelAndTrend: the non-seasonal model moves to a new level
// within a few dozen points and carries a steady ramp on.
func TestHoltFollowsLevelAndTrend(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 1))
	shift := make([]float64, 300)
	for i := range shift {
		shift[i] = 100
		if i >= 200 {
			shift[i] = 150
		}
		shift[i] *= 1 + 0.02*r.NormFloat64()
	}
	fit, err := NewHolt(HoltNonSeasonal).Fit(shift)
	if err != nil {
		t.Fatal(err)
	}
	if got := fit.Forecast(1); math.Abs(got-150) > 0.03*150 {
		t.Errorf("after a shift from 100 to 150: Forecast(1) = %.1f: want 150 +- 3%%", got)
	}

	ramp := make([]float64, 300)
	for i := range ramp {
		ramp[i] = (100 + 2*float64(i)) * (1 + 0.005*r.NormFloat64())
	}
	fit, err = NewHolt(HoltNonSeasonal).Fit(ramp)
	if err != nil {
		t.Fatal(err)
	}
	next := 100 + 2*float64(len(ramp))
	if got := fit.Forecast(1); math.Abs(got-next) > 0.02*next {
		t.Errorf("on a ramp of 2 a point: Forecast(1) = %.1f: want %.1f +- 2%%", got, next)
	}
	// Damped, but over four points the trend must still carry more than half of 8.
	if rise := fit.Forecast(5) - fit.Forecast(1); rise < 4.5 || rise > 8.5 {
		t.Errorf("on a ramp of 2 a point: Forecast(5) - Forecast(1) = %.2f: want 4.5..8.5", rise)
	}
}

// TestSelectPicksHoltWithoutSeason: on a random walk no season helps, and
// auto must choose the model that follows the recent level.
func TestSelectPicksHoltWithoutSeason(t *testing.T) {
	p := hourly(t)
	r := rand.New(rand.NewPCG(10, 1))
	y := make([]float64, 24*21)
	y[0] = 1000
	for i := 1; i < len(y); i++ {
		y[i] = max(1, y[i-1]+20*r.NormFloat64())
	}
	sel := selectAuto(t, y, p)
	if sel.Model != HoltNonSeasonal {
		t.Errorf("chose %s on a random walk: want %s; scores %+v", sel.Model, HoltNonSeasonal, sel.Scores)
	}
}

func TestObserveMatchesRefitForSeasonalNaive(t *testing.T) {
	m := NewSeasonalNaive("s", 5)
	y := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	fit, err := m.Fit(y[:6])
	if err != nil {
		t.Fatal(err)
	}
	fit.Observe(y[6])
	fit.Observe(y[7])
	// Last five: 4 5 6 7 8; one step ahead repeats 4, three ahead 6, six ahead 4 again.
	for _, c := range []struct {
		h    int
		want float64
	}{{1, 4}, {3, 6}, {5, 8}, {6, 4}} {
		if got := fit.Forecast(c.h); got != c.want {
			t.Errorf("Forecast(%d) = %v: want %v", c.h, got, c.want)
		}
	}
}

func TestSelectPicksTheModelThatFits(t *testing.T) {
	p := hourly(t)
	// Weekly season dominates: weekly models must beat "same time yesterday".
	s := synthetic{level: 100, daily: 10, weekly: 50, period: 24, noise: 0.01, seed: 8}
	y := s.series(24 * 28)
	sel := selectAuto(t, y, p)
	if sel.Model == SeasonalNaiveDaily || sel.Best().MASE >= 0.5 {
		t.Errorf("chose %s with MASE %.3f: want a weekly-aware model with MASE < 0.5; scores %+v", sel.Model, sel.Best().MASE, sel.Scores)
	}
	for i := 1; i < len(sel.Scores); i++ {
		if sel.Scores[i].MAE < sel.Scores[i-1].MAE {
			t.Errorf("scores not sorted by MAE: %+v", sel.Scores)
		}
	}
	pr := sel.Predict(2)
	if !(pr.Lower <= pr.Point && pr.Point <= pr.Upper) || pr.Upper-pr.Lower <= 0 {
		t.Errorf("Predict(2) = %+v: want lower <= point <= upper with a non-empty interval", pr)
	}
	truth := s.at(len(y) - 1 + 2)
	if truth < pr.Lower-0.05*s.level || truth > pr.Upper+0.05*s.level {
		t.Errorf("truth %.1f far outside the interval %+v", truth, pr)
	}
}

// TestIntervalCoverage: on a noisy series the 0.9 upper bound is exceeded
// about a tenth of the time out of sample.
func TestIntervalCoverage(t *testing.T) {
	p := hourly(t)
	s := synthetic{level: 100, daily: 40, period: 24, noise: 0.1, seed: 9}
	y := s.series(24 * 42)
	models, _ := Models(p, HoltWintersAddDaily)
	train := 24 * 28
	sel, err := Select(y[:train], p, models, SelectOptions{Horizon: 1, Quantile: 0.9, Backtest: 24 * 7})
	if err != nil {
		t.Fatal(err)
	}
	above := 0
	for i := train; i < len(y); i++ {
		if y[i] > sel.Predict(1).Upper {
			above++
		}
		sel.Observe(y[i])
	}
	frac := float64(above) / float64(len(y)-train)
	if frac < 0.03 || frac > 0.2 {
		t.Errorf("actual above the 0.9 upper bound %.3f of the time: want about 0.1", frac)
	}
}

// TestIntervalFromRawPoints: a forecast of hourly means whose interval is
// taken from the raw quarter-hours covers those quarter-hours (about a tenth
// above the 0.9 upper bound), which an interval from the means does not.
func TestIntervalFromRawPoints(t *testing.T) {
	p := hourly(t)
	const per = 4
	s := synthetic{level: 100, daily: 40, period: 24 * per, noise: 0.2, seed: 11}
	raw := s.series(24 * per * 42)
	y := make([]float64, len(raw)/per)
	for i := range y {
		for _, v := range raw[i*per : (i+1)*per] {
			y[i] += v / per
		}
	}
	models, _ := Models(p, HoltWintersAddDaily)
	train := 24 * 28
	frac := func(opt SelectOptions) float64 {
		sel, err := Select(y[:train], p, models, opt)
		if err != nil {
			t.Fatal(err)
		}
		above := 0
		for i := train; i < len(y); i++ {
			up := sel.Predict(1).Upper
			for _, v := range raw[i*per : (i+1)*per] {
				if v > up {
					above++
				}
			}
			sel.Observe(y[i])
		}
		return float64(above) / float64((len(y)-train)*per)
	}
	opt := SelectOptions{Horizon: 1, Quantile: 0.9, Backtest: 24 * 7}
	means := frac(opt)
	opt.Raw, opt.PerPoint = raw[:train*per], per
	raws := frac(opt)
	if raws < 0.05 || raws > 0.15 {
		t.Errorf("raw points above the 0.9 upper bound taken from them %.3f of the time: want about 0.1", raws)
	}
	if means < 0.2 {
		t.Errorf("raw points above the 0.9 upper bound taken from the means %.3f of the time: want well above 0.1 (the test's premise)", means)
	}
	opt.Raw = raw[:train*per-1]
	if _, err := Select(y[:train], p, models, opt); err == nil {
		t.Error("Select accepted a raw series that is not per_point times y")
	}
}

// TestSqrtSpread: on a count whose noise grows with the square root of its
// level (Poisson-like), a sqrt spread is exceeded about as often at the
// daily trough as at the peak; a relative spread, too wide at the peak and
// too narrow at the trough, is not.
func TestSqrtSpread(t *testing.T) {
	p := hourly(t)
	r := rand.New(rand.NewPCG(5, 6))
	level := func(i int) float64 { return 1000 + 980*math.Sin(2*math.Pi*float64(i)/24) }
	y := make([]float64, 24*42)
	for i := range y {
		y[i] = max(0, level(i)+math.Sqrt(level(i))*r.NormFloat64())
	}
	models, _ := Models(p, HoltWintersAddDaily)
	train := 24 * 28
	exceed := func(spread string) (low, high float64) {
		sel, err := Select(y[:train], p, models, SelectOptions{Horizon: 1, Quantile: 0.9, Backtest: 24 * 7, Spread: spread})
		if err != nil {
			t.Fatal(err)
		}
		var nl, nh, el, eh float64
		for i := train; i < len(y); i++ {
			over := 0.0
			if y[i] > sel.Predict(1).Upper {
				over = 1
			}
			if level(i) < 1000 {
				nl, el = nl+1, el+over
			} else {
				nh, eh = nh+1, eh+over
			}
			sel.Observe(y[i])
		}
		return el / nl, eh / nh
	}
	if low, high := exceed(SpreadSqrt); low < 0.03 || low > 0.2 || high < 0.03 || high > 0.2 {
		t.Errorf("sqrt spread exceeded %.3f of the time below the mean level and %.3f above: want about 0.1 both", low, high)
	}
	if low, high := exceed(SpreadRelative); low < 2*high {
		t.Errorf("relative spread exceeded %.3f of the time below the mean level and %.3f above: want far more often below (the test's premise)", low, high)
	}
	if _, err := Select(y, p, models, SelectOptions{Horizon: 1, Spread: "cubic"}); err == nil || !strings.Contains(err.Error(), `spread: "cubic": must be relative, sqrt or auto`) {
		t.Errorf("spread cubic: error %v: want it refused", err)
	}
}

// TestAutoSpread: the automatic spread is sqrt on a count whose noise grows
// with the square root of its level, relative on a load whose noise grows in
// proportion to it.
func TestAutoSpread(t *testing.T) {
	p := hourly(t)
	r := rand.New(rand.NewPCG(7, 8))
	level := func(i int) float64 { return 1000 + 980*math.Sin(2*math.Pi*float64(i)/24) }
	models, _ := Models(p, HoltWintersAddDaily)
	for _, tc := range []struct {
		noise func(lv float64) float64
		want  string
	}{
		{math.Sqrt, SpreadSqrt},
		{func(lv float64) float64 { return 0.1 * lv }, SpreadRelative},
	} {
		y := make([]float64, 24*42)
		for i := range y {
			y[i] = max(0, level(i)+tc.noise(level(i))*r.NormFloat64())
		}
		sel, err := Select(y, p, models, SelectOptions{Horizon: 1, Quantile: 0.9, Backtest: 24 * 7, Spread: SpreadAuto})
		if err != nil {
			t.Fatal(err)
		}
		if got := sel.Spread(); got != tc.want {
			t.Errorf("noise of %s: auto spread chose %s", tc.want, got)
		}
	}
}

func TestShortHistory(t *testing.T) {
	p := hourly(t)
	models, _ := Models(p, Auto)
	_, err := Select(make([]float64, 12), p, models, SelectOptions{Horizon: 1})
	var short *ShortError
	if !errors.As(err, &short) {
		t.Fatalf("Select on 12 hourly points: err = %v: want a *ShortError", err)
	}
	// A day is enough for the harmonic model.
	y := synthetic{level: 10, daily: 5, period: 24, seed: 10}.series(24)
	sel, err := Select(y, p, models, SelectOptions{Horizon: 1})
	if err != nil {
		t.Fatalf("Select on 24 hourly points: %v", err)
	}
	if len(sel.Skipped) == 0 {
		t.Errorf("no model skipped on 24 points: the weekly ones cannot fit")
	}
}

func TestBadInput(t *testing.T) {
	p := hourly(t)
	models, _ := Models(p, Auto)
	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"step not dividing a day", func() error { _, err := PeriodsFor(7 * time.Minute); return err }},
		{"unknown model", func() error { _, err := Models(p, "arima"); return err }},
		{"horizon 0", func() error { _, err := Select(make([]float64, 100), p, models, SelectOptions{}); return err }},
		{"quantile 1", func() error {
			_, err := Select(make([]float64, 100), p, models, SelectOptions{Horizon: 1, Quantile: 1})
			return err
		}},
		{"NaN", func() error {
			y := make([]float64, 100)
			y[3] = math.NaN()
			_, err := NewHarmonic("h", 24, 168).Fit(y)
			return err
		}},
	} {
		if err := tc.err(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
