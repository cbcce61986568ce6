// Package engine is the decision loop: one goroutine per scaler that reads the
// target, evaluates the signals, asks pkg/policy for a decision, acts on it
// (or only reports it in dry run) and records it. It owns time and I/O so that
// the policies do not; it never decides anything itself.
package engine
