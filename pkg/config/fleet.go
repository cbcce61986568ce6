package config

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
		globalKey{"metrics.per_scaler_histograms", "metrics.per-scaler-histograms", "label the duration histograms with the scaler (15 series per scaler each)",
			func(c *Config) any { return &c.Metrics.PerScalerHistograms }},
		globalKey{"metrics.policy_series", "metrics.policy-series", "export each policy's recommendation and state (a series per policy)",
			func(c *Config) any { return &c.Metrics.PolicySeries }},
	)
}
