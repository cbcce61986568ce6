//go:build !race

package actuators_test

const raceDetector = false
