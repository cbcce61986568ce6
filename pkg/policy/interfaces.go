package policy

import (
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Every interface of the package and its contract. A policy implements
// Policy; the optional interfaces below tell the Decider what else it needs
// (signals to watch, history to fetch) or wants to hear (the final number,
// real scale events). The Decider calls them from one goroutine, the
// scaler's; none may read the clock, do I/O or log.

// Input is everything a policy may look at for one tick.
type Input struct {
	Now      time.Time
	Capacity scaling.Capacity
	// Signals by name. A reading with a non-nil Err is a failed signal.
	Signals map[string]scaling.Reading
	// Shadow is set in dry run, where nothing decided is applied: a policy
	// with state (a PID) then evolves as if its last decision had been
	// applied, instead of re-basing on the capacity in place, which a dry
	// run never moves, and says so in its reason.
	Shadow bool
}

// Policy recommends a capacity. Recommend must be a pure function of its
// input and the policy's own state; a policy whose signal failed abstains
// (Recommendation.Abstain) and never recommends a number it cannot justify.
type Policy interface {
	Name() string
	Recommend(in Input) scaling.Recommendation
}

// SignalReader is implemented by policies that read named signals. The
// Decider treats a failure of any of them as a failed signal for the tick,
// which forbids a scale-down. Signals returns the same names every call.
type SignalReader interface {
	Signals() []string
}

// HistoryNeed asks the loop to fetch a signal's past values (a range query)
// before each tick and hand them over in Reading.History.
type HistoryNeed struct {
	Signal string
	Window time.Duration
	Step   time.Duration
}

// HistoryReader is implemented by policies that need a signal's history.
// HistoryNeeds returns the same needs every call; the Decider merges the
// needs of all its policies, one per signal (Decider.HistoryNeeds).
type HistoryReader interface {
	HistoryNeeds() []HistoryNeed
}

// RefitSpreader is implemented by policies that refit a model on a period
// (Predictive). SpreadRefits gives the policy a key (its scaler's name)
// from which it derives a phase within that period, the same for the same
// key, so that the refits of many scalers spread over the period instead of
// coming all at once. A policy never told refits on its period from its
// first fit.
type RefitSpreader interface {
	SpreadRefits(key string)
}

// FeedbackReceiver is implemented by policies that must know what became
// of their recommendation: a PID's anti-windup stops or back-calculates its
// integrator when the final number differs from what it proposed. The
// Decider calls Feedback at the end of every Decide (also when the policy
// abstained, and when current was outside the bounds) with the final desired
// capacity and whether a guard or the failure rule changed the combined
// recommendation. Feedback must be pure like Recommend.
type FeedbackReceiver interface {
	Feedback(now time.Time, final int32, clamped bool)
}

// ScaleObserver is implemented by policies that keep time since the last
// scaling activity (a step policy's cooldown). The Decider forwards every
// Scaled call to them: a change the target really made, never a dry run.
type ScaleObserver interface {
	Scaled(now time.Time, from, to int32)
}

// StateReporter is implemented by policies with internal state worth
// exporting (a PID's integrator, filtered derivative and last measurement).
// State returns the current values by variable name; the set of names is
// fixed for the life of the policy.
type StateReporter interface {
	State() map[string]float64
}

// Forecaster is implemented by policies that forecast; ok is false when
// there is no forecast (too little history, a failed signal), and then only
// r.Signal is set. LastForecast describes the last Recommend.
type Forecaster interface {
	LastForecast() (r ForecastReport, ok bool)
}

// ForecastReport is what a forecasting policy forecast at its last tick, for export.
type ForecastReport struct {
	Signal   string
	Model    string
	Target   time.Time // the time forecast
	Quantile float64
	Point    float64
	Lower    float64
	Upper    float64
	// MASE and SMAPE of the chosen model's backtest (forecast.Score).
	MASE, SMAPE float64
}
