// Package actuators changes the world: it reads a target's capacity and sets a
// new one. An actuator never decides; a failed read or write is returned, not
// retried forever, and never leaves the daemon in a state that hides it.
package actuators
