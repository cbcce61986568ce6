package telemetry

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaled-dev/scaled/pkg/forecast"
	"github.com/scaled-dev/scaled/pkg/policy"
)

// Values of the quantile label of scaled_forecast_value. The point forecast
// is the model's expected value; lower and upper are the bounds of the
// policy's interval, the upper one at the configured quantile q (the one
// capacity is planned for) and the lower one at 1-q.
const (
	ForecastPoint = "point"
	ForecastLower = "lower"
	ForecastUpper = "upper"
)

// forecastMetrics are the series of forecasting policies (policy.Forecaster).
type forecastMetrics struct {
	value     *prometheus.GaugeVec // scaler, signal, quantile
	modelInfo *prometheus.GaugeVec // scaler, policy, model
	backtest  *prometheus.GaugeVec // scaler, policy, measure
}

func newForecastMetrics() forecastMetrics {
	return forecastMetrics{
		value: gaugeVec("scaled_forecast_value",
			"Load a predictive policy forecast at its last tick for now + startup delay + lead, in the signal's units: quantile is point, lower (1-q) or upper (q, the one planned for). Absent while there is no forecast.", "scaler", "signal", "quantile"),
		modelInfo: gaugeVec("scaled_forecast_model_info",
			"Always 1; model names the forecasting model a predictive policy chose at its last refit.", "scaler", "policy", "model"),
		backtest: gaugeVec("scaled_forecast_backtest_error",
			"Backtest error of the chosen forecasting model at the policy's horizon, by measure: mase (below 1 beats same time yesterday) or smape (0..2).", "scaler", "policy", "measure"),
	}
}

func (f *forecastMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.value, f.modelInfo, f.backtest}
}

func (f *forecastMetrics) perScaler() []*prometheus.MetricVec {
	return []*prometheus.MetricVec{f.value.MetricVec, f.modelInfo.MetricVec, f.backtest.MetricVec}
}

// SetForecast exports a forecasting policy's last forecast
// (engine.ForecastRecorder). Without a forecast (f.OK false) the
// forecast values of its signal are deleted, and the model and its backtest
// error keep the last chosen ones: the model is still the one the policy
// would use. A backtest error that is not finite (history too short to
// score) is not exported.
func (m *Metrics) SetForecast(scaler string, f policy.PolicyForecast) {
	if m == nil {
		return
	}
	fm, r := &m.forecast, f.Report
	if !f.OK {
		for _, q := range []string{ForecastPoint, ForecastLower, ForecastUpper} {
			fm.value.DeleteLabelValues(scaler, r.Signal, q)
		}
		return
	}
	fm.value.WithLabelValues(scaler, r.Signal, ForecastPoint).Set(r.Point)
	fm.value.WithLabelValues(scaler, r.Signal, ForecastLower).Set(r.Lower)
	fm.value.WithLabelValues(scaler, r.Signal, ForecastUpper).Set(r.Upper)
	// One model series per policy: delete the others by name (a closed
	// set), which costs a few map lookups and no scan of the vector.
	for _, name := range forecast.ModelNames {
		if name != r.Model {
			fm.modelInfo.DeleteLabelValues(scaler, f.Policy, name)
		}
	}
	fm.modelInfo.WithLabelValues(scaler, f.Policy, r.Model).Set(1)
	for _, e := range [...]struct {
		measure string
		v       float64
	}{{"mase", r.MASE}, {"smape", r.SMAPE}} {
		if math.IsNaN(e.v) || math.IsInf(e.v, 0) {
			fm.backtest.DeleteLabelValues(scaler, f.Policy, e.measure)
			continue
		}
		fm.backtest.WithLabelValues(scaler, f.Policy, e.measure).Set(e.v)
	}
}
