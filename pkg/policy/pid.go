package policy

import (
	"math"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// PIDDirection says which way capacity moves the signal.
type PIDDirection string

const (
	// PIDDecrease: more capacity lowers the signal (latency, utilisation,
	// queue length). The default.
	PIDDecrease PIDDirection = "decrease"
	// PIDIncrease: more capacity raises the signal (throughput, free slots).
	PIDIncrease PIDDirection = "increase"
)

// PIDGainScale says what the gains are measured in.
type PIDGainScale string

const (
	// PIDAbsolute: gains give replicas (kp replicas per signal unit).
	PIDAbsolute PIDGainScale = "absolute"
	// PIDRelative: gains give fractions of the current capacity (kp = 0.5 on
	// a latency error of 1 s asks for 50 % more). A service's signal reacts
	// to one replica less the bigger it is, so relative gains keep the loop
	// gain of a 5-replica and a 500-replica service alike.
	PIDRelative PIDGainScale = "relative"
)

// TypePID is a PID controller of capacity (docs/policies.md).
const TypePID PolicyType = "pid"

func init() {
	Register(TypePID, func() PolicySpec { return &PIDSpec{} })
}

// PIDSpec is the pid block of a policy. Gains: kp in replicas per signal
// unit, ki in replicas per signal unit per second, kd in replicas per signal
// unit per second of change, all multiplied by the current capacity when
// gain_scale is relative (PIDConfig says more).
type PIDSpec struct {
	// Signal names the scaler's signal the controller holds at setpoint.
	Signal string `json:"signal,omitempty"`
	// Setpoint is the value the signal is held at.
	Setpoint float64 `json:"setpoint,omitempty"`
	// Direction says which way capacity moves the signal: decrease (more
	// capacity lowers it: latency, utilisation; the default) or increase.
	Direction PIDDirection `json:"direction,omitempty"`
	// GainScale: absolute (gains give replicas, the default) or relative
	// (gains give fractions of the current capacity).
	GainScale PIDGainScale `json:"gain_scale,omitempty"`
	// Kp is the proportional gain, per signal unit.
	Kp float64 `json:"kp,omitempty"`
	// Ki is the integral gain, per signal unit per second.
	Ki float64 `json:"ki,omitempty"`
	// Kd is the derivative gain, per signal unit per second of change.
	Kd float64 `json:"kd,omitempty"`
	// DerivativeFilter is the derivative's low-pass time constant (0: none).
	DerivativeFilter time.Duration `json:"derivative_filter,omitempty"`
	// Deadband is an error this small or smaller counts as none.
	Deadband float64 `json:"deadband,omitempty"`
	// MaxError caps the error the controller acts on (0: no cap).
	MaxError float64 `json:"max_error,omitempty"`
	// FeedForward adds the replicas the load needs, so that the PID only
	// trims.
	FeedForward *PIDFeedForward `json:"feed_forward,omitempty"`
	// Tolerance holds the recommendation at the current capacity while the
	// output is within these fractions of it.
	Tolerance *PIDTolerance `json:"tolerance,omitempty"`
}

// PIDTolerance is a PID's output tolerance, fractions of the current
// capacity: up 0.05 moves only for an output above 1.05 x current.
type PIDTolerance struct {
	// Up is the fraction above the current capacity the output must pass.
	Up float64 `json:"up,omitempty"`
	// Down is the fraction below the current capacity the output must pass.
	Down float64 `json:"down,omitempty"`
}

// PIDFeedForward adds load/per_replica replicas, so that the PID only trims.
type PIDFeedForward struct {
	// Signal names the scaler's signal that measures the load.
	Signal string `json:"signal,omitempty"`
	// PerReplica is the load one replica serves.
	PerReplica float64 `json:"per_replica,omitempty"`
	// Smoothing is the time constant of a moving average of the signal
	// (0: none).
	Smoothing time.Duration `json:"smoothing,omitempty"`
	// Lead projects the smoothed signal this far ahead along its smoothed
	// trend (needs smoothing; 0: no trend).
	Lead time.Duration `json:"lead,omitempty"`
}

// Default implements PolicySpec: direction decrease, gain_scale absolute.
func (s *PIDSpec) Default() {
	if s.Direction == "" {
		s.Direction = PIDDecrease
	}
	if s.GainScale == "" {
		s.GainScale = PIDAbsolute
	}
}

// New implements PolicySpec.
func (s *PIDSpec) New(name string, ctx ScalerContext, path *field.Path) (Policy, field.ErrorList) {
	var errs field.ErrorList
	if e := ctx.RequireSignal(path.Child("signal"), s.Signal); e != nil {
		errs = append(errs, e)
	}
	if ff := s.FeedForward; ff != nil {
		if e := ctx.RequireSignal(path.Child("feed_forward", "signal"), ff.Signal); e != nil {
			errs = append(errs, e)
		}
	}
	p, perrs := newPID(name, s.Config(), path)
	if errs = append(errs, perrs...); len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// Config is the PIDConfig of the (defaulted) block.
func (s *PIDSpec) Config() PIDConfig {
	c := PIDConfig{
		Signal: s.Signal, Setpoint: s.Setpoint, Direction: s.Direction, GainScale: s.GainScale,
		Kp: s.Kp, Ki: s.Ki, Kd: s.Kd, DerivativeFilter: s.DerivativeFilter, Deadband: s.Deadband, MaxError: s.MaxError,
	}
	if ff := s.FeedForward; ff != nil {
		c.FeedForwardSignal, c.FeedForwardPerReplica = ff.Signal, ff.PerReplica
		c.FeedForwardSmoothing, c.FeedForwardLead = ff.Smoothing, ff.Lead
	}
	if t := s.Tolerance; t != nil {
		c.ToleranceUp, c.ToleranceDown = t.Up, t.Down
	}
	return c
}

// PIDConfig configures a PID policy. Error e = measurement - setpoint for
// PIDDecrease, setpoint - measurement for PIDIncrease, so that a positive
// error always asks for more capacity. With gain factor g = 1 (absolute) or
// g = current capacity (relative) the output, a capacity, is
//
//	u = FF + g*Kp*e + I + g*Kd*dm/dt        (sign of dm/dt as e's)
//	I += g*Ki*e*dt                          (dt: real time between ticks)
//
// where FF is the feed-forward capacity (0 without one) and dm/dt the
// derivative of the measurement through a first-order low-pass filter.
type PIDConfig struct {
	Signal    string
	Setpoint  float64
	Direction PIDDirection // "" means PIDDecrease
	GainScale PIDGainScale // "" means PIDAbsolute
	// Kp in replicas per signal unit (absolute) or per signal unit of
	// current capacity (relative).
	Kp float64
	// Ki in replicas per signal unit per second (absolute), or fraction of
	// current capacity per signal unit per second (relative).
	Ki float64
	// Kd in replicas per (signal unit per second), that is replica-seconds
	// per signal unit (absolute), or the relative equivalent.
	Kd float64
	// DerivativeFilter is the time constant of the derivative's low-pass
	// filter; 0 takes no filtering.
	DerivativeFilter time.Duration
	// Deadband, in signal units: |measurement - setpoint| up to Deadband
	// counts as no error, and beyond it only the excess counts, so the
	// integrator rests and a constant demand never makes capacity hunt.
	Deadband float64
	// MaxError, in signal units, caps |e| (0: no cap). A saturated latency
	// reads huge or +Inf-like values; the cap keeps one bad tick from
	// swamping the integrator.
	MaxError float64
	// FeedForwardSignal, if set, is a load signal (e.g. requests per second)
	// and FeedForwardPerReplica the load one replica carries at the
	// setpoint: FF = load / per-replica, and the PID only trims around it.
	FeedForwardSignal     string
	FeedForwardPerReplica float64
	// FeedForwardSmoothing is the time constant of an exponentially weighted
	// moving average of the load signal (0: the reading as it is), so that
	// the feed-forward follows the load's level rather than every window's
	// noise. The weight of a reading is dt/(smoothing + dt).
	FeedForwardSmoothing time.Duration
	// FeedForwardLead, with smoothing, projects the smoothed load this far
	// ahead along its smoothed trend (Holt's linear method, both averages
	// with the same weight), so that the feed-forward asks for the load
	// expected when new capacity is ready rather than the load already seen:
	// about the startup delay plus half the signal's window. 0: no trend.
	FeedForwardLead time.Duration
	// ToleranceUp and ToleranceDown, fractions of the current capacity, hold
	// the recommendation at the current capacity while the output u stays
	// within [current*(1-ToleranceDown), current*(1+ToleranceUp)], as the
	// HPA's tolerance does for a utilisation ratio. The integrator keeps
	// integrating the error while the output is held: the hold changes what
	// is proposed, never what the controller knows.
	ToleranceUp, ToleranceDown float64
}

// PID is a proportional-integral-derivative controller of a capacity, built
// the way a control engineer would sign off:
//
//   - dt is the real time between ticks, read from Input.Now;
//   - the derivative is taken on the measurement, never the error, and
//     low-pass filtered, so a setpoint change gives no derivative kick;
//   - anti-windup: when the final number (after the other policies, the
//     failure rule and every guard) is held on the other side of the PID's
//     own from where its integrator was moving, the integrator stops; a
//     failed signal freezes it and restarts the derivative;
//   - bumpless: the first output equals the current capacity (the
//     integrator starts at current - FF - P), and whenever the current
//     capacity differs from the last decision (an actuation that failed, a
//     person scaling by hand, a standby replica) the integrator re-bases on
//     it, so a switch from dry run to live continues from the real capacity;
//   - shadow (Input.Shadow, dry run): the capacity the PID works from is its
//     last decision, as if it had been applied, so a dry run shows the PID's
//     real trajectory rather than one re-based every tick on a capacity that
//     never moves; its reason says so;
//   - the deadband and the error cap act on the error; feed-forward adds a
//     load-derived capacity that the PID trims.
//
// Recommendations round the output to the nearest capacity. The state is
// exported through State. A PID belongs to one Decider.
type PID struct {
	name string
	cfg  PIDConfig
	dir  float64

	started  bool
	integ    float64   // I, capacity
	dfilt    float64   // filtered dm/dt, signal units per second
	lastMeas float64   // last good measurement
	haveMeas bool      // lastMeas is usable for the next derivative
	lastTime time.Time // last tick with a good measurement (or a failed one, which freezes I)
	out      float64   // last output u
	rec      int32     // last recommendation, round(u)
	decided  int32     // the last final number the Decider reported
	lastInc  float64   // this tick's integral increment, undone when clamped against it
	lastErr  float64
	lastFF   float64
	ffLoad   float64 // smoothed load, when FeedForwardSmoothing > 0
	ffTrend  float64 // smoothed d(load)/dt, per second
	ffTime   time.Time
	haveFF   bool
	spoke    bool // the last Recommend did not abstain
}

var (
	_ Policy           = (*PID)(nil)
	_ SignalReader     = (*PID)(nil)
	_ FeedbackReceiver = (*PID)(nil)
	_ StateReporter    = (*PID)(nil)
)

// NewPID validates cfg and returns a PID with no state: its first
// recommendation will be the current capacity. A scaler's PID policies are
// built from their PIDSpec instead.
func NewPID(name string, cfg PIDConfig) (*PID, error) {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, fielderr.Required(field.NewPath("name"), name, "must not be empty"))
	}
	if e := (ScalerContext{}).RequireSignal(field.NewPath("signal"), cfg.Signal); e != nil {
		errs = append(errs, e)
	}
	p, perrs := newPID(name, cfg, nil)
	return p, asError(append(errs, perrs...))
}

// newPID checks cfg, every problem under path with the key a pid block
// gives it, and builds the policy. The signals are the caller's to check.
func newPID(name string, cfg PIDConfig, path *field.Path) (*PID, field.ErrorList) {
	var errs field.ErrorList
	bad := func(p *field.Path, v any, format string, args ...any) {
		errs = append(errs, fielderr.Invalid(p, v, format, args...))
	}
	for _, c := range []struct {
		p      *field.Path
		v      float64
		nonNeg bool
	}{{path.Child("setpoint"), cfg.Setpoint, false}, {path.Child("kp"), cfg.Kp, true}, {path.Child("ki"), cfg.Ki, true},
		{path.Child("kd"), cfg.Kd, true}, {path.Child("deadband"), cfg.Deadband, true}, {path.Child("max_error"), cfg.MaxError, true},
		{path.Child("tolerance", "up"), cfg.ToleranceUp, true}, {path.Child("tolerance", "down"), cfg.ToleranceDown, true}} {
		switch {
		case c.nonNeg && !(finite(c.v) && c.v >= 0):
			bad(c.p, c.v, "must be a finite number >= 0")
		case !finite(c.v):
			bad(c.p, c.v, "must be a finite number")
		}
	}
	if cfg.Kp == 0 && cfg.Ki == 0 && cfg.Kd == 0 {
		errs = append(errs, fielderr.Problem(path, "kp, ki and kd are all 0: at least one gain must be > 0"))
	}
	if cfg.ToleranceDown >= 1 {
		bad(path.Child("tolerance", "down"), cfg.ToleranceDown, "must be < 1")
	}
	if cfg.FeedForwardSmoothing < 0 {
		bad(path.Child("feed_forward", "smoothing"), cfg.FeedForwardSmoothing, "must be >= 0")
	}
	if cfg.FeedForwardLead < 0 || (cfg.FeedForwardLead > 0 && cfg.FeedForwardSmoothing == 0) {
		bad(path.Child("feed_forward", "lead"), cfg.FeedForwardLead, "must be >= 0, and 0 without smoothing")
	}
	if cfg.DerivativeFilter < 0 {
		bad(path.Child("derivative_filter"), cfg.DerivativeFilter, "must be >= 0")
	}
	p := &PID{name: name, cfg: cfg, dir: 1}
	switch cfg.Direction {
	case "", PIDDecrease:
		p.cfg.Direction = PIDDecrease
	case PIDIncrease:
		p.dir = -1
	default:
		errs = append(errs, fielderr.NotSupported(path.Child("direction"), string(cfg.Direction), []PIDDirection{PIDDecrease, PIDIncrease}))
	}
	switch cfg.GainScale {
	case "":
		p.cfg.GainScale = PIDAbsolute
	case PIDAbsolute, PIDRelative:
	default:
		errs = append(errs, fielderr.NotSupported(path.Child("gain_scale"), string(cfg.GainScale), []PIDGainScale{PIDAbsolute, PIDRelative}))
	}
	if cfg.FeedForwardSignal != "" && !(cfg.FeedForwardPerReplica > 0 && finite(cfg.FeedForwardPerReplica)) {
		bad(path.Child("feed_forward", "per_replica"), cfg.FeedForwardPerReplica, "must be a finite number > 0")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// Name implements Policy.
func (p *PID) Name() string { return p.name }

// Signals implements SignalReader.
func (p *PID) Signals() []string {
	if p.cfg.FeedForwardSignal != "" && p.cfg.FeedForwardSignal != p.cfg.Signal {
		return []string{p.cfg.Signal, p.cfg.FeedForwardSignal}
	}
	return []string{p.cfg.Signal}
}

// SetSetpoint moves the setpoint without touching the state, as a setpoint
// ramp would. The derivative acts on the measurement, so only the
// proportional term sees the step.
func (p *PID) SetSetpoint(sp float64) { p.cfg.Setpoint = sp }

// read returns a usable value of signal or why not.
func read(in Input, signal string) (float64, string) {
	r, ok := in.Signals[signal]
	switch {
	case !ok:
		return 0, "signal " + signal + " failed (empty): no reading"
	case r.Err != nil:
		return 0, "signal " + signal + " failed (" + string(scaling.KindOf(r.Err)) + "): " + r.Err.Error()
	case math.IsNaN(r.Sample.Value) || math.IsInf(r.Sample.Value, 0):
		return 0, "signal " + signal + " failed (not_finite): " + strconv.FormatFloat(r.Sample.Value, 'g', -1, 64)
	}
	return r.Sample.Value, ""
}

// errorOf applies direction, cap and deadband.
func (p *PID) errorOf(m float64) float64 {
	e := p.dir * (m - p.cfg.Setpoint)
	if c := p.cfg.MaxError; c > 0 {
		e = max(-c, min(c, e))
	}
	switch db := p.cfg.Deadband; {
	case e > db:
		return e - db
	case e < -db:
		return e + db
	}
	return 0
}

// Recommend implements Policy.
func (p *PID) Recommend(in Input) scaling.Recommendation {
	rec := scaling.Recommendation{Policy: p.name}
	cur := in.Capacity.Current
	before := *p // restored when an absurd value overflows the arithmetic
	shadow := ""
	if in.Shadow && p.started {
		// Work from what the PID decided last, as if it had been applied.
		if p.decided != cur {
			shadow = "shadow of a dry run, as if " + strconv.Itoa(int(p.decided)) + " had been set (the target has " + strconv.Itoa(int(cur)) + ")"
		}
		cur = p.decided
	}
	m, why := read(in, p.cfg.Signal)
	var ff float64
	if why == "" && p.cfg.FeedForwardSignal != "" {
		var load float64
		if load, why = read(in, p.cfg.FeedForwardSignal); why == "" {
			ff = p.smoothLoad(in.Now, max(0, load)) / p.cfg.FeedForwardPerReplica
		}
	}
	if why != "" {
		// Freeze: no integration over the gap, and no derivative across it.
		p.spoke, p.haveMeas = false, false
		if p.started {
			p.lastTime = in.Now
		}
		rec.Abstain, rec.Reason = true, "abstain: "+why
		return rec
	}
	g := 1.0
	if p.cfg.GainScale == PIDRelative {
		g = float64(max(cur, 1))
	}
	e := p.errorOf(m)
	pTerm := g * p.cfg.Kp * e
	if !finite(pTerm) || !finite(ff) {
		return p.overflow(before, rec, m)
	}

	if !p.started {
		// Bumpless start: the output is the current capacity.
		p.started = true
		p.integ = float64(cur) - ff - pTerm
		p.dfilt = 0
		p.lastMeas, p.haveMeas, p.lastTime = m, true, in.Now
		p.out, p.rec, p.decided, p.lastInc = float64(cur), cur, cur, 0
		p.lastErr, p.lastFF, p.spoke = e, ff, true
		rec.Replicas = cur
		rec.Reason = p.reason("bumpless start", m, e, ff, pTerm, 0)
		return rec
	}
	// Bumpless transfer: the capacity really in place is the reference.
	if cur != p.decided {
		p.integ += float64(cur) - p.out
		p.out, p.decided = float64(cur), cur
	}
	p.lastInc = 0
	dt := in.Now.Sub(p.lastTime).Seconds()
	if dt > 0 {
		if p.haveMeas {
			raw := (m - p.lastMeas) / dt
			alpha := 1.0
			if tf := p.cfg.DerivativeFilter.Seconds(); tf > 0 {
				alpha = dt / (tf + dt)
			}
			p.dfilt += alpha * (raw - p.dfilt)
		} else {
			p.dfilt = 0
		}
		p.lastInc = g * p.cfg.Ki * e * dt
		p.integ += p.lastInc
	}
	dTerm := g * p.cfg.Kd * p.dir * p.dfilt
	u := ff + pTerm + p.integ + dTerm
	if !finite(u) {
		return p.overflow(before, rec, m)
	}
	p.lastMeas, p.haveMeas, p.lastTime = m, true, in.Now
	p.out, p.lastErr, p.lastFF, p.spoke = u, e, ff, true
	p.rec = p.hold(u, cur)
	rec.Replicas = p.rec
	rec.Reason = p.reason(shadow, m, e, ff, pTerm, dTerm)
	return rec
}

// overflow abstains for a value so large (1e308) that the arithmetic
// overflows, and puts the state back as it was before the tick: an absurd
// value is a failed signal, and it must not leave an infinite integrator
// behind that would later read as a wish for zero capacity.
func (p *PID) overflow(before PID, rec scaling.Recommendation, m float64) scaling.Recommendation {
	*p = before
	p.spoke = false
	rec.Abstain = true
	rec.Reason = "abstain: signal " + p.cfg.Signal + " " + strconv.FormatFloat(m, 'g', 4, 64) + " overflows the PID's arithmetic"
	return rec
}

// smoothLoad returns the feed-forward load at now: the reading itself, or
// its exponentially weighted moving average with time constant
// FeedForwardSmoothing, started at the first reading.
func (p *PID) smoothLoad(now time.Time, load float64) float64 {
	tau := p.cfg.FeedForwardSmoothing.Seconds()
	if tau <= 0 {
		return load
	}
	if !p.haveFF {
		p.ffLoad, p.ffTrend, p.ffTime, p.haveFF = load, 0, now, true
		return load
	}
	if dt := now.Sub(p.ffTime).Seconds(); dt > 0 {
		w := dt / (tau + dt)
		prev := p.ffLoad
		guess := prev + p.ffTrend*dt // ffTrend stays 0 without a lead
		p.ffLoad = guess + w*(load-guess)
		if p.cfg.FeedForwardLead > 0 {
			p.ffTrend += w * ((p.ffLoad-prev)/dt - p.ffTrend)
		}
		p.ffTime = now
	}
	return max(0, p.ffLoad+p.ffTrend*p.cfg.FeedForwardLead.Seconds())
}

// hold is the recommendation for output u at current capacity cur: cur
// while u is within the tolerances around it, else round(u).
func (p *PID) hold(u float64, cur int32) int32 {
	c := float64(cur)
	if u <= c*(1+p.cfg.ToleranceUp) && u >= c*(1-p.cfg.ToleranceDown) {
		return cur
	}
	return roundCapacity(u)
}

// Feedback implements FeedbackReceiver: conditional integration. When the
// final number is not the PID's own (a guard clamped it, the failure rule
// held, another policy won) and lies on the other side of it from where this
// tick's integration pushed, the increment is undone: the integrator stops
// while the output is held, so it never winds up, and the PID keeps
// proposing what it wants so that a stabilisation window or rate limit
// releases to it.
func (p *PID) Feedback(_ time.Time, final int32, _ bool) {
	if !p.started {
		return
	}
	p.decided = final
	if !p.spoke || final == p.rec {
		return // abstained: the integrator was frozen already
	}
	if (final < p.rec && p.lastInc > 0) || (final > p.rec && p.lastInc < 0) {
		p.integ -= p.lastInc
		p.out -= p.lastInc
		p.lastInc = 0
	}
}

// State implements StateReporter: integral (capacity), derivative (filtered
// dm/dt, signal units per second), last_measurement, error (after deadband
// and cap), feed_forward (capacity) and output (capacity, before rounding).
func (p *PID) State() map[string]float64 {
	return map[string]float64{
		"integral":         p.integ,
		"derivative":       p.dfilt,
		"last_measurement": p.lastMeas,
		"error":            p.lastErr,
		"feed_forward":     p.lastFF,
		"output":           p.out,
	}
}

func (p *PID) reason(prefix string, m, e, ff, pTerm, dTerm float64) string {
	var b []byte
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, ": "...)
	}
	b = append(b, p.cfg.Signal...)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, m, 'g', 4, 64)
	b = append(b, " vs setpoint "...)
	b = strconv.AppendFloat(b, p.cfg.Setpoint, 'g', 4, 64)
	b = append(b, ", error "...)
	b = strconv.AppendFloat(b, e, 'g', 3, 64)
	if p.cfg.FeedForwardSignal != "" {
		b = append(b, "; ff "...)
		b = appendNum(b, ff)
	}
	b = append(b, " + P "...)
	b = appendNum(b, pTerm)
	b = append(b, " + I "...)
	b = appendNum(b, p.integ)
	b = append(b, " + D "...)
	b = appendNum(b, dTerm)
	b = append(b, " = "...)
	b = appendNum(b, p.out)
	b = append(b, " -> "...)
	b = strconv.AppendInt(b, int64(p.rec), 10)
	return string(b)
}

// roundCapacity rounds to the nearest capacity, saturating at the int32
// range and at 0.
func roundCapacity(x float64) int32 {
	r := math.Round(x)
	switch {
	case math.IsNaN(r) || r <= 0:
		return 0
	case r >= math.MaxInt32:
		return math.MaxInt32
	}
	return int32(r)
}
