package policy

import (
	"fmt"
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/internal/phase"
	"github.com/scaled-dev/scaled/pkg/forecast"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// PredictiveMode says whether a predictive policy acts on its forecast.
type PredictiveMode string

const (
	// ForecastOnly forecasts, explains and exports, and always abstains
	// (AWS predictive scaling's ForecastOnly): a way to watch a forecast
	// against the actual load before trusting it.
	ForecastOnly PredictiveMode = "forecastOnly"
	// ForecastAndScale recommends the capacity the forecast needs.
	ForecastAndScale PredictiveMode = "forecastAndScale"
)

// TypePredictive forecasts a signal from its own history and plans capacity
// for the forecast's upper quantile (docs/forecasting.md).
const TypePredictive PolicyType = "predictive"

func init() {
	Register(TypePredictive, func() PolicySpec { return &PredictiveSpec{} })
}

// PredictiveSpec configures a Predictive policy; it is also the predictive
// block of a scaler's policy, whose zero values take the defaults Default
// fills. Durations are wall time.
type PredictiveSpec struct {
	// Name is the policy's; a scaler's policy takes its own.
	Name string `json:"-"`
	// Signal names the scaler's signal to forecast: the load.
	Signal string `json:"signal,omitempty"`
	// Mode: forecastAndScale (default) or forecastOnly (explain and export, never act).
	Mode PredictiveMode `json:"mode,omitempty"`
	// CapacityPerReplica is how much of the signal one replica serves
	// within the SLO (e.g. requests/s).
	CapacityPerReplica float64 `json:"capacity_per_replica,omitempty"`
	// The forecast is for now + StartupDelay + Lead: a replica asked for
	// now serves from then on. StartupDelay defaults to the scaler's
	// (ScalerContext.StartupDelay), else 60s; Lead to 60s.
	StartupDelay time.Duration `json:"startup_delay,omitempty"`
	// Lead is planned for beyond the startup delay (default 60s).
	Lead time.Duration `json:"lead,omitempty"`
	// History (default 14d) is the window fetched and fitted; Step (default
	// 1m) its resolution, which must divide a day. MinHistory (default 24h)
	// is the least the policy acts on.
	History time.Duration `json:"history,omitempty"`
	// Step is the history's resolution, which must divide a day (default 1m).
	Step time.Duration `json:"step,omitempty"`
	// MinHistory is the least history the policy acts on (default 24h).
	MinHistory time.Duration `json:"min_history,omitempty"`
	// Smooth, a multiple of Step that divides a day (0: Step), is the block
	// the model is fitted to and forecasts: the means of Smooth-long blocks
	// of the history, which follow the load's level rather than its
	// minute-to-minute noise. The interval is still taken from the errors
	// against every Step-point, so the upper quantile covers that noise.
	Smooth time.Duration `json:"smooth,omitempty"`
	// Model is forecast.Auto (default: chosen by backtest) or one model name.
	Model string `json:"model,omitempty"`
	// Quantile of the forecast planned for, in [0.5, 1) (default 0.9).
	Quantile float64 `json:"quantile,omitempty"`
	// Spread: how the interval widens with the forecast, forecast.SpreadRelative
	// (default), forecast.SpreadSqrt, or forecast.SpreadAuto (chosen at each
	// refit by the backtest).
	Spread string `json:"spread,omitempty"`
	// RefitEvery (default 1h): the model is selected and fitted again after
	// this much new data; in between it observes each new point in O(1).
	RefitEvery time.Duration `json:"refit_every,omitempty"`
	// SurpriseRatio (default 1.5): an observed point above the upper bound
	// forecast for it times this ratio is a surprise (a flash crowd); the
	// policy then abstains for Handover (default 15m), leaving the scaler to
	// its reactive policies.
	SurpriseRatio float64 `json:"surprise_ratio,omitempty"`
	// Handover is how long the policy abstains after a surprise (default
	// 15m).
	Handover time.Duration `json:"handover,omitempty"`
	// Headroom (default 0, in [0, 1]) is the least margin over the point
	// forecast the plan keeps: the upper bound is never below point x
	// (1 + Headroom). A load whose forecast errors are small most of the
	// time still swings by more between a forecast and the minute it is for.
	Headroom float64 `json:"headroom,omitempty"`
	// Ramp (default 0: off), when > 0, also plans for a rise: if the load's
	// mean over the last Ramp is above its mean over the Ramp before (beyond
	// their noise) and above the forecast's upper bound, that growth is
	// compounded until the target time (at most MaxRampGrowth), with the
	// forecast's relative interval on top. Flash crowds and match-time ramps
	// climb for tens of minutes, faster than any model fitted to a day of
	// history follows; Ramp must be a multiple of Step.
	Ramp time.Duration `json:"ramp,omitempty"`
	// Tolerance (default none) keeps the current capacity while the plan
	// is within these fractions of it: up 0.05 moves only for a plan above
	// 1.05 x current. A load that drifts smoothly otherwise moves the plan
	// one replica at a time, a scale action each; the band makes fewer,
	// larger steps, as the HPA's tolerance does for target tracking.
	Tolerance *CapacityTolerance `json:"tolerance,omitempty"`
}

// CapacityTolerance is a band around the current capacity, in fractions of
// it, within which a policy's recommendation keeps the current capacity.
type CapacityTolerance = PIDTolerance

// MaxRampGrowth caps how far a rise is extrapolated: a load seldom
// quadruples within one startup delay.
const MaxRampGrowth = 4

// DefaultStartupDelay is what a predictive policy plans ahead for when
// neither its block nor its scaler says how long capacity takes to serve.
const DefaultStartupDelay = time.Minute

// Default implements PolicySpec: every zero value takes its default, but
// StartupDelay, which New takes from the scaler when it is unset.
func (s *PredictiveSpec) Default() {
	or := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	orf := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	if s.Mode == "" {
		s.Mode = ForecastAndScale
	}
	or(&s.Lead, time.Minute)
	or(&s.History, 14*24*time.Hour)
	or(&s.Step, time.Minute)
	or(&s.MinHistory, 24*time.Hour)
	if s.Model == "" {
		s.Model = forecast.Auto
	}
	orf(&s.Quantile, 0.9)
	or(&s.RefitEvery, time.Hour)
	orf(&s.SurpriseRatio, 1.5)
	or(&s.Handover, 15*time.Minute)
}

// New implements PolicySpec.
func (s *PredictiveSpec) New(name string, ctx ScalerContext, path *field.Path) (Policy, field.ErrorList) {
	spec := *s
	spec.Name = name
	if spec.StartupDelay == 0 {
		spec.StartupDelay = DefaultStartupDelay
		if ctx.StartupDelay > 0 {
			spec.StartupDelay = ctx.StartupDelay
		}
	}
	var errs field.ErrorList
	if e := ctx.RequireSignal(path.Child("signal"), spec.Signal); e != nil {
		errs = append(errs, e)
	}
	p, perrs := newPredictive(spec, path)
	if errs = append(errs, perrs...); len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// Predictive plans capacity for the load forecast at now + startup delay +
// lead: it reads the signal's history (HistoryNeed), selects and fits a
// model by backtest (pkg/forecast) every RefitEvery of new data, and
// recommends ceil(upper bound / CapacityPerReplica) for the target time,
// since a replica asked for now serves only from then. It never asks to go
// below current capacity that the highest upper bound from now to the
// target time still needs: a replica removed now would take as long to come
// back, so it does not scale in before the load it forecasts has passed.
// Combine it with a reactive policy (max): flash crowds cannot be forecast.
type Predictive struct {
	spec    PredictiveSpec
	periods forecast.Periods // of the smoothed series
	models  []forecast.Model
	per     int // history points per smoothed point
	horizon int // smoothed points from the newest complete one to the target, at most

	sel     *forecast.Selection
	last    time.Time // time of the newest history point seen
	pend    []float64 // points after the newest complete block
	fitAt   time.Time // newest point at the last refit
	nextFit time.Time // refit once the newest point reaches it
	// phase, set by SpreadRefits, places the refits on a grid of RefitEvery
	// shifted by it; spread says it was set.
	phase    time.Duration
	spread   bool
	surprise time.Time // abstain until then
	report   ForecastReport
	reported bool
	have     time.Duration // history at the last Recommend (HistoryLength)
}

var (
	_ Policy        = (*Predictive)(nil)
	_ SignalReader  = (*Predictive)(nil)
	_ HistoryReader = (*Predictive)(nil)
	_ Forecaster    = (*Predictive)(nil)
	_ StateReporter = (*Predictive)(nil)
	_ RefitSpreader = (*Predictive)(nil)
)

// NewPredictive validates spec, whose defaults must be filled, and returns
// the policy. A scaler's predictive policies are built through
// PredictiveSpec.New instead.
func NewPredictive(spec PredictiveSpec) (*Predictive, error) {
	var errs field.ErrorList
	if spec.Name == "" {
		errs = append(errs, fielderr.Required(field.NewPath("name"), spec.Name, "must not be empty"))
	}
	if e := (ScalerContext{}).RequireSignal(field.NewPath("signal"), spec.Signal); e != nil {
		errs = append(errs, e)
	}
	p, perrs := newPredictive(spec, nil)
	return p, asError(append(errs, perrs...))
}

// newPredictive checks spec under path and builds the policy; the signal is
// the caller's to check.
func newPredictive(spec PredictiveSpec, path *field.Path) (*Predictive, field.ErrorList) {
	var errs field.ErrorList
	bad := func(key string, value any, format string, args ...any) {
		errs = append(errs, fielderr.Invalid(path.Child(key), value, format, args...))
	}
	if spec.Mode != ForecastOnly && spec.Mode != ForecastAndScale {
		errs = append(errs, fielderr.Invalid(path.Child("mode"), string(spec.Mode), "must be forecastOnly or forecastAndScale"))
	}
	if !(spec.CapacityPerReplica > 0) || math.IsInf(spec.CapacityPerReplica, 0) {
		bad("capacity_per_replica", spec.CapacityPerReplica, "must be a finite number > 0")
	}
	if spec.StartupDelay < 0 {
		bad("startup_delay", spec.StartupDelay, "must be >= 0")
	}
	if spec.Lead < 0 {
		bad("lead", spec.Lead, "must be >= 0")
	}
	if spec.Smooth == 0 {
		spec.Smooth = spec.Step
	}
	periods, err := forecast.PeriodsFor(spec.Smooth)
	switch {
	case spec.Smooth < spec.Step || spec.Step <= 0 || spec.Smooth%spec.Step != 0:
		bad("smooth", spec.Smooth, "must be a multiple of step (%s)", spec.Step)
	case err != nil:
		if _, serr := forecast.PeriodsFor(spec.Step); serr != nil || spec.Smooth == spec.Step {
			bad("step", spec.Step, "must be > 0, at most 1h and divide 24h exactly")
		} else {
			bad("smooth", spec.Smooth, "must be at most 1h and divide 24h exactly")
		}
	}
	if spec.MinHistory < spec.Step || spec.History < spec.MinHistory {
		bad("min_history", spec.MinHistory, "must be at least step (%s) and at most history (%s)", spec.Step, spec.History)
	}
	if spec.Model == "" {
		spec.Model = forecast.Auto
	}
	if !slices.Contains(forecast.ModelNames, spec.Model) {
		errs = append(errs, fielderr.NotSupported(path.Child("model"), spec.Model, forecast.ModelNames))
	}
	if spec.Quantile < 0.5 || spec.Quantile >= 1 {
		bad("quantile", spec.Quantile, "must be in [0.5, 1)")
	}
	if spec.Spread == "" {
		spec.Spread = forecast.SpreadRelative
	}
	if spec.Spread != forecast.SpreadRelative && spec.Spread != forecast.SpreadSqrt && spec.Spread != forecast.SpreadAuto {
		bad("spread", spec.Spread, "must be %s, %s or %s", forecast.SpreadRelative, forecast.SpreadSqrt, forecast.SpreadAuto)
	}
	if spec.RefitEvery < spec.Smooth {
		bad("refit_every", spec.RefitEvery, "must be at least smooth (%s)", spec.Smooth)
	}
	if spec.SurpriseRatio < 1 {
		bad("surprise_ratio", spec.SurpriseRatio, "must be >= 1")
	}
	if spec.Handover < 0 {
		bad("handover", spec.Handover, "must be >= 0")
	}
	if !(spec.Headroom >= 0) || spec.Headroom > 1 {
		bad("headroom", spec.Headroom, "must be in [0, 1]")
	}
	if spec.Ramp < 0 || (spec.Ramp > 0 && (spec.Step <= 0 || spec.Ramp%spec.Step != 0 || spec.Ramp > spec.MinHistory/2)) {
		bad("ramp", spec.Ramp, "must be 0 (off) or a multiple of step (%s) of at most half min_history (%s)", spec.Step, spec.MinHistory)
	}
	if t := spec.Tolerance; t != nil {
		if !(t.Up >= 0) || t.Up > 1 {
			errs = append(errs, fielderr.Invalid(path.Child("tolerance", "up"), t.Up, "must be in [0, 1]"))
		}
		if !(t.Down >= 0) || t.Down >= 1 {
			errs = append(errs, fielderr.Invalid(path.Child("tolerance", "down"), t.Down, "must be in [0, 1)"))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	models, _ := forecast.Models(periods, spec.Model)
	// The newest complete block can be up to a block and a step old.
	h := int((spec.StartupDelay+spec.Lead+spec.Smooth+spec.Step-1)/spec.Smooth) + 1
	return &Predictive{spec: spec, periods: periods, models: models, per: int(spec.Smooth / spec.Step), horizon: h}, nil
}

func (p *Predictive) Name() string      { return p.spec.Name }
func (p *Predictive) Signals() []string { return []string{p.spec.Signal} }

// HistoryNeeds asks for History at Step.
func (p *Predictive) HistoryNeeds() []HistoryNeed {
	return []HistoryNeed{{Signal: p.spec.Signal, Window: p.spec.History, Step: p.spec.Step}}
}

// SpreadRefits implements RefitSpreader: after its first fit, the policy
// refits when its history reaches a multiple of RefitEvery shifted by a
// phase that a hash of key gives (a whole number of steps), instead of
// RefitEvery after whenever it started. Scalers started together would
// otherwise refit together: a fleet's refits are its costliest work.
func (p *Predictive) SpreadRefits(key string) {
	p.phase, p.spread = phase.Of(key, p.spec.RefitEvery, p.spec.Step), true
	if p.sel != nil {
		p.nextFit = p.refitAfter(p.fitAt)
	}
}

// refitAfter is when the next refit after one at fitted is due.
func (p *Predictive) refitAfter(fitted time.Time) time.Time {
	if !p.spread {
		return fitted.Add(p.spec.RefitEvery)
	}
	// The first point of the phase's grid after fitted: a refit at most
	// RefitEvery later, and on the same phase ever after.
	next := fitted.Truncate(p.spec.RefitEvery).Add(p.phase)
	for !next.After(fitted) {
		next = next.Add(p.spec.RefitEvery)
	}
	return next
}

// State implements StateReporter: the history the policy had at its last
// Recommend and the min_history it needs, so that a young service's
// abstaining forecast can be watched filling up.
func (p *Predictive) State() map[string]float64 {
	return map[string]float64{
		"history_seconds":     p.have.Seconds(),
		"min_history_seconds": p.spec.MinHistory.Seconds(),
	}
}

// LastForecast implements Forecaster.
func (p *Predictive) LastForecast() (ForecastReport, bool) {
	if !p.reported {
		return ForecastReport{Signal: p.spec.Signal}, false
	}
	return p.report, true
}

// Recommend implements Policy.
func (p *Predictive) Recommend(in Input) scaling.Recommendation {
	p.reported = false
	abstain := func(format string, args ...any) scaling.Recommendation {
		return scaling.Recommendation{Abstain: true, Reason: fmt.Sprintf(format, durfmt.Args(args)...)}
	}
	r, ok := in.Signals[p.spec.Signal]
	if !ok || !r.OK() {
		return abstain("signal %s failed: no forecast", p.spec.Signal)
	}
	hist := r.History
	have := HistoryLength(hist)
	p.have = have
	if have < p.spec.MinHistory {
		return abstain("history too short to forecast: %s of %s at %s steps, need %s (min_history)",
			have, p.spec.Signal, p.spec.Step, p.spec.MinHistory)
	}
	if hist.Step() != p.spec.Step {
		return abstain("history of %s at %s steps, want %s: no forecast", p.spec.Signal, hist.Step(), p.spec.Step)
	}
	newest := hist.Time(hist.Len() - 1)
	surprised, gaps := p.update(hist)
	if p.sel == nil || !newest.Before(p.nextFit) || newest.Before(p.last) {
		ys, g := regular(hist)
		opt := forecast.SelectOptions{Horizon: p.horizon, Quantile: p.spec.Quantile, Spread: p.spec.Spread}
		if p.per > 1 {
			// Blocks end at the newest point.
			opt.Raw, opt.PerPoint = ys[len(ys)%p.per:], p.per
			ys = blockMeans(opt.Raw, p.per)
		}
		sel, err := forecast.Select(ys, p.periods, p.models, opt)
		if err != nil {
			return abstain("history too short to forecast: %v", err)
		}
		p.sel, p.fitAt, p.nextFit, p.pend, gaps = sel, newest, p.refitAfter(newest), p.pend[:0], g
	}
	p.last = newest
	if surprised != "" {
		p.surprise = in.Now.Add(p.spec.Handover)
	}

	target := in.Now.Add(p.spec.StartupDelay + p.spec.Lead)
	blockEnd := newest.Add(-time.Duration(len(p.pend)) * p.spec.Step)
	h := max(1, int((target.Sub(blockEnd)+p.spec.Smooth-1)/p.spec.Smooth))
	now := p.nowcast()
	at := now(h)
	peak := at.Upper
	for k := 1; k < h; k++ {
		peak = max(peak, now(k).Upper)
	}
	best := p.sel.Best()
	p.report = ForecastReport{Signal: p.spec.Signal, Model: p.sel.Model, Target: target, Quantile: p.spec.Quantile,
		Point: at.Point, Lower: at.Lower, Upper: at.Upper, MASE: best.MASE, SMAPE: best.SMAPE}
	p.reported = true
	if !finite(peak) {
		return abstain("forecast of %s is not a finite number (%v): no recommendation", p.spec.Signal, peak)
	}
	// A replica asked for now serves only from the target time: ask for
	// what the target needs, and keep (never remove, since a removed one
	// takes as long to come back) what the peak until then needs.
	need := replicasFor(at.Upper, p.spec.CapacityPerReplica)
	hold := replicasFor(peak, p.spec.CapacityPerReplica)
	why := fmt.Sprintf("forecast %s (backtest MASE %.2f, sMAPE %.2f) of %s at %s: %.4g, p%g %.4g at %.4g per replica = %d",
		p.sel.Model, best.MASE, best.SMAPE, p.spec.Signal, target.UTC().Format(time.RFC3339), at.Point,
		100*p.spec.Quantile, at.Upper, p.spec.CapacityPerReplica, need)
	ramp, rampWhy := p.ramp(hist, target, at)
	if ramp > need {
		need = ramp
		why += "; " + rampWhy
	}
	hold = max(hold, need)
	replicas := max(need, min(in.Capacity.Current, hold))
	if replicas > need {
		why += fmt.Sprintf("; keeping %d of current %d for the peak p%g until then %.4g", replicas, in.Capacity.Current, 100*p.spec.Quantile, peak)
	}
	if t, cur := p.spec.Tolerance, in.Capacity.Current; t != nil && cur > 0 && replicas != cur {
		if c, r := float64(cur), float64(replicas); r <= c*(1+t.Up) && r >= c*(1-t.Down) {
			why += fmt.Sprintf("; %d is within the tolerance (up %g, down %g) of current %d: keeping it", replicas, t.Up, t.Down, cur)
			replicas = cur
		}
	}
	if gaps > 0 {
		why += fmt.Sprintf(" (%d missing points in the history filled)", gaps)
	}
	switch {
	case p.spec.Mode == ForecastOnly:
		return abstain("forecastOnly: %s", why)
	case (surprised != "" || in.Now.Before(p.surprise)) && ramp > 0:
		// The rise is measured, not forecast: it holds when the model does not.
		return scaling.Recommendation{Replicas: ramp, Reason: fmt.Sprintf("forecast badly wrong lately (reactive policies lead until %s); %s",
			p.surprise.UTC().Format(time.RFC3339), rampWhy)}
	case surprised != "":
		return abstain("forecast badly wrong: %s; handing over to the reactive policies until %s", surprised, p.surprise.UTC().Format(time.RFC3339))
	case in.Now.Before(p.surprise):
		return abstain("forecast was badly wrong lately: reactive policies lead until %s; %s", p.surprise.UTC().Format(time.RFC3339), why)
	}
	return scaling.Recommendation{Replicas: replicas, Reason: why}
}

// ramp is the capacity a rise of the load needs at target: the growth of the
// mean of the last Ramp of history over the mean of the Ramp before it,
// compounded from the middle of the last Ramp to target (at most
// MaxRampGrowth), times the forecast's upper bound over its point. It is 0
// when Ramp is off, when the load is not rising beyond its noise, and when
// the model saw the rise coming.
func (p *Predictive) ramp(hist scaling.History, target time.Time, at forecast.Prediction) (int32, string) {
	n := int(p.spec.Ramp / p.spec.Step)
	if n == 0 || hist.Len() < 2*n {
		return 0, ""
	}
	tail := make([]float64, 2*n)
	for i := range tail {
		if tail[i] = hist.Value(hist.Len() - 2*n + i); !finite(tail[i]) {
			return 0, "" // a hole in the history: no slope to trust
		}
	}
	newest := hist.Time(hist.Len() - 1)
	a, va := meanVar(tail[:n])
	b, vb := meanVar(tail[n:])
	// A rise is one the minute-to-minute noise does not explain: the means
	// differ by more than rampSignificance standard errors.
	if !(a > 0) || !(b-a > rampSignificance*math.Sqrt((va+vb)/float64(n))) {
		return 0, ""
	}
	// And one the model did not see coming: the recent load is above the
	// upper bound it forecast for the block in progress. A rise the model
	// follows (a daily morning) is its to plan for.
	if b <= p.sel.Predict(1).Upper {
		return 0, ""
	}
	mid := newest.Add(-(p.spec.Ramp - p.spec.Step) / 2)
	growth := math.Min(math.Pow(b/a, float64(target.Sub(mid))/float64(p.spec.Ramp)), MaxRampGrowth)
	load := b * growth
	if at.Point > 0 {
		load *= max(1, at.Upper/at.Point)
	}
	r := replicasFor(load, p.spec.CapacityPerReplica)
	return r, fmt.Sprintf("rising %.1f%% over the last %s: %.4g at %s, with the forecast's interval %.4g = %d",
		100*(b/a-1), durfmt.D(p.spec.Ramp), b*growth, target.UTC().Format(time.RFC3339), load, r)
}

// rampSignificance is how many standard errors apart the two means of a
// rise must be: on a noisy load (NASA's minutes vary 3.5 times more than
// a Poisson count), a smaller gap is mostly noise, and compounding noise
// over a startup delay buys capacity for nothing.
const rampSignificance = 3

// meanVar is the mean and the sample variance of values.
func meanVar(values []float64) (mean, variance float64) {
	for _, v := range values {
		mean += v
	}
	mean /= float64(len(values))
	for _, v := range values {
		variance += (v - mean) * (v - mean)
	}
	if len(values) > 1 {
		variance /= float64(len(values) - 1)
	}
	return mean, variance
}

// withHeadroom raises the upper bound to the point forecast plus Headroom.
func (p *Predictive) withHeadroom(pr forecast.Prediction) forecast.Prediction {
	pr.Upper = max(pr.Upper, pr.Point*(1+p.spec.Headroom))
	return pr
}

// nowcast returns the forecast k blocks ahead, taking in the points of the
// block in progress: the model has seen only complete blocks, up to a block
// old, and a ramp would otherwise be planned for a block late. Those points
// are a share of their block, and what the plan is for (a point of the
// block in progress or of a later one) is not: every block moves as the
// model would move it on seeing that share of their surprise
// (forecast.Responder). A level that follows the load closely follows
// them, a season that holds steady does not.
func (p *Predictive) nowcast() func(k int) forecast.Prediction {
	if len(p.pend) == 0 {
		return func(k int) forecast.Prediction { return p.withHeadroom(p.sel.Predict(k)) }
	}
	var sum float64
	for _, v := range p.pend {
		sum += v
	}
	n := float64(len(p.pend))
	surprise := (sum/n - p.sel.Predict(1).Point) * n / float64(p.per)
	return func(k int) forecast.Prediction {
		pr := p.sel.Predict(k)
		shift := surprise * p.sel.Response(max(1, k-1))
		return p.withHeadroom(forecast.Prediction{Point: max(0, pr.Point+shift), Lower: max(0, pr.Lower+shift), Upper: max(0, pr.Upper+shift)})
	}
}

// update feeds the model the points on its grid after the last it saw (a
// missing one repeats the one before), a block mean at a time when
// smoothing, and says whether one of them was far above the upper bound
// forecast for it. It costs O(new points): the history is not walked again
// between refits.
func (p *Predictive) update(hist scaling.History) (surprise string, gaps int) {
	end := hist.Time(hist.Len() - 1)
	if p.sel == nil || !end.After(p.last) {
		return "", 0
	}
	// at is the value at t on the history's grid, NaN when missing.
	at := func(t time.Time) float64 {
		d := t.Sub(hist.Time(0))
		if d < 0 || d%p.spec.Step != 0 || int(d/p.spec.Step) >= hist.Len() {
			return math.NaN()
		}
		return hist.Value(int(d / p.spec.Step))
	}
	prev := at(p.last)
	for t := p.last.Add(p.spec.Step); !t.After(end); t = t.Add(p.spec.Step) {
		v := prev
		if x := at(t); finite(x) {
			v = x
		} else {
			gaps++
		}
		if math.IsNaN(v) {
			v = 0
		}
		pr := p.sel.Predict(1)
		if v > pr.Upper*p.spec.SurpriseRatio && v > pr.Point+p.sel.Best().MAE {
			surprise = fmt.Sprintf("%s at %s was %.4g, above %g x the upper bound %.4g", p.spec.Signal,
				t.UTC().Format(time.RFC3339), v, p.spec.SurpriseRatio, pr.Upper)
		}
		p.pend = append(p.pend, v)
		if len(p.pend) == p.per {
			p.sel.Observe(blockMeans(p.pend, p.per)[0])
			p.pend = p.pend[:0]
		}
		prev = v
	}
	return surprise, gaps
}

// blockMeans is the mean of every per points of ys (len(ys) a multiple of per).
func blockMeans(ys []float64, per int) []float64 {
	out := make([]float64, len(ys)/per)
	for i := range out {
		var sum float64
		for _, v := range ys[i*per : (i+1)*per] {
			sum += v
		}
		out[i] = sum / float64(per)
	}
	return out
}

// replicasFor is ceil(load / per replica), saturated at the int32 range.
func replicasFor(load, perReplica float64) int32 {
	return ceil32(load / perReplica)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// regular is the history's values, oldest first, a missing point filled
// with the one before it; it returns how many it filled.
func regular(h scaling.History) ([]float64, int) {
	ys := make([]float64, 0, h.Len())
	gaps := 0
	for i := range h.Len() {
		switch v := h.Value(i); {
		case finite(v):
			ys = append(ys, v)
		case len(ys) > 0:
			gaps++
			ys = append(ys, ys[len(ys)-1])
		default:
			gaps++
			ys = append(ys, 0)
		}
	}
	return ys, gaps
}
