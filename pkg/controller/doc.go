// Package controller runs the Scaler objects of the Kubernetes API: it
// watches them with a shared informer, starts, rebuilds or stops each one's
// scaler through the engine's manager, and writes what was decided back to
// each object's status and Events, rate limited. It never acts on a target
// itself, and never runs a spec it found invalid.
package controller
