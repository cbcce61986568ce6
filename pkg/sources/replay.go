package sources

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// KindReplay plays a recorded trace as a signal, for demos and backtests.
const KindReplay SourceKind = "replay"

func init() {
	Register(KindReplay, func() SourceSpec { return &ReplaySpec{Speed: DefaultReplaySpeed} })
}

// Defaults of a replay block.
const (
	DefaultReplaySpeed = 1.0
	DefaultReplayExpr  = "value"
)

// ReplaySpec is a signal's replay block: it plays a recorded trace (the CSV
// that LoadTrace reads), starting when the daemon starts.
type ReplaySpec struct {
	// Trace is the CSV file; a relative path is taken from the directory of
	// the config file.
	Trace string `json:"trace,omitempty"`
	// Speed is trace time per wall-clock time: 1 plays in real time, 60 plays
	// one trace minute per second (default 1).
	Speed float64 `json:"speed,omitempty"`
	// Loop starts the trace again at its end; without it the signal fails
	// once the trace is over.
	Loop bool `json:"loop,omitempty"`
	// Expr is the expression handed to the replay source: value (the recorded
	// number, default) or rate (the number divided by the trace step in
	// seconds, so a per-minute count reads per second), optionally followed
	// by "* F" or "/ F" with F a finite number > 0, e.g. "rate / 4".
	Expr string `json:"expr,omitempty"`
}

var (
	_ SourceSpec   = (*ReplaySpec)(nil)
	_ Recording    = (*ReplaySpec)(nil)
	_ PathResolver = (*ReplaySpec)(nil)
)

// Default implements SourceSpec: expr value. Speed 1 is the block's
// starting value (an explicit 0 is refused, not replaced).
func (r *ReplaySpec) Default() {
	if r.Expr == "" {
		r.Expr = DefaultReplayExpr
	}
}

// Validate implements SourceSpec. It does not open the trace.
func (r *ReplaySpec) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.Trace == "" {
		errs = append(errs, fielderr.Required(path.Child("trace"), r.Trace, "must not be empty"))
	}
	switch {
	case !(r.Speed > 0): // also NaN
		errs = append(errs, fielderr.Invalid(path.Child("speed"), r.Speed, "must be > 0"))
	case math.IsInf(r.Speed, 0):
		errs = append(errs, fielderr.Invalid(path.Child("speed"), r.Speed, "must be finite"))
	}
	// The source reads an expression of another form as the raw value:
	// refuse it here, where it is surely a typo.
	if e, err := parseReplayExpr(r.Expr); !replayExprRE.MatchString(r.Expr) || err != nil || !(e.factor > 0) {
		errs = append(errs, fielderr.Invalid(path.Child("expr"), r.Expr, "must be value or rate, optionally followed by * F or / F with F a finite number > 0"))
	}
	return errs
}

// Expression implements SourceSpec: expr.
func (r *ReplaySpec) Expression() string { return r.Expr }

// New implements SourceSpec: the trace at Speed with its first step ended
// when the daemon starts, or, when the loop runs in recorded time, as
// recorded.
func (r *ReplaySpec) New(deps Deps) (Querier, error) {
	tr, err := deps.Trace(r.Trace)
	if err != nil {
		return nil, fmt.Errorf("replay.trace: %w", err)
	}
	if deps.RecordedTime {
		return NewReplay(tr, tr.Samples[0].Time, 1, r.Loop)
	}
	// Start one step back, so that the first step has just ended and the
	// first tick reads it instead of an empty replay.
	return NewReplay(tr, deps.Clock.Now().Add(-time.Duration(float64(tr.Step)/r.Speed)), r.Speed, r.Loop)
}

// PlaybackSpeed implements Recording.
func (r *ReplaySpec) PlaybackSpeed() float64 { return r.Speed }

// RecordingStart implements Recording: the end of the trace's first step.
func (r *ReplaySpec) RecordingStart(deps Deps) (time.Time, error) {
	tr, err := deps.Trace(r.Trace)
	if err != nil {
		return time.Time{}, fmt.Errorf("trace: %w", err)
	}
	return tr.Samples[0].Time.Add(tr.Step), nil
}

// ResolvePaths implements PathResolver.
func (r *ReplaySpec) ResolvePaths(dir string) {
	if r.Trace != "" && !filepath.IsAbs(r.Trace) {
		r.Trace = filepath.Join(dir, r.Trace)
	}
}

// Replay answers queries from a recorded trace replayed against wall time,
// for demos and tests. The trace starts at the wall time start and runs speed
// times faster than the wall clock (speed 60: one trace minute per wall
// second). Step i of the trace covers [i, i+1) steps after start (in trace
// time); its value becomes known when the step has ended and is answered
// until the next step ends. Without loop the replay has no data once the
// step after the last one has ended; with loop the trace starts over.
//
// Replay answers only from the past: a query at ts sees the newest step that
// ended by ts, never one still running. Before the first step ends it has no
// data (the kind empty).
//
// The expression is ignored except for these forms (spaces allowed):
//
//	value          the step's raw value (also what any other expression gets)
//	rate           the step's value divided by the step length in seconds
//	value * F      either of the above multiplied by F,
//	rate / F       or divided by F, F a finite number (not 0 for /)
//
// A Replay is immutable and safe for concurrent use.
type Replay struct {
	tr    *Trace
	start time.Time
	speed float64
	loop  bool
}

var (
	_ Querier        = (*Replay)(nil)
	_ DefaultMaxAger = (*Replay)(nil)
)

// maxReplayPoints bounds the points one QueryRange call may produce.
const maxReplayPoints = 1_000_000

// NewReplay replays tr from the wall time start at speed times real time.
func NewReplay(tr *Trace, start time.Time, speed float64, loop bool) (*Replay, error) {
	if tr == nil || len(tr.Samples) == 0 || tr.Step <= 0 {
		return nil, fmt.Errorf("replay trace: want at least one sample and a step > 0")
	}
	if math.IsNaN(speed) || math.IsInf(speed, 0) || speed <= 0 {
		return nil, fmt.Errorf("replay speed: %v: must be a finite number > 0", speed)
	}
	return &Replay{tr: tr, start: start, speed: speed, loop: loop}, nil
}

// Query returns the value of the newest trace step that ended by ts.
// Sample.Time is the wall time at which that step ended, so a max-age check
// on it (QueryMaxAge) measures real staleness.
func (r *Replay) Query(ctx context.Context, expr string, ts time.Time) (scaling.Sample, error) {
	if err := ctx.Err(); err != nil {
		return scaling.Sample{}, &scaling.SignalError{Kind: scaling.FailureTimeout, Err: err}
	}
	f, err := parseReplayExpr(expr)
	if err != nil {
		return scaling.Sample{}, err
	}
	s, ok := r.at(ts, f)
	if !ok {
		return scaling.Sample{}, scaling.Fail(scaling.FailureEmpty, "%q: replay has no step ended by %s", expr, ts.UTC().Format(time.RFC3339Nano))
	}
	return s, nil
}

// DefaultMaxAge is one trace step in wall time, or the package's
// DefaultMaxAge when that is longer: a step's value is answered until the
// next step ends, so it is up to one step old by design.
func (r *Replay) DefaultMaxAge() time.Duration {
	return max(DefaultMaxAge, r.wallElapsed(r.tr.Step))
}

// QueryRange evaluates expr at start, start+step, ... up to end; each point
// sees what Query at that time would. Sample.Time is the point's time, as for
// a Prometheus range query; points without data are absent.
func (r *Replay) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	if err := ctx.Err(); err != nil {
		return nil, &scaling.SignalError{Kind: scaling.FailureTimeout, Err: err}
	}
	if step <= 0 {
		return nil, scaling.Fail(scaling.FailureQuery, "range step %s: must be > 0", step)
	}
	if end.Before(start) {
		return nil, scaling.Fail(scaling.FailureQuery, "range end %s: must not be before start %s",
			end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	if n := end.Sub(start) / step; n >= maxReplayPoints {
		return nil, scaling.Fail(scaling.FailureQuery, "range of %d points: want at most %d", n+1, maxReplayPoints)
	}
	f, err := parseReplayExpr(expr)
	if err != nil {
		return nil, err
	}
	var out []scaling.Sample
	for t := start; !t.After(end); t = t.Add(step) {
		if s, ok := r.at(t, f); ok {
			out = append(out, scaling.Sample{Time: t, Value: s.Value})
		}
	}
	if len(out) == 0 {
		return nil, scaling.Fail(scaling.FailureEmpty, "%q: replay has no data between %s and %s", expr,
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	return out, nil
}

// at returns the newest step ended by ts, transformed by f.
func (r *Replay) at(ts time.Time, f replayExpr) (scaling.Sample, bool) {
	if ts.Before(r.start) {
		return scaling.Sample{}, false
	}
	ended := int64(r.traceElapsed(ts.Sub(r.start)) / r.tr.Step) // steps ended by ts
	n := int64(len(r.tr.Samples))
	if ended == 0 || (!r.loop && ended > n) {
		return scaling.Sample{}, false
	}
	v := r.tr.Samples[(ended-1)%n].Value
	if f.rate {
		v /= r.tr.Step.Seconds()
	}
	if f.divide {
		v /= f.factor
	} else {
		v *= f.factor
	}
	t := r.start.Add(r.wallElapsed(time.Duration(ended) * r.tr.Step))
	if t.After(ts) { // float rounding; a step never ends after the query time
		t = ts
	}
	return scaling.Sample{Time: t, Value: v}, true
}

// traceElapsed converts a wall duration to trace time, exactly for whole speeds.
func (r *Replay) traceElapsed(d time.Duration) time.Duration {
	if s := int64(r.speed); float64(s) == r.speed && int64(d) <= math.MaxInt64/s {
		return d * time.Duration(s)
	}
	return time.Duration(float64(d) * r.speed)
}

// wallElapsed converts a trace duration to wall time, rounding up so that the
// result is the first wall instant at which that much trace time has passed.
func (r *Replay) wallElapsed(d time.Duration) time.Duration {
	if s := int64(r.speed); float64(s) == r.speed {
		return (d + time.Duration(s) - 1) / time.Duration(s)
	}
	return time.Duration(math.Ceil(float64(d) / r.speed))
}

type replayExpr struct {
	rate   bool
	divide bool
	factor float64
}

var replayExprRE = regexp.MustCompile(`^\s*(value|rate)\s*(?:([*/])\s*(\S+))?\s*$`)

// parseReplayExpr reads the forms documented on Replay; any other expression
// is the raw value.
func parseReplayExpr(expr string) (replayExpr, error) {
	m := replayExprRE.FindStringSubmatch(expr)
	if m == nil {
		return replayExpr{factor: 1}, nil
	}
	e := replayExpr{rate: m[1] == "rate", divide: m[2] == "/", factor: 1}
	if m[2] != "" {
		f, err := strconv.ParseFloat(m[3], 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || (e.divide && f == 0) {
			return replayExpr{}, scaling.Fail(scaling.FailureQuery, "replay expression %q: factor %q: want a finite number (not 0 after /)", expr, m[3])
		}
		e.factor = f
	}
	return e, nil
}
