// Package engine is the decision loop: each scaler's ticks, one at a time on
// a timer of its own (no goroutine while it waits), read the target, evaluate
// the signals, ask pkg/policy for a decision, act on it (or only report it in
// dry run) and record it. It owns time and I/O so that the policies do not; it
// never decides anything itself.
package engine
