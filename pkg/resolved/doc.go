// Package resolved is a scaler as it runs: every default and every global
// key it inherits applied once, by config.Config.Resolve, into one value
// that the engine, the controller, the simulator and the factories read.
// Nothing here looks a setting up again or falls back to a default.
package resolved
