package config

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// DefaultDecisionHistoryMiB bounds the decisions kept for the HTTP API over
// all scalers: 1,000 scalers keep their 100 decisions each (about 28 KB a
// scaler), 10,000 keep about 24 each.
const DefaultDecisionHistoryMiB = 64

// MaxDecisionHistoryMiB is the largest decision_history_mib.
const MaxDecisionHistoryMiB = 1 << 16

// DecisionHistoryBytes is the bound on the bytes of kept decisions.
func (c *Config) DecisionHistoryBytes() int64 {
	mib := c.DecisionHistoryMiB
	if mib == 0 {
		mib = DefaultDecisionHistoryMiB
	}
	return int64(mib) << 20
}

func validateFleet(c *Config) field.ErrorList {
	var errs field.ErrorList
	if c.DecisionHistoryMiB < 0 || c.DecisionHistoryMiB > MaxDecisionHistoryMiB {
		errs = append(errs, fielderr.Invalid(field.NewPath("decision_history_mib"), c.DecisionHistoryMiB,
			"must be in 0..%d (0: %d)", MaxDecisionHistoryMiB, DefaultDecisionHistoryMiB))
	}
	return errs
}

// Metrics selects the self-metrics that cost a fleet most: each multiplies
// the series on /metrics by the number of scalers (telemetry.MetricsOptions).
// It takes effect at start.
type Metrics struct {
	// PerScalerHistograms labels the query, tick and actuation duration
	// histograms with the scaler; by default each is one for the process.
	PerScalerHistograms bool `json:"per_scaler_histograms,omitempty"`
	// PolicySeries exports each policy's recommendation and a PID's state.
	PolicySeries bool `json:"policy_series,omitempty"`
}

func init() {
	globalKeys = append(globalKeys,
		globalKey{"decision_history_mib", "decision-history-mib", "MiB of decisions kept for the HTTP API over all scalers (0: 64)",
			func(c *Config) any { return &c.DecisionHistoryMiB }},
		globalKey{"metrics.per_scaler_histograms", "metrics.per-scaler-histograms", "label the duration histograms with the scaler (15 series per scaler each)",
			func(c *Config) any { return &c.Metrics.PerScalerHistograms }},
		globalKey{"metrics.policy_series", "metrics.policy-series", "export each policy's recommendation and state (a series per policy)",
			func(c *Config) any { return &c.Metrics.PolicySeries }},
	)
}
