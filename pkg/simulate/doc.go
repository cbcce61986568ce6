// Package simulate is the reference service model of docs/model.md: it turns a
// recorded trace into demand on a tick grid, plays a cluster with a startup
// delay against any decider's requests, and scores the result against the
// oracle. It never reads the clock and never does I/O beyond the writers and
// traces it is handed; the same trace and decisions always give the same score.
package simulate
