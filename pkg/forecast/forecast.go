package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
)

// Fitted is a model fitted to a series and positioned after its last point.
// It is not safe for concurrent use.
type Fitted interface {
	// Forecast is the point forecast h >= 1 steps after the last observed
	// point. It is never negative: the series here are loads.
	Forecast(h int) float64
	// Observe appends one observation and updates the state in O(1),
	// without refitting the model's parameters.
	Observe(y float64)
}

// Model fits a Fitted to a regular series, oldest first.
type Model interface {
	Name() string
	// MinPoints is the shortest series Fit accepts.
	MinPoints() int
	// Fit fits the model to y. It fails with an *ShortError when y has
	// fewer than MinPoints points, and on a non-finite value.
	Fit(y []float64) (Fitted, error)
}

// ShortError says a series is too short for a model.
type ShortError struct {
	Model     string
	Have, Min int
}

func (e *ShortError) Error() string {
	return fmt.Sprintf("%s: %d points: needs at least %d", e.Model, e.Have, e.Min)
}

// ErrNotFinite is returned by Fit for a series holding NaN or Inf.
var ErrNotFinite = errors.New("series holds a NaN or infinite value")

func checkFit(m Model, y []float64) error {
	if len(y) < m.MinPoints() {
		return &ShortError{Model: m.Name(), Have: len(y), Min: m.MinPoints()}
	}
	for _, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: %w", m.Name(), ErrNotFinite)
		}
	}
	return nil
}

// Periods are a step's seasons in points.
type Periods struct {
	Step   time.Duration
	Daily  int
	Weekly int
}

// PeriodsFor returns the daily and weekly periods of a step, which must
// divide a day exactly and be at most an hour.
func PeriodsFor(step time.Duration) (Periods, error) {
	const day = 24 * time.Hour
	if step <= 0 || step > time.Hour || day%step != 0 {
		return Periods{}, fmt.Errorf("step: %s: must be > 0, at most 1h and divide 24h exactly", durfmt.D(step))
	}
	d := int(day / step)
	return Periods{Step: step, Daily: d, Weekly: 7 * d}, nil
}

// Model names, as configs and the forecast command spell them.
const (
	SeasonalNaiveDaily  = "snaive_daily"
	SeasonalNaiveWeekly = "snaive_weekly"
	HoltWintersAddDaily = "hw_add_daily"
	HoltWintersMulDaily = "hw_mul_daily"
	HoltWintersAddWeek  = "hw_add_weekly"
	HoltWintersMulWeek  = "hw_mul_weekly"
	HarmonicRegression  = "harmonic"
	HoltNonSeasonal     = "holt"
	// Auto selects among every model by backtest.
	Auto = "auto"
)

// ModelNames lists every model name, Auto first.
var ModelNames = []string{Auto, SeasonalNaiveDaily, SeasonalNaiveWeekly, HoltWintersAddDaily, HoltWintersMulDaily,
	HoltWintersAddWeek, HoltWintersMulWeek, HarmonicRegression, HoltNonSeasonal}

// Models returns the models for p named by name: every model for Auto, else
// the one model.
func Models(p Periods, name string) ([]Model, error) {
	all := []Model{
		NewSeasonalNaive(SeasonalNaiveDaily, p.Daily),
		NewSeasonalNaive(SeasonalNaiveWeekly, p.Weekly),
		NewHoltWinters(HoltWintersAddDaily, p.Daily, false),
		NewHoltWinters(HoltWintersMulDaily, p.Daily, true),
		NewHoltWinters(HoltWintersAddWeek, p.Weekly, false).WithSmoothing(p.Daily / 96),
		NewHoltWinters(HoltWintersMulWeek, p.Weekly, true).WithSmoothing(p.Daily / 96),
		NewHarmonic(HarmonicRegression, p.Daily, p.Weekly),
		NewHolt(HoltNonSeasonal),
	}
	if name == Auto || name == "" {
		return all, nil
	}
	for _, m := range all {
		if m.Name() == name {
			return []Model{m}, nil
		}
	}
	return nil, fmt.Errorf("model: %q: must be one of %v", name, ModelNames)
}
