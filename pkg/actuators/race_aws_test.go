//go:build race

package actuators_test

// Under the race detector a tick costs about ten times more: the chaos runs
// shorter, to check that nothing races, not how deep the chaos goes.
const raceDetector = true
