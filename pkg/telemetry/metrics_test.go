package telemetry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newTestMetrics has every series on (MetricsOptions), so that the tests
// see each metric; newDefaultMetrics has the defaults.
func newTestMetrics(t testing.TB) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return NewMetrics(reg, MetricsOptions{PerScalerHistograms: true, PolicySeries: true}), reg
}

func newDefaultMetrics(t testing.TB) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return NewMetrics(reg), reg
}

// series gathers reg into "name{k=v,...}" -> value; a histogram gives its
// sample count under its own name.
func series(t testing.TB, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func decision() scaling.Decision {
	return scaling.Decision{
		Scaler: "web",
		Time:   t0,
		Signals: []scaling.SignalValue{
			{Name: "rps", Value: 1250.5, Time: t0},
			{Name: "p99", Failed: scaling.FailureStale, Error: "stale: newest sample is 5m old"},
		},
		Recommendations: []scaling.Recommendation{
			{Policy: "by_rps", Replicas: 7, Reason: "1250.5 / 200 per replica"},
			{Policy: "by_latency", Abstain: true, Reason: "signal p99 failed"},
		},
		Winner:      "by_rps",
		Recommended: 7,
		Current:     4,
		Ready:       3,
		Desired:     6,
		Direction:   scaling.DirectionUp,
		Outcome:     scaling.OutcomeApplied,
	}
}

func TestObserveDecision(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.ObserveDecision(decision())

	const want = `
# HELP scaled_current_replicas Capacity the target was asked to have, as read at a scaler's last decision that did not fail.
# TYPE scaled_current_replicas gauge
scaled_current_replicas{scaler="web"} 4
# HELP scaled_decisions_total Decisions taken, by direction (up, down, none) and outcome (applied, dry_run, unchanged, failed).
# TYPE scaled_decisions_total counter
scaled_decisions_total{direction="up",outcome="applied",scaler="web"} 1
# HELP scaled_desired_replicas Capacity a scaler wants after every guard, at its last decision that did not fail.
# TYPE scaled_desired_replicas gauge
scaled_desired_replicas{scaler="web"} 6
# HELP scaled_dry_run 1 if the scaler only logs and exports what it would do, 0 if it acts.
# TYPE scaled_dry_run gauge
scaled_dry_run{scaler="web"} 0
# HELP scaled_last_decision_timestamp_seconds Unix time of a scaler's last decision, whatever its outcome.
# TYPE scaled_last_decision_timestamp_seconds gauge
scaled_last_decision_timestamp_seconds{scaler="web"} 1.7723664e+09
# HELP scaled_ready_replicas Part of the current capacity that serves, as read at a scaler's last decision that did not fail.
# TYPE scaled_ready_replicas gauge
scaled_ready_replicas{scaler="web"} 3
# HELP scaled_recommendation Capacity each policy of a scaler recommended at its last tick, before guards. Absent while the policy abstains.
# TYPE scaled_recommendation gauge
scaled_recommendation{policy="by_rps",scaler="web"} 7
# HELP scaled_recommended_replicas Capacity a scaler's policies recommended together at its last decision that did not fail, before guards; above scaled_desired_replicas while a bound, a schedule's maximum or a rate limit holds it back.
# TYPE scaled_recommended_replicas gauge
scaled_recommended_replicas{scaler="web"} 7
# HELP scaled_signal_value Last value of each signal of a scaler. Absent while the signal fails.
# TYPE scaled_signal_value gauge
scaled_signal_value{scaler="web",signal="rps"} 1250.5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"scaled_current_replicas", "scaled_decisions_total", "scaled_desired_replicas", "scaled_dry_run",
		"scaled_last_decision_timestamp_seconds", "scaled_ready_replicas", "scaled_recommendation",
		"scaled_recommended_replicas", "scaled_signal_value"); err != nil {
		t.Error(err)
	}
	if float64(t0.Unix()) != 1.7723664e+09 {
		t.Fatalf("test time %v is not the timestamp written in want", t0)
	}
}

func TestObserveDecisionFollowsSignalsAndPolicies(t *testing.T) {
	m, _ := newTestMetrics(t)
	d := decision()
	m.ObserveDecision(d)

	// Next tick: rps fails, p99 comes back, by_latency recommends and by_rps abstains.
	d.Time = t0.Add(15 * time.Second)
	d.Signals = []scaling.SignalValue{
		{Name: "rps", Failed: scaling.FailureEmpty, Error: "empty"},
		{Name: "p99", Value: 0.42},
	}
	d.Recommendations = []scaling.Recommendation{
		{Policy: "by_rps", Abstain: true},
		{Policy: "by_latency", Replicas: 9},
	}
	d.DryRun = true
	d.Outcome = scaling.OutcomeDryRun
	m.ObserveDecision(d)

	got := series(t, gathererOf(m.signalValue, m.recommendation))
	want := map[string]float64{
		"scaled_signal_value{scaler=web,signal=p99}":          0.42,
		"scaled_recommendation{policy=by_latency,scaler=web}": 9,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series after the second tick (-want +got):\n%s", diff)
	}
	if v := testutil.ToFloat64(m.dryRun); v != 1 {
		t.Errorf("scaled_dry_run{scaler=web} = %v, want 1", v)
	}
	if v := decisionsOf(t, m, "web", "up", "dry_run"); v != 1 {
		t.Errorf("decisions{up,dry_run} = %v, want 1", v)
	}
	if v := decisionsOf(t, m, "web", "up", "applied"); v != 1 {
		t.Errorf("decisions{up,applied} = %v, want 1 (from the first tick)", v)
	}
}

func TestObserveDecisionNotFiniteSignalIsNotExported(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			m, _ := newTestMetrics(t)
			d := decision()
			m.ObserveDecision(d)
			d.Signals[0].Value = v // no Failed kind set: the value alone must be refused
			m.ObserveDecision(d)
			if n := testutil.CollectAndCount(m.signalValue); n != 0 {
				t.Errorf("scaled_signal_value has %d series, want 0", n)
			}
		})
	}
}

func TestObserveDecisionFailedKeepsLastCapacity(t *testing.T) {
	m, _ := newTestMetrics(t)
	m.ObserveDecision(decision())

	failed := scaling.Decision{
		Scaler:    "web",
		Time:      t0.Add(time.Minute),
		Direction: scaling.DirectionNone,
		Outcome:   scaling.OutcomeFailed,
		Error:     "read capacity: connection refused",
	}
	m.ObserveDecision(failed)

	for _, c := range []struct {
		name string
		vec  prometheus.Collector // of scaler web alone
		want float64
	}{
		{"desired", m.desired, 6},
		{"current", m.current, 4},
		{"ready", m.ready, 3},
		{"last decision", m.lastDecision, float64(t0.Add(time.Minute).Unix())},
	} {
		if got := testutil.ToFloat64(c.vec); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if got := decisionsOf(t, m, "web", "none", "failed"); got != 1 {
		t.Errorf("decisions{none,failed} = %v, want 1", got)
	}
}

func TestObserveDecisionDerivesMissingDirection(t *testing.T) {
	tests := []struct {
		name             string
		current, desired int32
		want             string
	}{
		{"up", 2, 5, "up"},
		{"down", 5, 2, "down"},
		{"none", 3, 3, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestMetrics(t)
			m.ObserveDecision(scaling.Decision{Scaler: "s", Current: tt.current, Desired: tt.desired, Outcome: scaling.OutcomeDryRun})
			if got := decisionsOf(t, m, "s", tt.want, "dry_run"); got != 1 {
				t.Errorf("decisions{%s,dry_run} = %v, want 1", tt.want, got)
			}
			if n := testutil.CollectAndCount(m.decisions); n != 1 {
				t.Errorf("decisions has %d series, want 1", n)
			}
		})
	}
}

func TestSignalError(t *testing.T) {
	m, _ := newTestMetrics(t)
	m.SignalError("web", "rps", scaling.FailureTimeout)
	m.SignalError("web", "rps", scaling.FailureTimeout)
	m.SignalError("web", "rps", "")
	const want = `
# HELP scaled_signal_errors_total Signals that could not be used, by reason.
# TYPE scaled_signal_errors_total counter
scaled_signal_errors_total{reason="query_error",scaler="web",signal="rps"} 1
scaled_signal_errors_total{reason="timeout",scaler="web",signal="rps"} 2
`
	if err := testutil.CollectAndCompare(m.signalErrors, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// Target errors get a series for each reason that happened, and no other:
// a fleet of 10,000 scalers must not carry one per reason per scaler.
func TestTicksAndActuation(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.ObserveTick("web", 120*time.Millisecond, 2*time.Second)
	m.ObserveTick("web", 80*time.Millisecond, -time.Second)
	m.TickMissed("web", 3)
	m.TickMissed("web", 0)
	m.TickMissed("web", -2)
	target := m.TargetObserver("web")
	target.ObserveTarget(actuators.OpSet, 300*time.Millisecond, "")
	target.ObserveTarget(actuators.OpSet, 2*time.Second, actuators.KubeConflict)
	target.ObserveTarget(actuators.OpRead, 40*time.Millisecond, "")
	target.ObserveTarget(actuators.OpRead, 20*time.Second, actuators.ReasonTimeout)

	const want = `
# HELP scaled_actuation_duration_seconds Time taken to set a target's capacity, failed attempts included.
# TYPE scaled_actuation_duration_seconds histogram
scaled_actuation_duration_seconds_bucket{scaler="web",le="0.005"} 0
scaled_actuation_duration_seconds_bucket{scaler="web",le="0.01"} 0
scaled_actuation_duration_seconds_bucket{scaler="web",le="0.025"} 0
scaled_actuation_duration_seconds_bucket{scaler="web",le="0.05"} 0
scaled_actuation_duration_seconds_bucket{scaler="web",le="0.1"} 0
scaled_actuation_duration_seconds_bucket{scaler="web",le="0.25"} 0
scaled_actuation_duration_seconds_bucket{scaler="web",le="0.5"} 1
scaled_actuation_duration_seconds_bucket{scaler="web",le="1"} 1
scaled_actuation_duration_seconds_bucket{scaler="web",le="2.5"} 2
scaled_actuation_duration_seconds_bucket{scaler="web",le="5"} 2
scaled_actuation_duration_seconds_bucket{scaler="web",le="10"} 2
scaled_actuation_duration_seconds_bucket{scaler="web",le="30"} 2
scaled_actuation_duration_seconds_bucket{scaler="web",le="+Inf"} 2
scaled_actuation_duration_seconds_sum{scaler="web"} 2.3
scaled_actuation_duration_seconds_count{scaler="web"} 2
# HELP scaled_actuation_errors_total Attempts to set a target's capacity that failed.
# TYPE scaled_actuation_errors_total counter
scaled_actuation_errors_total{scaler="web"} 1
# HELP scaled_target_errors_total Failed reads and writes of a scaler's target, by reason: timeout, other, and each kind's own (Kubernetes: not_found, forbidden, conflict, throttled, invalid, other_autoscaler, unknown_kind; AWS: throttled, access_denied, not_found, quota_exceeded, invalid_state, invalid_request, insufficient_capacity).
# TYPE scaled_target_errors_total counter
scaled_target_errors_total{reason="conflict",scaler="web"} 1
scaled_target_errors_total{reason="timeout",scaler="web"} 1
# HELP scaled_target_read_duration_seconds Time taken to read targets' capacity, over every scaler, failed reads included.
# TYPE scaled_target_read_duration_seconds histogram
scaled_target_read_duration_seconds_bucket{le="0.005"} 0
scaled_target_read_duration_seconds_bucket{le="0.01"} 0
scaled_target_read_duration_seconds_bucket{le="0.025"} 0
scaled_target_read_duration_seconds_bucket{le="0.05"} 1
scaled_target_read_duration_seconds_bucket{le="0.1"} 1
scaled_target_read_duration_seconds_bucket{le="0.25"} 1
scaled_target_read_duration_seconds_bucket{le="0.5"} 1
scaled_target_read_duration_seconds_bucket{le="1"} 1
scaled_target_read_duration_seconds_bucket{le="2.5"} 1
scaled_target_read_duration_seconds_bucket{le="5"} 1
scaled_target_read_duration_seconds_bucket{le="10"} 1
scaled_target_read_duration_seconds_bucket{le="30"} 2
scaled_target_read_duration_seconds_bucket{le="+Inf"} 2
scaled_target_read_duration_seconds_sum 20.04
scaled_target_read_duration_seconds_count 2
# HELP scaled_tick_lag_seconds How late a scaler's last tick started after its scheduled time.
# TYPE scaled_tick_lag_seconds gauge
scaled_tick_lag_seconds{scaler="web"} 0
# HELP scaled_ticks_missed_total Ticks skipped because the previous tick of the scaler was still running.
# TYPE scaled_ticks_missed_total counter
scaled_ticks_missed_total{scaler="web"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"scaled_actuation_duration_seconds", "scaled_actuation_errors_total", "scaled_target_errors_total",
		"scaled_target_read_duration_seconds", "scaled_tick_lag_seconds", "scaled_ticks_missed_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.tickDuration); n != 1 {
		t.Errorf("tick duration has %d series, want 1", n)
	}

	m.ObserveTick("web", 0, 1500*time.Millisecond)
	if got := testutil.ToFloat64(m.tickLag); got != 1.5 {
		t.Errorf("tick lag = %v, want 1.5", got)
	}
}

func TestQueryObserver(t *testing.T) {
	m, _ := newTestMetrics(t)
	obs := m.QueryObserver("web")
	obs.ObserveQuery(QueryInstant, 20*time.Millisecond, nil)
	obs.ObserveQuery(QueryInstant, 3*time.Second, scaling.Fail(scaling.FailureTimeout, "deadline"))
	obs.ObserveQuery(QueryRange, 200*time.Millisecond, nil)

	got := series(t, gathererOf(m.queryDuration, m.queryErrors))
	want := map[string]float64{
		"scaled_query_duration_seconds{kind=instant,scaler=web}": 2,
		"scaled_query_duration_seconds{kind=range,scaler=web}":   1,
		"scaled_query_errors_total{kind=instant,scaler=web}":     1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query series (-want +got):\n%s", diff)
	}

	var nilObs *ScalerObserver
	nilObs.ObserveQuery(QueryInstant, time.Second, nil)
	(*Metrics)(nil).QueryObserver("web").ObserveQuery(QueryRange, time.Second, errors.New("x"))
}

func TestConfigReloadedScalersBuildInfo(t *testing.T) {
	m, reg := newTestMetrics(t)
	at := time.Unix(1700000000, 500_000_000)
	m.ConfigReloaded(true, at)
	m.ConfigReloaded(false, at.Add(time.Hour)) // a failed reload keeps the last success time
	m.SetScalers(3)
	m.ScalersRemoved(2)
	m.ScalersRemoved(0) // nothing removed: nothing counted
	m.ScalersRemoved(1)
	m.SetBuildInfo("v0.1.0", "abc123")
	m.SetBuildInfo("v0.2.0", "def456")

	got := series(t, reg)
	want := map[string]float64{
		"scaled_config_last_reload_successful{}":                0,
		"scaled_config_last_reload_success_timestamp_seconds{}": 1700000000.5,
		"scaled_config_scalers_removed_total{}":                 3,
		"scaled_scalers{}":                                      3,
		// A histogram without labels always exists; series() counts it once.
		"scaled_target_read_duration_seconds{}":                                                 0,
		"scaled_build_info{goversion=" + runtime.Version() + ",revision=def456,version=v0.2.0}": 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	m.ConfigReloaded(true, at.Add(2*time.Hour))
	if v := testutil.ToFloat64(m.reloadOK); v != 1 {
		t.Errorf("reload successful = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.reloadTime); v != float64(at.Add(2*time.Hour).UnixNano())/1e9 {
		t.Errorf("reload time = %v, want %v", v, at.Add(2*time.Hour).Unix())
	}
}

func TestInitScalerCreatesCountersAtZero(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.InitScaler("web", []string{"rps", "p99"}, true)
	got := series(t, reg)
	var nonZero []string
	counts := map[string]int{}
	for k, v := range got {
		counts[k[:strings.IndexByte(k, '{')]]++
		if v != 0 && k != "scaled_dry_run{scaler=web}" {
			nonZero = append(nonZero, k)
		}
	}
	if len(nonZero) > 0 {
		t.Errorf("series not at zero after InitScaler: %v", nonZero)
	}
	want := map[string]int{
		"scaled_decisions_total": 4,
		"scaled_dry_run":         1,
		// Metrics without labels always exist: a counter is at zero
		// before its first increase, which an alert's increase() needs.
		"scaled_config_scalers_removed_total":                 1,
		"scaled_config_last_reload_success_timestamp_seconds": 1,
		"scaled_config_last_reload_successful":                1,
		"scaled_scalers":                                      1,
		"scaled_target_read_duration_seconds":                 1,
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("series per metric (-want +got):\n%s", diff)
	}
	if got["scaled_dry_run{scaler=web}"] != 1 {
		t.Errorf("scaled_dry_run{scaler=web} = %v, want 1", got["scaled_dry_run{scaler=web}"])
	}
}

// observeAll touches every per-scaler metric of scaler.
func observeAll(m *Metrics, scaler string) {
	m.InitScaler(scaler, []string{"rps"}, false)
	d := decision()
	d.Scaler = scaler
	d.Signals[1] = scaling.SignalValue{Name: "p99", Value: 0.3}
	d.Recommendations[1] = scaling.Recommendation{Policy: "by_latency", Replicas: 5}
	m.ObserveDecision(d)
	m.SignalError(scaler, "rps", scaling.FailureEmpty)
	m.QueryObserver(scaler).ObserveQuery(QueryInstant, time.Millisecond, nil)
	m.QueryObserver(scaler).ObserveQuery(QueryRange, time.Millisecond, errors.New("x"))
	m.TargetObserver(scaler).ObserveTarget(actuators.OpSet, time.Millisecond, actuators.ReasonOther)
	m.ObserveTick(scaler, time.Millisecond, time.Millisecond)
	m.TickMissed(scaler, 1)
	m.SetPolicyState(scaler, "pid", map[string]float64{"integral": 4.5, "derivative": 0})
	m.SetForecast(scaler, forecastOf("hw_add_daily", 120, 100, 150, 0.7)) // forecast_test.go
}

func TestForgetScalerRemovesEverySeriesOfThatScalerOnly(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetBuildInfo("v1", "r")
	m.SetScalers(2)
	m.ConfigReloaded(true, t0)
	observeAll(m, "web")
	observeAll(m, "web-canary") // a name sharing a prefix must survive

	before := series(t, reg)
	// Every metric with a scaler label must have been touched, or the test
	// proves nothing about it.
	touched := map[string]bool{}
	for k := range before {
		if strings.Contains(k, "scaler=web,") || strings.HasSuffix(k, "scaler=web}") {
			touched[k[:strings.IndexByte(k, '{')]] = true
		}
	}
	if want := len(m.perScaler()) + numScalerGauges + 1; len(touched) != want {
		t.Fatalf("observeAll touched %d per-scaler metrics, want all %d: %v", len(touched), want, touched)
	}

	m.ForgetScaler("web")
	after := series(t, reg)

	want := map[string]float64{}
	for k, v := range before {
		if !strings.Contains(k, "scaler=web,") && !strings.HasSuffix(k, "scaler=web}") {
			want[k] = v
		}
	}
	if len(want) == len(before) || len(want) == 0 {
		t.Fatalf("test setup: %d of %d series belong to other scalers", len(want), len(before))
	}
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("series after ForgetScaler(web) (-want +got):\n%s", diff)
	}
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *Metrics
	m.SetBuildInfo("v", "r")
	m.InitScaler("s", []string{"a"}, true)
	m.ObserveDecision(decision())
	m.SignalError("s", "a", scaling.FailureEmpty)
	m.ObserveTick("s", time.Second, time.Second)
	m.TickMissed("s", 1)
	m.TargetObserver("s").ObserveTarget(actuators.OpSet, time.Second, actuators.ReasonOther)
	m.ConfigReloaded(true, t0)
	m.SetScalers(1)
	m.SetDryRun("s", true)
	m.ForgetScaler("s")
	m.QueryObserver("s").ObserveQuery(QueryInstant, time.Second, nil)
}

func TestNewMetricsUsesOnlyTheGivenRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg).SetScalers(1)
	NewMetrics(prometheus.NewRegistry()) // a second daemon in the same process, e.g. in tests
	NewMetrics(nil).SetScalers(1)

	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "scaled_") {
			t.Errorf("%s is on the global registry", mf.GetName())
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("registering twice on one registry did not panic")
		}
	}()
	NewMetrics(reg)
}

func TestMetricsPassLint(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetBuildInfo("v", "r")
	observeAll(m, "web")
	m.ConfigReloaded(true, t0)
	m.SetScalers(1)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if p.Metric == "scaled_forecast_value" && strings.Contains(p.Text, `"quantile" label`) {
			continue // the label the forecasting docs promise (forecast.go)
		}
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	names := map[string]bool{}
	for k := range series(t, reg) {
		names[k[:strings.IndexByte(k, '{')]] = true
	}
	if len(names) != len(m.collectors()) {
		var got []string
		for n := range names {
			got = append(got, n)
		}
		slices.Sort(got)
		t.Errorf("gathered %d metric names, want %d: %v", len(names), len(m.collectors()), got)
	}
}

func TestSetPolicyState(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetPolicyState("web", "pid", map[string]float64{"integral": 4.5, "last_measurement": 0.8})
	got := series(t, reg)
	for k, want := range map[string]float64{
		"scaled_policy_state{policy=pid,scaler=web,var=integral}":         4.5,
		"scaled_policy_state{policy=pid,scaler=web,var=last_measurement}": 0.8,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v (series %v)", k, got[k], want, got)
		}
	}
}

func BenchmarkObserveDecision(b *testing.B) {
	m, _ := newTestMetrics(b)
	d := decision()
	d.Signals = append(d.Signals, scaling.SignalValue{Name: "queue", Value: 12})
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveDecision(d)
	}
}

func BenchmarkObserveDecisionNil(b *testing.B) {
	var m *Metrics
	d := decision()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveDecision(d)
	}
}

// gathererOf registers cs on a fresh registry.
func gathererOf(cs ...prometheus.Collector) prometheus.Gatherer {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cs...)
	return reg
}

func TestQueryObserverThroughInstrument(t *testing.T) {
	m, _ := newTestMetrics(t)
	q := sources.Instrument(fakes.Failing(scaling.Fail(scaling.FailureEmpty, "no series")), m.QueryObserver("web"))
	_, _ = q.Query(context.Background(), "up", t0)
	_, _ = q.QueryRange(context.Background(), "up", t0.Add(-time.Hour), t0, time.Minute)
	_, _ = q.QueryRange(context.Background(), "up", t0.Add(-time.Hour), t0, time.Minute)
	for kind, want := range map[string]float64{QueryInstant: 1, QueryRange: 2} {
		if got := testutil.ToFloat64(m.queryErrors.WithLabelValues("web", kind)); got != want {
			t.Errorf("query errors{%s} = %v, want %v", kind, got, want)
		}
	}
}

// A fleet's /metrics: by default a scaler with one signal that decides,
// acts and is read has at most PerScalerSeries series, whatever its
// policies; its histograms are the process's.
func TestDefaultSeriesPerScaler(t *testing.T) {
	m, reg := newDefaultMetrics(t)
	for _, scaler := range []string{"web", "api"} {
		m.InitScaler(scaler, []string{"rps"}, false)
		d := decision()
		d.Scaler = scaler
		d.Signals = d.Signals[:1]
		m.ObserveDecision(d)
		d.Direction, d.Desired, d.Current = scaling.DirectionDown, 3, 4
		m.ObserveDecision(d)
		d.Direction, d.Outcome = scaling.DirectionNone, scaling.OutcomeUnchanged
		m.ObserveDecision(d)
		m.ObserveTick(scaler, 20*time.Millisecond, time.Millisecond)
		m.QueryObserver(scaler).ObserveQuery(QueryInstant, 20*time.Millisecond, nil)
		m.TargetObserver(scaler).ObserveTarget(actuators.OpRead, time.Millisecond, "")
		m.TargetObserver(scaler).ObserveTarget(actuators.OpSet, time.Millisecond, "")
		m.SetPolicyState(scaler, "pid", map[string]float64{"integral": 1})
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	perScaler := map[string]int{}
	for _, mf := range mfs {
		for _, met := range mf.GetMetric() {
			scaler := ""
			for _, l := range met.GetLabel() {
				if l.GetName() == "scaler" {
					scaler = l.GetValue()
				}
			}
			if scaler != "" {
				perScaler[scaler]++
			}
			if mf.GetType().String() == "HISTOGRAM" && scaler != "" {
				t.Errorf("%s has a scaler label by default", mf.GetName())
			}
			if n := mf.GetName(); n == "scaled_recommendation" || n == "scaled_policy_state" {
				t.Errorf("%s exported by default", n)
			}
		}
	}
	want := map[string]int{"web": PerScalerSeries, "api": PerScalerSeries}
	if diff := cmp.Diff(want, perScaler); diff != "" {
		t.Errorf("series per scaler (-want +got):\n%s", diff)
	}
}

// A failure makes the series of its reason when it happens, and only that.
func TestFailureSeriesAreMadeWhenTheyHappen(t *testing.T) {
	m, reg := newDefaultMetrics(t)
	m.InitScaler("web", []string{"rps", "p99"}, true)
	m.SignalError("web", "p99", scaling.FailureStale)
	m.QueryObserver("web").ObserveQuery(QueryRange, time.Second, errors.New("x"))
	m.TickMissed("web", 2)
	got := series(t, reg)
	for k, want := range map[string]float64{
		"scaled_signal_errors_total{reason=stale,scaler=web,signal=p99}": 1,
		"scaled_query_errors_total{kind=range,scaler=web}":               1,
		"scaled_ticks_missed_total{scaler=web}":                          2,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	n := 0
	for k := range got {
		if strings.HasPrefix(k, "scaled_signal_errors_total") || strings.HasPrefix(k, "scaled_query_errors_total") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d error series, want the 2 that happened: %v", n, got)
	}
}

// BenchmarkMetricsBytesPerScaler reports the heap the metrics of 1,000
// steady scalers keep (one signal, one policy, dry run: the default 12
// series each), per scaler.
//
//	go test -run '^$' -bench MetricsBytesPerScaler -count 3 ./pkg/telemetry
func BenchmarkMetricsBytesPerScaler(b *testing.B) {
	benchHeapPerScaler(b, 1000, func(names []string) *Metrics {
		m := NewMetrics(prometheus.NewRegistry())
		for _, name := range names {
			m.InitScaler(name, []string{"rps"}, true)
			for tick := range 3 {
				m.ObserveDecision(scaling.Decision{
					Scaler: name, Time: t0.Add(time.Duration(tick) * 15 * time.Second),
					Signals:         []scaling.SignalValue{{Name: "rps", Value: 100, Time: t0}},
					Recommendations: []scaling.Recommendation{{Policy: "rps", Replicas: 2}},
					Winner:          "rps", Recommended: 2, Current: 2, Ready: 2, Desired: 2,
					Direction: scaling.DirectionNone, Outcome: scaling.OutcomeUnchanged, DryRun: true,
				})
				m.ObserveTick(name, time.Millisecond, time.Millisecond)
			}
		}
		return m
	}, func(m *Metrics) (float64, string) {
		return float64(testutil.CollectAndCount(gathererCollector{m})), "series/scaler"
	})
}

// benchHeapPerScaler makes, once per iteration, what build makes of scalers
// scalers (named d00000 on) and reports the heap it keeps per scaler, then
// count's figure for it per scaler.
func benchHeapPerScaler[T any](b *testing.B, scalers int, build func(names []string) T, count func(T) (float64, string)) {
	names := make([]string, scalers)
	for i := range names {
		names[i] = fmt.Sprintf("d%05d", i)
	}
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		kept := build(names)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(scalers), "heap-B/scaler")
		v, unit := count(kept)
		b.ReportMetric(v/float64(scalers), unit)
		runtime.KeepAlive(kept)
	}
}

// gathererCollector collects every metric of m, for counting series.
type gathererCollector struct{ m *Metrics }

func (g gathererCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range g.m.collectors() {
		c.Describe(ch)
	}
}

func (g gathererCollector) Collect(ch chan<- prometheus.Metric) {
	for _, c := range g.m.collectors() {
		c.Collect(ch)
	}
}

// decisionsOf is the value of scaled_decisions_total of scaler, direction
// and outcome, or -1 without such a series.
func decisionsOf(t *testing.T, m *Metrics, scaler, direction, outcome string) float64 {
	t.Helper()
	v, ok := series(t, gathererOf(m.decisions))[fmt.Sprintf("scaled_decisions_total{direction=%s,outcome=%s,scaler=%s}", direction, outcome, scaler)]
	if !ok {
		return -1
	}
	return v
}
