// Package telemetry is how scaled shows itself: its own scaled_* metrics, a
// short in-memory history of decisions per scaler, and the HTTP server that
// serves /metrics, /healthz, /readyz and /api/v1/decisions. It never decides,
// reads signals or changes a target, and never registers on the global
// Prometheus registry.
package telemetry
