package policy

import (
	"fmt"
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
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
	Name   string `json:"-"`
	Signal string `json:"signal,omitempty"`
	// Mode: forecastAndScale (default) or forecastOnly (explain and export, never act).
	Mode PredictiveMode `json:"mode,omitempty"`
	// CapacityPerReplica is how much of the signal one replica serves
	// within the SLO (e.g. requests/s).
	CapacityPerReplica float64 `json:"capacity_per_replica,omitempty"`
	// The forecast is for now + StartupDelay + Lead (default 60s each): a
	// replica asked for now serves from then on.
	StartupDelay time.Duration `json:"startup_delay,omitempty"`
	Lead         time.Duration `json:"lead,omitempty"`
	// History (default 14d) is the window fetched and fitted; Step (default
	// 1m) its resolution, which must divide a day. MinHistory (default 24h)
	// is the least the policy acts on.
	History    time.Duration `json:"history,omitempty"`
	Step       time.Duration `json:"step,omitempty"`
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
	// (default) or forecast.SpreadSqrt.
	Spread string `json:"spread,omitempty"`
	// RefitEvery (default 1h): the model is selected and fitted again after
	// this much new data; in between it observes each new point in O(1).
	RefitEvery time.Duration `json:"refit_every,omitempty"`
	// SurpriseRatio (default 1.5): an observed point above the upper bound
	// forecast for it times this ratio is a surprise (a flash crowd); the
	// policy then abstains for Handover (default 15m), leaving the scaler to
	// its reactive policies.
	SurpriseRatio float64       `json:"surprise_ratio,omitempty"`
	Handover      time.Duration `json:"handover,omitempty"`
}

// Default implements PolicySpec: every zero value takes its default.
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
	or(&s.StartupDelay, time.Minute)
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
// recommends ceil(upper bound / CapacityPerReplica), the upper bound being
// the highest over every step from now to the target time, so that it never
// asks to scale in before the load it forecasts has passed. Combine it with
// a reactive policy (max): flash crowds cannot be forecast.
type Predictive struct {
	spec    PredictiveSpec
	periods forecast.Periods // of the smoothed series
	models  []forecast.Model
	per     int // history points per smoothed point
	horizon int // smoothed points from the newest complete one to the target, at most

	sel      *forecast.Selection
	last     time.Time // time of the newest history point seen
	pend     []float64 // points after the newest complete block
	fitAt    time.Time // newest point at the last refit
	surprise time.Time // abstain until then
	report   ForecastReport
	reported bool
}

var (
	_ Policy        = (*Predictive)(nil)
	_ SignalReader  = (*Predictive)(nil)
	_ HistoryReader = (*Predictive)(nil)
	_ Forecaster    = (*Predictive)(nil)
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
	if spec.Spread != forecast.SpreadRelative && spec.Spread != forecast.SpreadSqrt {
		bad("spread", spec.Spread, "must be %s or %s", forecast.SpreadRelative, forecast.SpreadSqrt)
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
		return scaling.Recommendation{Abstain: true, Reason: fmt.Sprintf(format, args...)}
	}
	r, ok := in.Signals[p.spec.Signal]
	if !ok || !r.OK() {
		return abstain("signal %s failed: no forecast", p.spec.Signal)
	}
	hist := r.History
	var have time.Duration
	if len(hist) > 0 {
		have = hist[len(hist)-1].Time.Sub(hist[0].Time) + p.spec.Step
	}
	if have < p.spec.MinHistory {
		return abstain("history too short to forecast: %s of %s at %s steps, need %s (min_history)",
			have, p.spec.Signal, p.spec.Step, p.spec.MinHistory)
	}
	newest := hist[len(hist)-1].Time
	surprised, gaps := p.update(hist)
	if p.sel == nil || newest.Sub(p.fitAt) >= p.spec.RefitEvery || newest.Before(p.last) {
		ys, g := regular(hist, p.spec.Step)
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
		p.sel, p.fitAt, p.pend, gaps = sel, newest, p.pend[:0], g
	}
	p.last = newest
	if surprised != "" {
		p.surprise = in.Now.Add(p.spec.Handover)
	}

	target := in.Now.Add(p.spec.StartupDelay + p.spec.Lead)
	blockEnd := newest.Add(-time.Duration(len(p.pend)) * p.spec.Step)
	h := max(1, int((target.Sub(blockEnd)+p.spec.Smooth-1)/p.spec.Smooth))
	at := p.sel.Predict(h)
	peak := at.Upper
	for k := 1; k < h; k++ {
		peak = max(peak, p.sel.Predict(k).Upper)
	}
	best := p.sel.Best()
	p.report = ForecastReport{Signal: p.spec.Signal, Model: p.sel.Model, Target: target, Quantile: p.spec.Quantile,
		Point: at.Point, Lower: at.Lower, Upper: at.Upper, MASE: best.MASE, SMAPE: best.SMAPE}
	p.reported = true
	if !finite(peak) {
		return abstain("forecast of %s is not a finite number (%v): no recommendation", p.spec.Signal, peak)
	}
	replicas := ceil32(peak / p.spec.CapacityPerReplica) // saturates at the int32 range
	why := fmt.Sprintf("forecast %s (backtest MASE %.2f, sMAPE %.2f) of %s at %s: %.4g, p%g %.4g; peak p%g until then %.4g at %.4g per replica = %d",
		p.sel.Model, best.MASE, best.SMAPE, p.spec.Signal, target.UTC().Format(time.RFC3339), at.Point,
		100*p.spec.Quantile, at.Upper, 100*p.spec.Quantile, peak, p.spec.CapacityPerReplica, replicas)
	if gaps > 0 {
		why += fmt.Sprintf(" (%d missing points in the history filled)", gaps)
	}
	switch {
	case p.spec.Mode == ForecastOnly:
		return abstain("forecastOnly: %s", why)
	case surprised != "":
		return abstain("forecast badly wrong: %s; handing over to the reactive policies until %s", surprised, p.surprise.UTC().Format(time.RFC3339))
	case in.Now.Before(p.surprise):
		return abstain("forecast was badly wrong lately: reactive policies lead until %s; %s", p.surprise.UTC().Format(time.RFC3339), why)
	}
	return scaling.Recommendation{Replicas: replicas, Reason: why}
}

// update feeds the model the points on its grid after the last it saw (a
// missing one repeats the one before), a block mean at a time when
// smoothing, and says whether one of them was far above the upper bound
// forecast for it. It costs O(new points): the history is not walked again
// between refits.
func (p *Predictive) update(hist []scaling.Sample) (surprise string, gaps int) {
	if p.sel == nil || !hist[len(hist)-1].Time.After(p.last) {
		return "", 0
	}
	j, _ := slices.BinarySearchFunc(hist, p.last, func(s scaling.Sample, t time.Time) int { return s.Time.Compare(t) })
	prev := math.NaN()
	if j < len(hist) && hist[j].Time.Equal(p.last) {
		prev = hist[j].Value
		j++
	}
	end := hist[len(hist)-1].Time
	for t := p.last.Add(p.spec.Step); !t.After(end); t = t.Add(p.spec.Step) {
		for j < len(hist) && hist[j].Time.Before(t) {
			j++
		}
		v := prev
		if j < len(hist) && hist[j].Time.Equal(t) && finite(hist[j].Value) {
			v = hist[j].Value
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

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// regular lays samples on their step grid, oldest first, filling a missing
// point with the one before it; it returns how many it filled.
func regular(samples []scaling.Sample, step time.Duration) ([]float64, int) {
	first, last := samples[0].Time, samples[len(samples)-1].Time
	n := int(last.Sub(first)/step) + 1
	ys := make([]float64, 0, n)
	gaps, j := 0, 0
	for k := range n {
		t := first.Add(time.Duration(k) * step)
		for j < len(samples) && samples[j].Time.Before(t) {
			j++
		}
		switch {
		case j < len(samples) && samples[j].Time.Equal(t) && finite(samples[j].Value):
			ys = append(ys, samples[j].Value)
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
