package simulate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// SaturatedP95Seconds is what a bound p95 signal reads when the model's p95
// is infinite (demand per ready replica at or above mu). Reporting +Inf would
// make it a not_finite failed signal, and a failed signal holds: the policy
// would freeze exactly when the service is overwhelmed. A real p95 from
// histogram_quantile is finite there too (it reports the highest finite
// bucket bound). The cap is far above any SLO, so a policy sees "far over
// target" and scales up as fast as its guards allow.
const SaturatedP95Seconds = 1e9

// EngineOptions tune RunConfig.
type EngineOptions struct {
	// Initial is the requested count at tick 0, all ready. Nil: the oracle's
	// count at tick 0, max(1, ceil(demand_0/c)), brought within the scaler's
	// bounds, so that a run starts neither starved nor wasteful.
	Initial *int32
	// Timeline keeps one Row per tick (Run.Timeline).
	Timeline bool
	// OnDecision, if set, sees every decision the engine makes.
	OnDecision func(scaling.Decision)
	// ScoreFrom is the first tick scored (ScoreFrom); 0 scores them all.
	ScoreFrom int
}

// SelectScaler returns the scaler named name, or the only scaler when name is
// empty.
func SelectScaler(cfg *config.Config, name string) (*config.Scaler, error) {
	names := make([]string, len(cfg.Scalers))
	for i := range cfg.Scalers {
		names[i] = cfg.Scalers[i].Name
		if name != "" && cfg.Scalers[i].Name == name {
			return &cfg.Scalers[i], nil
		}
	}
	switch {
	case len(cfg.Scalers) == 0:
		return nil, errors.New("scalers: the config has none: want one to simulate")
	case name == "" && len(cfg.Scalers) == 1:
		return &cfg.Scalers[0], nil
	case name == "":
		return nil, fmt.Errorf("scaler: \"\": the config has %d scalers: name one of %s", len(names), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("scaler: %q: no such scaler: must be one of %s", name, strings.Join(names, ", "))
}

// BindSignals maps each of the scaler's signals to the observation it reads:
// binds[signal] when given, else the signal's own name. Every signal must
// bind, and every bind must name a signal of the scaler and an observation;
// all problems are reported at once.
func BindSignals(sc *config.Scaler, binds map[string]string) (map[string]string, error) {
	var errs []error
	names := make([]string, len(sc.Signals))
	for i, s := range sc.Signals {
		names[i] = s.Name
	}
	for _, sig := range slices.Sorted(mapKeys(binds)) {
		if !slices.Contains(names, sig) {
			errs = append(errs, fmt.Errorf("bind %s=%s: scaler %q has no signal %q: must be one of %s",
				sig, binds[sig], sc.Name, sig, strings.Join(names, ", ")))
		}
	}
	out := make(map[string]string, len(sc.Signals))
	for i, s := range sc.Signals {
		obs, explicit := binds[s.Name]
		if !explicit {
			obs = s.Name
		}
		canonical, ok := ObservationName(obs)
		switch {
		case ok:
			out[s.Name] = canonical
		case explicit:
			errs = append(errs, fmt.Errorf("bind %s=%s: %q is not an observation: must be one of %s",
				s.Name, obs, obs, ObservationList()))
		default:
			errs = append(errs, fmt.Errorf("scalers[%s].signals[%d].name: %q: binds to no observation of the model: "+
				"name the signal after one, or bind it with --bind %s=OBSERVATION, one of %s",
				sc.Name, i, s.Name, s.Name, ObservationList()))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// RunConfig plays one scaler of a (loaded, validated) config against the
// model through the real engine: its policies and guards as the daemon builds
// them (config.Config.Resolve), one engine.Scaler ticked at the scaler's
// interval in the model's time, its signals answered from the model's
// observations (binds as BindSignals) and its target replaced by the run.
//
// Three things differ from the daemon, all because the reference model says
// so: stabilisation is not seeded with the current capacity (the reference
// HPA starts with an empty window), dry_run is ignored (the simulated
// target is the only thing acted on), and a scaler without a startup_delay
// of its own plans for the model's S, the simulated target's delay (its
// kind's default is that of a real target). The scaler's interval must be a
// multiple of the model's tick T.
func RunConfig(m *Model, cfg *config.Config, scaler string, binds map[string]string, opts EngineOptions) (*Run, error) {
	sc, err := SelectScaler(cfg, scaler)
	if err != nil {
		return nil, err
	}
	bound, err := BindSignals(sc, binds)
	if err != nil {
		return nil, err
	}
	// The simulated target is the model's: it takes S to serve.
	r, err := cfg.Resolve(*sc, config.WithTargetStartupDelay(m.S))
	if err != nil {
		return nil, fmt.Errorf("scaler %w", err)
	}
	interval := r.Interval
	spec := r.Decider
	spec.SeedWithCurrent = false
	decider, errs := policy.NewDecider(spec, nil)
	if len(errs) > 0 {
		return nil, fmt.Errorf("scaler %s: %w", sc.Name, config.Problems(errs))
	}
	if interval <= 0 || interval%m.T != 0 {
		return nil, fmt.Errorf("scalers[%s].interval: %s: must be a multiple of the model's tick T (%s)", sc.Name, durfmt.D(interval), durfmt.D(m.T))
	}
	initial := min(max(m.OracleReplicasAt(0), sc.Bounds.Min), sc.Bounds.Max)
	if opts.Initial != nil {
		initial = *opts.Initial
		if initial < 0 {
			return nil, fmt.Errorf("initial: %d: must be >= 0", initial)
		}
	}
	runOpts := []RunOption{ScoreFrom(opts.ScoreFrom)}
	if opts.Timeline {
		runOpts = append(runOpts, WithTimeline())
	}
	run := NewRun(m, initial, runOpts...)
	obs := &observer{model: m, run: run, seen: make([]seenTick, 0, m.Ticks())}
	signals := make([]engine.Signal, len(sc.Signals))
	for i, s := range sc.Signals {
		r := s.Range()
		signals[i] = engine.Signal{Name: s.Name, Expr: s.Expr(), MaxAge: s.MaxAge, ValidRange: &r, Source: obs.Source(bound[s.Name])}
	}
	s := engine.NewScaler(engine.ScalerSpec{
		Name:         sc.Name,
		Signals:      signals,
		Decider:      decider,
		Actuator:     &RunActuator{Run: run},
		Interval:     interval,
		QueryTimeout: r.QueryTimeout,
	}, nil, nil, nil)
	every := int(interval / m.T)
	ctx := context.Background()
	for !run.Done() {
		obs.record()
		if run.Tick()%every == 0 {
			now := run.Now()
			d := s.Tick(ctx, now)
			if opts.OnDecision != nil {
				opts.OnDecision(d)
			}
			if d.Outcome == scaling.OutcomeFailed {
				return nil, fmt.Errorf("tick %d (%s): %s", run.Tick(), now.UTC().Format(time.RFC3339), d.Error)
			}
		}
		run.Advance()
	}
	return run, nil
}

// RunActuator is the target of a simulated scaler: it reads and sets the
// run's replicas.
type RunActuator struct{ Run *Run }

var _ actuators.Actuator = (*RunActuator)(nil)

// Read implements actuators.Actuator: the requested and ready replicas now.
func (a *RunActuator) Read(ctx context.Context) (scaling.Capacity, error) {
	if err := ctx.Err(); err != nil {
		return scaling.Capacity{}, err
	}
	return scaling.Capacity{Current: a.Run.Requested(), Ready: a.Run.Ready()}, nil
}

// Set implements actuators.Actuator: it requests n replicas at the current tick.
func (a *RunActuator) Set(ctx context.Context, n int32, _ string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return a.Run.Request(n)
}

// seenTick is the cluster as a tick's observation saw it, before its decision.
type seenTick struct{ ready, requested int32 }

// observer answers queries from what a run has shown so far: the
// observation of every tick up to the current one, and nothing later.
// Call record at each tick, before the tick's decision.
type observer struct {
	model *Model
	run   *Run
	seen  []seenTick // one per recorded tick
}

// record notes the current tick's cluster; it is idempotent within a tick.
func (o *observer) record() {
	if len(o.seen) > o.run.Tick() {
		return
	}
	o.seen = append(o.seen, seenTick{ready: o.run.Ready(), requested: o.run.Requested()})
}

// Source is a sources.Querier for one observation (a canonical name, see
// ObservationName). It ignores the expression: in a simulation the signal's
// binding says what it means.
func (o *observer) Source(observation string) sources.Querier {
	return &observationSource{obs: o, name: observation}
}

// at is the observation name at tick i as it was seen then: ok false when it
// was not observable (see observationSource).
func (o *observer) at(i int, name string) (float64, bool, string) {
	s := o.seen[i]
	ob := o.model.observe(i, s.ready, s.requested)
	v, ok := ob.Get(name)
	switch {
	case !ok:
		return 0, false, "nothing observed yet: the first tick has no past window"
	case (name == ObserveUtilisation || name == ObserveP95 || name == ObserveSLOUtilisation || name == ObserveP95OverSLO) && s.ready <= 0:
		return 0, false, "no ready replica reports it"
	case math.IsInf(v, 1) && (name == ObserveP95 || name == ObserveP95OverSLO):
		return SaturatedP95Seconds, true, ""
	}
	return v, true, ""
}

// observationSource answers Query and QueryRange from an observer.
//
// A value that was not observable is an empty result (scaling.FailureEmpty),
// as Prometheus returns no series: a window observation at the first tick,
// and utilisation or p95 while no replica is ready. A saturated p95 reads
// SaturatedP95Seconds. A query for a time after the run's current tick is a
// query_error: the simulated future is never seen.
type observationSource struct {
	obs  *observer
	name string
}

var _ sources.Querier = (*observationSource)(nil)

// tickAt is the last recorded tick at or before ts: -1 before the trace.
func (s *observationSource) tickAt(ts time.Time) int {
	m := s.obs.model
	d := ts.Sub(m.Start())
	if d < 0 {
		return -1
	}
	return int(d / m.T)
}

func (s *observationSource) future(ts time.Time) error {
	now := s.obs.run.Now()
	if ts.After(now) || s.tickAt(ts) >= len(s.obs.seen) {
		return scaling.Fail(scaling.FailureQuery, "%s at %s: after the simulated now (%s): the future is not observable",
			s.name, ts.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func (s *observationSource) Query(ctx context.Context, _ string, ts time.Time) (scaling.Sample, error) {
	if err := ctx.Err(); err != nil {
		return scaling.Sample{}, scaling.Fail(scaling.FailureTimeout, "%v", err)
	}
	if err := s.future(ts); err != nil {
		return scaling.Sample{}, err
	}
	i := s.tickAt(ts)
	if i < 0 {
		return scaling.Sample{}, scaling.Fail(scaling.FailureEmpty, "%s at %s: before the trace starts", s.name, ts.UTC().Format(time.RFC3339))
	}
	v, ok, why := s.obs.at(i, s.name)
	if !ok {
		return scaling.Sample{}, scaling.Fail(scaling.FailureEmpty, "%s: %s", s.name, why)
	}
	return scaling.Sample{Time: s.obs.model.TickTime(i), Value: v}, nil
}

// QueryRange returns the observation at start, start+step, ... up to end and
// never past the current tick, each point the value of the last tick at or
// before it (as Prometheus looks back from a step). Points that were not
// observable are absent.
func (s *observationSource) QueryRange(ctx context.Context, _ string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	if err := ctx.Err(); err != nil {
		return nil, scaling.Fail(scaling.FailureTimeout, "%v", err)
	}
	if step <= 0 {
		return nil, scaling.Fail(scaling.FailureQuery, "step: %s: must be > 0", step)
	}
	if end.Before(start) {
		return nil, scaling.Fail(scaling.FailureQuery, "end %s before start %s", end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	if n := int64(end.Sub(start)/step) + 1; n > sources.MaxRangePoints {
		return nil, scaling.Fail(scaling.FailureQuery, "%d points over %s at step %s: at most %d per series", n, end.Sub(start), step, sources.MaxRangePoints)
	}
	if now := s.obs.run.Now(); end.After(now) {
		end = now
	}
	var out []scaling.Sample
	for t := start; !t.After(end); t = t.Add(step) {
		i := s.tickAt(t)
		if i < 0 || i >= len(s.obs.seen) {
			continue
		}
		if v, ok, _ := s.obs.at(i, s.name); ok {
			out = append(out, scaling.Sample{Time: t, Value: v})
		}
	}
	return out, nil
}
