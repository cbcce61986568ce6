package telemetry

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/forecast"
	"github.com/scaled-dev/scaled/pkg/policy"
)

func forecastOf(model string, point, lower, upper, mase float64) policy.PolicyForecast {
	return policy.PolicyForecast{Policy: "ahead", OK: true, Report: policy.ForecastReport{
		Signal: "rps", Model: model, Target: t0, Quantile: 0.9,
		Point: point, Lower: lower, Upper: upper, MASE: mase, SMAPE: 0.25,
	}}
}

// forecastSeries keeps the scaled_forecast_* series of got.
func forecastSeries(got map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range got {
		if len(k) > len("scaled_forecast_") && k[:len("scaled_forecast_")] == "scaled_forecast_" {
			out[k] = v
		}
	}
	return out
}

func TestSetForecast(t *testing.T) {
	m, reg := newTestMetrics(t)
	steps := []struct {
		name string
		f    policy.PolicyForecast
		want map[string]float64
	}{{
		name: "first forecast",
		f:    forecastOf(forecast.HoltWintersAddDaily, 120, 100, 150, 0.7),
		want: map[string]float64{
			"scaled_forecast_value{quantile=point,scaler=web,signal=rps}":            120,
			"scaled_forecast_value{quantile=lower,scaler=web,signal=rps}":            100,
			"scaled_forecast_value{quantile=upper,scaler=web,signal=rps}":            150,
			"scaled_forecast_model_info{model=hw_add_daily,policy=ahead,scaler=web}": 1,
			"scaled_forecast_backtest_error{measure=mase,policy=ahead,scaler=web}":   0.7,
			"scaled_forecast_backtest_error{measure=smape,policy=ahead,scaler=web}":  0.25,
		},
	}, {
		name: "a refit chose another model: the old one's series goes, MASE not finite is not exported",
		f:    forecastOf(forecast.HarmonicRegression, 80, 70, 95, math.NaN()),
		want: map[string]float64{
			"scaled_forecast_value{quantile=point,scaler=web,signal=rps}":           80,
			"scaled_forecast_value{quantile=lower,scaler=web,signal=rps}":           70,
			"scaled_forecast_value{quantile=upper,scaler=web,signal=rps}":           95,
			"scaled_forecast_model_info{model=harmonic,policy=ahead,scaler=web}":    1,
			"scaled_forecast_backtest_error{measure=smape,policy=ahead,scaler=web}": 0.25,
		},
	}, {
		name: "no forecast: the values go, the chosen model stays",
		f:    policy.PolicyForecast{Policy: "ahead", Report: policy.ForecastReport{Signal: "rps"}},
		want: map[string]float64{
			"scaled_forecast_model_info{model=harmonic,policy=ahead,scaler=web}":    1,
			"scaled_forecast_backtest_error{measure=smape,policy=ahead,scaler=web}": 0.25,
		},
	}}
	for _, s := range steps {
		m.SetForecast("web", s.f)
		if diff := cmp.Diff(s.want, forecastSeries(series(t, reg))); diff != "" {
			t.Errorf("%s: series (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestSetForecastForgetScaler(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetForecast("web", forecastOf(forecast.SeasonalNaiveDaily, 1, 1, 2, 1))
	m.SetForecast("web-canary", forecastOf(forecast.SeasonalNaiveDaily, 3, 2, 4, 1))
	m.ForgetScaler("web")
	got := forecastSeries(series(t, reg))
	if len(got) != 6 {
		t.Errorf("after ForgetScaler(web) %d forecast series, want the 6 of web-canary: %v", len(got), got)
	}
	for k := range got {
		if !containsLabel(k, "scaler=web-canary") {
			t.Errorf("series %s survived ForgetScaler(web)", k)
		}
	}
}

func containsLabel(series, label string) bool {
	for i := 0; i+len(label) <= len(series); i++ {
		if series[i:i+len(label)] == label {
			return true
		}
	}
	return false
}

func TestSetForecastNilMetrics(t *testing.T) {
	var m *Metrics
	m.SetForecast("web", forecastOf(forecast.SeasonalNaiveDaily, 1, 1, 2, 1))
}
