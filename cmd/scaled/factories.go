package main

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/leader"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// queryObservers gives a per-scaler observer of query latency.
type queryObservers func(scaler string) sources.QueryObserver

// withTargetObservers times every scaler's target and counts its errors,
// through the observer obs gives for it.
func withTargetObservers(obs func(scaler string) actuators.TargetObserver) func(*factories) {
	return func(f *factories) { f.targets = obs }
}

// factories builds sources and actuators from config, sharing one Prometheus
// client per distinct Prometheus config and one parsed trace per file.
type factories struct {
	logger *zap.Logger
	clock  clock.PassiveClock
	obs    queryObservers // nil: queries are not timed
	// exactTime: queries are evaluated at the time asked (withExactTime).
	exactTime bool
	targets   func(scaler string) actuators.TargetObserver // nil: targets are not timed

	mu      sync.Mutex
	prom    *sources.Prometheus
	sharing *sources.Sharing // shares prom's queries (sources.Sharing)
	promOf  config.Prometheus
	// before are the counts of the Prometheus clients a reload replaced,
	// so that the exported counters keep counting.
	before    sources.PrometheusStats
	sharedBef sources.SharingStats
	traces    map[string]*sources.Trace
	kube      *kubeDeps // Kubernetes clients, made at first use (kube.go)
	aws       *awsDeps  // AWS regions, made at first use (aws.go)
}

func newFactories(logger *zap.Logger, clk clock.PassiveClock, obs queryObservers, opts ...func(*factories)) engine.Factories {
	f := &factories{logger: logger, clock: clk, obs: obs, traces: map[string]*sources.Trace{}}
	for _, o := range opts {
		o(f)
	}
	return engine.Factories{Source: f.source, Actuator: f.actuator}
}

func (f *factories) source(sc *resolved.Scaler, sig resolved.Signal) (sources.Querier, error) {
	q, err := f.rawSource(sc, sig)
	if err != nil || f.obs == nil {
		return q, err
	}
	return sources.Instrument(q, f.obs(sc.Name)), nil
}

// rawSource builds a signal's source from its block, with what the
// process shares: one Prometheus client per Prometheus config, one parsed
// trace per file.
func (f *factories) rawSource(sc *resolved.Scaler, sig resolved.Signal) (sources.Querier, error) {
	return sig.Spec.New(sources.Deps{
		Clock:        f.clock,
		Prometheus:   func() (sources.Querier, error) { return f.prometheus(sc.Prometheus, sc.Interval) },
		Trace:        f.trace,
		RecordedTime: sc.RecordedTime,
	})
}

// prometheus returns the source of a scaler's Prometheus signals: the one
// client of the configured Prometheus (cfg), through the Sharing that sends
// each query once per evaluation time, on the grid of the scaler's
// interval.
func (f *factories) prometheus(cfg config.Prometheus, interval time.Duration) (sources.Querier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.prom == nil || !reflect.DeepEqual(f.promOf, cfg) {
		p, err := sources.NewPrometheus(cfg, sources.WithWarningHandler(func(expr string, w []string) {
			f.logger.Warn("prometheus warnings", zap.String("query", expr), zap.Strings("warnings", w))
		}))
		if err != nil {
			return nil, fmt.Errorf("prometheus: %w", err)
		}
		if f.prom != nil {
			f.before = addPrometheusStats(f.before, f.prom.Stats())
			st := f.sharing.Stats()
			f.sharedBef.Asked += st.Asked
			f.sharedBef.Shared += st.Shared
		}
		f.prom, f.sharing, f.promOf = p, sources.NewSharing(p), cfg
	}
	if f.exactTime {
		return f.sharing.Exact(), nil
	}
	return f.sharing.Every(interval), nil
}

// latestPrometheus is the client of the newest config the signals were
// built under, or one for cfg while there is none: a target kept across
// reloads reads through the same client as the signals, never through one
// of a config that was replaced.
func (f *factories) latestPrometheus(cfg config.Prometheus) (sources.Querier, error) {
	f.mu.Lock()
	sharing := f.sharing
	f.mu.Unlock()
	if sharing != nil {
		return sharing.Exact(), nil
	}
	if cfg.URL == "" {
		return nil, errors.New("no prometheus.url is configured")
	}
	if _, err := f.prometheus(cfg, 0); err != nil {
		return nil, err
	}
	return f.latestPrometheus(cfg)
}

// withExactTime evaluates queries at the time asked, not on the interval's
// grid: for a one-shot check of what the signals read now.
func withExactTime() func(*factories) {
	return func(f *factories) { f.exactTime = true }
}

func addPrometheusStats(a, b sources.PrometheusStats) sources.PrometheusStats {
	return sources.PrometheusStats{Sent: a.Sent + b.Sent, Throttled: a.Throttled + b.Throttled}
}

// queryStats returns what the Prometheus clients made so far sent, and
// what the signals asked and shared.
func (f *factories) queryStats() (sources.PrometheusStats, sources.SharingStats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, s := f.before, f.sharedBef
	if f.prom != nil {
		now := f.prom.Stats()
		p = addPrometheusStats(p, now)
		p.Waiting = now.Waiting
		st := f.sharing.Stats()
		s.Asked += st.Asked
		s.Shared += st.Shared
	}
	return p, s
}

// withQueryMetrics exports the load on Prometheus: requests sent, waiting
// and throttled by the configured limits, and queries answered by another
// signal's request.
func withQueryMetrics(reg prometheus.Registerer) func(*factories) {
	return func(f *factories) {
		for _, m := range []struct {
			name, help string
			counter    bool
			read       func(sources.PrometheusStats, sources.SharingStats) int64
		}{
			{"scaled_prometheus_requests_total", "Requests sent to the configured Prometheus (instant, grouped and range queries).", true,
				func(p sources.PrometheusStats, _ sources.SharingStats) int64 { return p.Sent }},
			{"scaled_prometheus_requests_waiting", "Requests waiting for their turn under prometheus.max_concurrent_queries and max_queries_per_second.", false,
				func(p sources.PrometheusStats, _ sources.SharingStats) int64 { return p.Waiting }},
			{"scaled_prometheus_requests_throttled_total", "Requests not sent because they did not get their turn before their tick's deadline (signal failure kind throttled).", true,
				func(p sources.PrometheusStats, _ sources.SharingStats) int64 { return p.Throttled }},
			{"scaled_signal_queries_total", "Instant and grouped queries the signals asked, sent or shared.", true,
				func(_ sources.PrometheusStats, s sources.SharingStats) int64 { return s.Asked }},
			{"scaled_signal_queries_shared_total", "Instant and grouped queries answered by a request another signal sent for the same query and evaluation time.", true,
				func(_ sources.PrometheusStats, s sources.SharingStats) int64 { return s.Shared }},
		} {
			read := m.read
			value := func() float64 { return float64(read(f.queryStats())) }
			if m.counter {
				reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help}, value))
			} else {
				reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: m.name, Help: m.help}, value))
			}
		}
	}
}

func (f *factories) trace(path string) (*sources.Trace, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tr, ok := f.traces[path]; ok {
		return tr, nil
	}
	tr, err := sources.LoadTrace(path)
	if err != nil {
		return nil, err
	}
	f.traces[path] = tr
	return tr, nil
}

// actuator builds a scaler's target from its block, on the clients the
// process shares: Kubernetes clients and AWS configs are made at first use.
func (f *factories) actuator(sc *resolved.Scaler) (actuators.Actuator, error) {
	f.mu.Lock()
	if f.kube == nil {
		f.kube = newKubeDeps(nil, leader.Identity())
	}
	if f.aws == nil {
		f.aws = newAWSDeps(f.clock, nil)
	}
	kube, aws := f.kube, f.aws
	f.mu.Unlock()
	aws.setLimits(sc.AWS, sc.Interval) // resolved on the global interval already
	var obs actuators.TargetObserver
	if f.targets != nil {
		obs = f.targets(sc.Name)
	}
	warnings, _ := obs.(actuators.WarningObserver) // a Scaler object's: Warning Events on it
	a, err := sc.Target.Spec.New(actuators.Deps{
		Scaler:      sc.Name,
		Logger:      f.logger.With(zap.String("scaler", sc.Name)),
		Clock:       f.clock,
		Kube:        kube.get,
		Identity:    kube.identity,
		KubeMetrics: kube.metrics,
		AWS:         aws.region,
		Prometheus:  func() (actuators.InstantQuerier, error) { return f.latestPrometheus(sc.Prometheus) },
		Warnings:    warnings,
	})
	if err != nil || obs == nil {
		return a, err
	}
	return actuators.Instrument(a, obs), nil
}

// withAWS hands the process's AWS regions to the factories.
func withAWS(a *awsDeps) func(*factories) {
	return func(f *factories) { f.aws = a }
}

// replayOrigin is where the fast clock starts: the earliest time at which a
// recording has a value to answer (RecordingStart), so that the first tick
// reads one.
func replayOrigin(cfg *config.Config) (time.Time, error) {
	var origin time.Time
	var errs []error
	deps := sources.Deps{Trace: sources.LoadTrace}
	for i, sc := range cfg.Scalers {
		for j, sig := range sc.Signals {
			r := sig.Source.Spec.(sources.Recording)
			block := fmt.Sprintf("scalers[%d].signals[%d].%s", i, j, sig.Source.Kind)
			if r.PlaybackSpeed() != cfg.ReplaySpeed() {
				errs = append(errs, fmt.Errorf("%s.speed: %g: every recording must play at one speed (%g) when no signal is live",
					block, r.PlaybackSpeed(), cfg.ReplaySpeed()))
				continue
			}
			start, err := r.RecordingStart(deps)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%w", block, err))
				continue
			}
			if origin.IsZero() || start.Before(origin) {
				origin = start
			}
		}
	}
	return origin, errors.Join(errs...)
}
