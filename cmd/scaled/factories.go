package main

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// queryObservers gives a per-scaler observer of query latency.
type queryObservers func(scaler string) sources.QueryObserver

// factories builds sources and actuators from config, sharing one Prometheus
// client per distinct Prometheus config and one parsed trace per file.
type factories struct {
	logger *zap.Logger
	clock  clock.PassiveClock
	obs    queryObservers // nil: queries are not timed

	mu     sync.Mutex
	prom   *sources.Prometheus
	promOf config.Prometheus
	traces map[string]*sources.Trace
	kube   *kubeDeps // Kubernetes clients, made at first use (kube.go)
	aws    *awsDeps  // AWS configs and metrics, made at first use (aws.go)
}

func newFactories(logger *zap.Logger, clk clock.PassiveClock, obs queryObservers, opts ...func(*factories)) engine.Factories {
	f := &factories{logger: logger, clock: clk, obs: obs, traces: map[string]*sources.Trace{}}
	for _, o := range opts {
		o(f)
	}
	return engine.Factories{Source: f.source, Actuator: f.actuator}
}

func (f *factories) source(cfg *config.Config, scaler string, sig config.Signal) (sources.Querier, error) {
	q, err := f.rawSource(cfg, sig)
	if err != nil || f.obs == nil {
		return q, err
	}
	return sources.Instrument(q, f.obs(scaler)), nil
}

func (f *factories) rawSource(cfg *config.Config, sig config.Signal) (sources.Querier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := sig.Replay; r != nil {
		tr, ok := f.traces[r.Trace]
		if !ok {
			var err error
			if tr, err = sources.LoadTrace(r.Trace); err != nil {
				return nil, fmt.Errorf("replay.trace: %w", err)
			}
			f.traces[r.Trace] = tr
		}
		if replaySpeed(cfg) != 1 {
			// The loop runs on a fast clock in trace time: play the trace as recorded.
			return sources.NewReplay(tr, tr.Samples[0].Time, 1, r.Loop)
		}
		// Start one step back, so that the first step has just ended and the
		// first tick reads it instead of an empty replay.
		return sources.NewReplay(tr, f.clock.Now().Add(-time.Duration(float64(tr.Step)/r.Speed)), r.Speed, r.Loop)
	}
	if f.prom == nil || !reflect.DeepEqual(f.promOf, cfg.Prometheus) {
		p, err := sources.NewPrometheus(cfg.Prometheus, sources.WithWarningHandler(func(expr string, w []string) {
			f.logger.Warn("prometheus warnings", zap.String("query", expr), zap.Strings("warnings", w))
		}))
		if err != nil {
			return nil, fmt.Errorf("prometheus: %w", err)
		}
		f.prom, f.promOf = p, cfg.Prometheus
	}
	return f.prom, nil
}

func (f *factories) actuator(sc config.Scaler) (actuators.Actuator, error) {
	switch sc.Target.Kind {
	case "log":
		return actuators.NewLog(sc.Target.Log.Initial, f.logger.With(zap.String("scaler", sc.Name))), nil
	case "kubernetes":
		return f.kubernetes(sc)
	case "aurora", "rds", "lambda":
		return f.awsTarget(sc) // aws.go
	}
	return nil, fmt.Errorf("target kind %q is not supported by this build yet (supported: log, kubernetes, aurora, rds, lambda)", sc.Target.Kind)
}

// replaySpeed is the speed shared by the replay signals when every signal of
// every scaler is a replay, and 1 otherwise (live sources run in real time).
func replaySpeed(cfg *config.Config) float64 {
	speed := 0.0
	for _, sc := range cfg.Scalers {
		for _, sig := range sc.Signals {
			if sig.Replay == nil {
				return 1
			}
			speed = sig.Replay.Speed
		}
	}
	if speed == 0 {
		return 1
	}
	return speed
}

// replayOrigin is where the fast clock starts: the earliest time at which a
// replayed trace's first step has ended, so that the first tick reads a value
// (a replay answers only from steps that have ended).
func replayOrigin(cfg *config.Config) (time.Time, error) {
	var origin time.Time
	var errs []error
	for i, sc := range cfg.Scalers {
		for j, sig := range sc.Signals {
			if sig.Replay.Speed != replaySpeed(cfg) {
				errs = append(errs, fmt.Errorf("scalers[%d].signals[%d].replay.speed: %g: every replay must share one speed (%g) when no signal is live",
					i, j, sig.Replay.Speed, replaySpeed(cfg)))
				continue
			}
			tr, err := sources.LoadTrace(sig.Replay.Trace)
			if err != nil {
				errs = append(errs, fmt.Errorf("scalers[%d].signals[%d].replay.trace: %w", i, j, err))
				continue
			}
			if t := tr.Samples[0].Time.Add(tr.Step); origin.IsZero() || t.Before(origin) {
				origin = t
			}
		}
	}
	return origin, errors.Join(errs...)
}
