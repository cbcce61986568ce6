package telemetry

import (
	"math"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Query kinds, the values of the kind label of the scaled_query_* metrics,
// as sources.Instrument reports them.
const (
	QueryInstant = sources.QueryKindInstant
	QueryRange   = sources.QueryKindRange
)

// durationBuckets span a fast in-cluster call (5ms) to a slow cloud API or
// a query near its timeout (30s).
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// gaugeVec, counterVec and durationVec make a vector of gauges, counters or
// duration histograms (durationBuckets) from its name, help and labels.
func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func durationVec(name, help string, labels []string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: durationBuckets}, labels)
}

// Metrics holds every scaled_* metric. Create it with NewMetrics; a nil
// *Metrics is valid and every method on it does nothing, so code that runs
// without metrics (the simulator, tests) pays one nil check per call.
//
// Every per-scaler series carries the label scaler, whose values come from
// the configuration, and the other labels take values from closed sets
// (pkg/scaling's Direction, Outcome and FailureKind, the query kinds) or
// from configured signal and policy names, so cardinality is bounded by the
// configuration.
//
// A fleet multiplies every per-scaler series by its scalers, so by default a
// scaler with one signal has at most 12 series while nothing fails
// (PerScalerSeries): histograms are one for the whole process, per-policy
// series are opt-in (MetricsOptions), and a series of an error, a failure or
// a missed tick is made when it first happens.
type Metrics struct {
	opts MetricsOptions

	buildInfo *prometheus.GaugeVec

	signalValue    *prometheus.GaugeVec
	recommendation *prometheus.GaugeVec
	recommended    *scalerGauge
	desired        *scalerGauge
	current        *scalerGauge
	ready          *scalerGauge
	lastDecision   *scalerGauge
	decisions      *decisionCounter
	signalErrors   *prometheus.CounterVec

	queryDuration *prometheus.HistogramVec
	queryErrors   *prometheus.CounterVec

	actuationDuration *prometheus.HistogramVec
	actuationErrors   *prometheus.CounterVec
	targetErrors      *prometheus.CounterVec
	targetReads       prometheus.Histogram

	tickDuration *prometheus.HistogramVec
	tickLag      *scalerGauge
	ticksMissed  *prometheus.CounterVec

	reloadOK       prometheus.Gauge
	reloadTime     prometheus.Gauge
	scalersRemoved prometheus.Counter
	scalers        prometheus.Gauge
	dryRun         *scalerGauge

	policyState *prometheus.GaugeVec
	forecast    forecastMetrics // forecast.go

	// gauges holds the values of the scalerGauge fields (scalergauges.go).
	gauges *scalerGauges
}

// PerScalerSeries is the most series a scaler with one signal has by default
// while none of its signals, reads or sets fails and no tick is missed:
// its signal's value; recommended, desired, current and ready capacity; the
// time of its last decision; its dry-run flag; its tick lag; and its
// decisions that do not fail, by direction (up, down, none). A failure
// adds the series of its reason when it first happens; each further signal
// adds one.
const PerScalerSeries = 12

// MetricsOptions selects the series that cost a fleet most. Both are off by
// default.
type MetricsOptions struct {
	// PerScalerHistograms labels the query, tick and actuation duration
	// histograms with the scaler (15 series per scaler and histogram)
	// instead of keeping one histogram for the whole process.
	PerScalerHistograms bool
	// PolicySeries exports each policy's recommendation
	// (scaled_recommendation) and a PID's state (scaled_policy_state).
	PolicySeries bool
}

// NewMetrics creates scaled's metrics and registers them on reg. A nil reg
// creates them unregistered. It panics, as prometheus.MustRegister does, if
// reg already holds metrics of the same names: registering twice is a wiring
// bug, not a runtime condition. At most one opts applies.
func NewMetrics(reg prometheus.Registerer, opts ...MetricsOptions) *Metrics {
	var o MetricsOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	// The histograms' labels: scaler first when per scaler (histLabels).
	histScaler := func(labels ...string) []string {
		if o.PerScalerHistograms {
			return append([]string{"scaler"}, labels...)
		}
		return labels
	}
	gauges := newScalerGauges()
	m := &Metrics{
		opts: o, gauges: gauges,
		buildInfo: gaugeVec("scaled_build_info",
			"Always 1; the labels say which build of scaled is running.", "version", "revision", "goversion"),

		signalValue: gaugeVec("scaled_signal_value",
			"Last value of each signal of a scaler. Absent while the signal fails.", "scaler", "signal"),
		policyState: gaugeVec("scaled_policy_state",
			"Internal state of a policy that keeps one, by variable (a PID's integral, derivative, last_measurement, error, feed_forward, output).", "scaler", "policy", "var"),
		recommendation: gaugeVec("scaled_recommendation",
			"Capacity each policy of a scaler recommended at its last tick, before guards. Absent while the policy abstains.", "scaler", "policy"),
		recommended: gauges.gauge(gaugeRecommended, "scaled_recommended_replicas",
			"Capacity a scaler's policies recommended together at its last decision that did not fail, before guards; above scaled_desired_replicas while a bound, a schedule's maximum or a rate limit holds it back."),
		desired: gauges.gauge(gaugeDesired, "scaled_desired_replicas",
			"Capacity a scaler wants after every guard, at its last decision that did not fail."),
		current: gauges.gauge(gaugeCurrent, "scaled_current_replicas",
			"Capacity the target was asked to have, as read at a scaler's last decision that did not fail."),
		ready: gauges.gauge(gaugeReady, "scaled_ready_replicas",
			"Part of the current capacity that serves, as read at a scaler's last decision that did not fail."),
		lastDecision: gauges.gauge(gaugeLastDecision, "scaled_last_decision_timestamp_seconds",
			"Unix time of a scaler's last decision, whatever its outcome."),
		decisions: gauges.decisionCounter("scaled_decisions_total",
			"Decisions taken, by direction (up, down, none) and outcome (applied, dry_run, unchanged, failed)."),
		signalErrors: counterVec("scaled_signal_errors_total",
			"Signals that could not be used, by reason.", "scaler", "signal", "reason"),

		queryDuration: durationVec("scaled_query_duration_seconds",
			"Time taken by queries to the signal source, by kind (instant, range), failed ones included.", histScaler("kind")),
		queryErrors: counterVec("scaled_query_errors_total",
			"Queries to the signal source that failed, by kind (instant, range).", "scaler", "kind"),

		actuationDuration: durationVec("scaled_actuation_duration_seconds",
			"Time taken to set a target's capacity, failed attempts included.", histScaler()),
		actuationErrors: counterVec("scaled_actuation_errors_total",
			"Attempts to set a target's capacity that failed.", "scaler"),
		targetErrors: counterVec("scaled_target_errors_total",
			"Failed reads and writes of a scaler's target, by reason: timeout, other, and each kind's own (Kubernetes: not_found, forbidden, conflict, throttled, invalid, other_autoscaler, unknown_kind; AWS: throttled, access_denied, not_found, quota_exceeded, invalid_state, invalid_request, insufficient_capacity).", "scaler", "reason"),
		// One histogram for every scaler: a fleet's targets read alike, and
		// 10,000 scalers must not make 140,000 series.
		targetReads: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scaled_target_read_duration_seconds",
			Help:    "Time taken to read targets' capacity, over every scaler, failed reads included.",
			Buckets: durationBuckets,
		}),

		tickDuration: durationVec("scaled_tick_duration_seconds",
			"Time taken by one tick of a scaler: read, decide, act.", histScaler()),
		tickLag: gauges.gauge(gaugeTickLag, "scaled_tick_lag_seconds",
			"How late a scaler's last tick started after its scheduled time."),
		ticksMissed: counterVec("scaled_ticks_missed_total",
			"Ticks skipped because the previous tick of the scaler was still running.", "scaler"),

		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "scaled_config_last_reload_successful",
			Help: "1 if the last attempt to load the configuration succeeded, 0 if it failed and the previous one is still in use."}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "scaled_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration load."}),
		scalersRemoved: prometheus.NewCounter(prometheus.CounterOpts{Name: "scaled_config_scalers_removed_total",
			Help: "Scalers that successful reloads of the configuration removed; their targets are no longer scaled."}),
		scalers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "scaled_scalers",
			Help: "Scalers this replica runs: every scaler of the configuration in use, or with cold standby those of the shards it holds."}),
		dryRun: gauges.gauge(gaugeDryRun, "scaled_dry_run",
			"1 if the scaler only logs and exports what it would do, 0 if it acts."),
	}
	m.forecast = newForecastMetrics()
	if reg != nil {
		reg.MustRegister(m.collectors()...)
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return append([]prometheus.Collector{
		m.buildInfo,
		m.signalValue, m.recommendation, m.recommended, m.desired, m.current, m.ready, m.lastDecision,
		m.decisions, m.signalErrors,
		m.queryDuration, m.queryErrors,
		m.actuationDuration, m.actuationErrors, m.targetErrors, m.targetReads,
		m.tickDuration, m.tickLag, m.ticksMissed,
		m.reloadOK, m.reloadTime, m.scalersRemoved, m.scalers, m.dryRun,
		m.policyState,
	}, m.forecast.collectors()...)
}

// perScaler lists every vector that has a scaler label, for ForgetScaler;
// the series of the scaler's row (scalergauges.go) are forgotten with it.
func (m *Metrics) perScaler() []*prometheus.MetricVec {
	vecs := append([]*prometheus.MetricVec{
		m.signalValue.MetricVec, m.recommendation.MetricVec,
		m.signalErrors.MetricVec,
		m.queryErrors.MetricVec,
		m.actuationErrors.MetricVec, m.targetErrors.MetricVec,
		m.ticksMissed.MetricVec,
		m.policyState.MetricVec,
	}, m.forecast.perScaler()...)
	if m.opts.PerScalerHistograms {
		vecs = append(vecs, m.queryDuration.MetricVec, m.actuationDuration.MetricVec, m.tickDuration.MetricVec)
	}
	return vecs
}

// hist is a histogram of a vector made with histScaler: the scaler's own
// when histograms are per scaler, the process's otherwise.
func (m *Metrics) hist(v *prometheus.HistogramVec, scaler string, labels ...string) prometheus.Observer {
	if m.opts.PerScalerHistograms {
		return v.WithLabelValues(append([]string{scaler}, labels...)...)
	}
	return v.WithLabelValues(labels...)
}

// NewRegistry returns a registry holding the Go runtime and process
// collectors, ready to be handed to NewMetrics and NewServer.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// SetBuildInfo sets scaled_build_info to 1 for this build. It replaces any
// earlier build labels, so the metric has exactly one series.
func (m *Metrics) SetBuildInfo(version, revision string) {
	if m == nil {
		return
	}
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, revision, runtime.Version()).Set(1)
}

// InitScaler creates, at zero, the decision counters a healthy scaler
// moves, so that rate() and increase() see them from zero rather than
// from their first increment: up and down with the outcome of its mode
// (dry_run or applied), none unchanged, and none failed, which the first
// failure moves. It sets the dry-run flag. The series of other failures
// (signal errors by reason, query and actuation errors, a set that failed,
// missed ticks) are made when they first happen: a fleet pays for the
// failures it has, not for every kind it could have. The loop calls it when
// a scaler starts (again after a reload, following ForgetScaler).
func (m *Metrics) InitScaler(scaler string, _ []string, dryRun bool) {
	if m == nil {
		return
	}
	moved := scaling.OutcomeApplied
	if dryRun {
		moved = scaling.OutcomeDryRun
	}
	m.decisions.Init(scaler, string(scaling.DirectionUp), string(moved))
	m.decisions.Init(scaler, string(scaling.DirectionDown), string(moved))
	m.decisions.Init(scaler, string(scaling.DirectionNone), string(scaling.OutcomeUnchanged))
	m.decisions.Init(scaler, string(scaling.DirectionNone), string(scaling.OutcomeFailed))
	m.SetDryRun(scaler, dryRun)
}

// ObserveDecision exports what a decision says:
//
//   - each usable signal's value; a failed signal's series is deleted, so a
//     stale value is never shown as fresh and absent() alerts fire;
//   - with MetricsOptions.PolicySeries, each policy's recommendation; an
//     abstaining policy's series is deleted;
//   - the combined recommendation, desired, current and ready capacity,
//     unless the outcome is failed: a
//     failed decision may have failed before the target was read, and its
//     zeros are not capacities, so the last good values stay;
//   - one increment of scaled_decisions_total{direction,outcome}, where an
//     empty Direction is derived from Current and Desired;
//   - the time of the decision and the scaler's dry-run flag.
//
// It does not count signal errors: the loop reports each with SignalError, so
// that a failure is counted once whichever path detects it.
func (m *Metrics) ObserveDecision(d scaling.Decision) {
	if m == nil {
		return
	}
	for i := range d.Signals {
		s := &d.Signals[i]
		if s.Failed != "" || s.Error != "" || math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			m.signalValue.DeleteLabelValues(d.Scaler, s.Name)
			continue
		}
		m.signalValue.WithLabelValues(d.Scaler, s.Name).Set(s.Value)
	}
	for i := range d.Recommendations {
		if !m.opts.PolicySeries {
			break
		}
		r := &d.Recommendations[i]
		if r.Abstain {
			m.recommendation.DeleteLabelValues(d.Scaler, r.Policy)
			continue
		}
		m.recommendation.WithLabelValues(d.Scaler, r.Policy).Set(float64(r.Replicas))
	}
	if d.Outcome != scaling.OutcomeFailed {
		m.recommended.Set(d.Scaler, float64(d.Recommended))
		m.desired.Set(d.Scaler, float64(d.Desired))
		m.current.Set(d.Scaler, float64(d.Current))
		m.ready.Set(d.Scaler, float64(d.Ready))
	}
	dir := d.Direction
	if dir == "" {
		dir = scaling.DirectionOf(d.Current, d.Desired)
	}
	m.decisions.Inc(d.Scaler, string(dir), string(d.Outcome))
	if !d.Time.IsZero() {
		m.lastDecision.Set(d.Scaler, unixSeconds(d.Time))
	}
	m.SetDryRun(d.Scaler, d.DryRun)
}

// SignalError counts one failed signal. An empty kind counts as query_error,
// as scaling.KindOf does for an error that carries no kind.
func (m *Metrics) SignalError(scaler, signal string, kind scaling.FailureKind) {
	if m == nil {
		return
	}
	if kind == "" {
		kind = scaling.FailureQuery
	}
	m.signalErrors.WithLabelValues(scaler, signal, string(kind)).Inc()
}

// ObserveTick records how long a tick took and how late it started after
// its scheduled time; a negative lag (an early start) is recorded as 0.
func (m *Metrics) ObserveTick(scaler string, took, lag time.Duration) {
	if m == nil {
		return
	}
	m.hist(m.tickDuration, scaler).Observe(took.Seconds())
	m.tickLag.Set(scaler, max(lag, 0).Seconds())
}

// TickMissed counts n ticks of a scaler that were skipped. n <= 0 does nothing.
func (m *Metrics) TickMissed(scaler string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.ticksMissed.WithLabelValues(scaler).Add(float64(n))
}

// ConfigReloaded records an attempt to load the configuration at time at.
// The success timestamp moves only when ok is true.
func (m *Metrics) ConfigReloaded(ok bool, at time.Time) {
	if m == nil {
		return
	}
	if !ok {
		m.reloadOK.Set(0)
		return
	}
	m.reloadOK.Set(1)
	m.reloadTime.Set(unixSeconds(at))
}

// ScalersRemoved counts n scalers that a successful reload removed. n <= 0
// does nothing.
func (m *Metrics) ScalersRemoved(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.scalersRemoved.Add(float64(n))
}

// SetScalers sets how many scalers the configuration in use holds.
func (m *Metrics) SetScalers(n int) {
	if m == nil {
		return
	}
	m.scalers.Set(float64(n))
}

// SetDryRun sets whether a scaler only logs what it would do.
func (m *Metrics) SetDryRun(scaler string, on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.dryRun.Set(scaler, v)
}

// ForgetScaler deletes every series of a scaler, and only those. The loop
// calls it when a scaler is removed, and before re-creating one whose
// signals or policies a reload changed, so that a series of a signal or
// policy that no longer exists does not linger. Call it once the scaler's
// goroutine has stopped: any observation made after it creates its series
// again.
func (m *Metrics) ForgetScaler(scaler string) {
	if m == nil {
		return
	}
	match := prometheus.Labels{"scaler": scaler}
	for _, v := range m.perScaler() {
		v.DeletePartialMatch(match)
	}
	m.gauges.forget(scaler)
}

// SetPolicyState exports the state a policy reports after a tick
// (engine.PolicyStateRecorder), with MetricsOptions.PolicySeries.
func (m *Metrics) SetPolicyState(scaler, policy string, vars map[string]float64) {
	if m == nil || !m.opts.PolicySeries {
		return
	}
	for k, v := range vars {
		m.policyState.WithLabelValues(scaler, policy, k).Set(v)
	}
}

// QueryObserver returns the observer of one scaler's queries: wrap the
// scaler's source with it (sources.Instrument) to fill
// scaled_query_duration_seconds and scaled_query_errors_total. It is valid
// on a nil *Metrics and then observes nothing.
func (m *Metrics) QueryObserver(scaler string) sources.QueryObserver {
	return &ScalerObserver{m: m, scaler: scaler}
}

// TargetObserver returns the observer of one scaler's target: wrap the
// target with it (actuators.Instrument) to fill scaled_actuation_* (sets),
// scaled_target_read_duration_seconds (reads) and scaled_target_errors_total
// (both). It is valid on a nil *Metrics and then observes nothing.
func (m *Metrics) TargetObserver(scaler string) actuators.TargetObserver {
	return &ScalerObserver{m: m, scaler: scaler}
}

var (
	_ sources.QueryObserver    = (*ScalerObserver)(nil)
	_ actuators.TargetObserver = (*ScalerObserver)(nil)
)

// ScalerObserver records the queries of one scaler's source and the reads
// and sets of its target.
//
// It looks its series up at every call rather than keeping them, so that
// after ForgetScaler and a restart of the scaler the same observer writes to
// the new series, not to ones no longer exported.
type ScalerObserver struct {
	m      *Metrics
	scaler string
}

// ObserveQuery records one query of the given kind (QueryInstant or
// QueryRange) that took d and failed when err is non-nil.
func (o *ScalerObserver) ObserveQuery(kind string, d time.Duration, err error) {
	if o == nil || o.m == nil {
		return
	}
	o.m.hist(o.m.queryDuration, o.scaler, kind).Observe(d.Seconds())
	if err != nil {
		o.m.queryErrors.WithLabelValues(o.scaler, kind).Inc()
	}
}

// ObserveTarget records one call of op (actuators.OpRead or OpSet) that
// took d and failed with reason ("" for a success). A reason's series is
// made when it first happens, so that a fleet has series only for the
// failures it had.
func (o *ScalerObserver) ObserveTarget(op string, d time.Duration, reason string) {
	if o == nil || o.m == nil {
		return
	}
	switch op {
	case actuators.OpSet:
		o.m.hist(o.m.actuationDuration, o.scaler).Observe(d.Seconds())
		if reason != "" {
			o.m.actuationErrors.WithLabelValues(o.scaler).Inc()
		}
	case actuators.OpRead:
		o.m.targetReads.Observe(d.Seconds())
	}
	if reason != "" {
		o.m.targetErrors.WithLabelValues(o.scaler, reason).Inc()
	}
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
