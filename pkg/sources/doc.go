// Package sources reads signals from the world: Prometheus-compatible HTTP
// APIs (instant and range queries) and recorded CSV traces for demos and
// backtests. A source reports failures as *scaling.SignalError and never
// invents a value: no data is an error, never a zero.
package sources
