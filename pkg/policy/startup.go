package policy

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/internal/fielderr"
)

// StartupHold is the guard that knows capacity asked for now serves only
// Delay later. A scale-down below the highest recommendation of the last
// Windows x Delay would remove capacity the load needed that recently, and
// taking it back would leave the load short for Delay: so a fall stops at
// that recommendation, as the scale-down stabilisation window stops it at
// the highest of its own span. Windows 0 (or an unknown Delay, 0) turns it
// off.
type StartupHold struct {
	// Delay is the scaler's startup delay (its own, else its target
	// kind's; 0: unknown).
	Delay time.Duration
	// Windows is behavior.scale_down.startup_hold: how many startup delays
	// the guard looks back over.
	Windows float64
}

// MaxStartupHold bounds StartupHold.Windows.
const MaxStartupHold = 10

// MaxStartupDelay bounds a scaler's startup delay: capacity that takes
// longer than this to serve is planned by schedules, not by a forecast.
const MaxStartupDelay = time.Hour

// Window is the span the guard looks back over.
func (h StartupHold) Window() time.Duration {
	if h.Delay <= 0 || !(h.Windows > 0) {
		return 0
	}
	return time.Duration(h.Windows * float64(h.Delay))
}

// validate checks the hold under path (the scaler's).
func (h StartupHold) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Delay < 0 || h.Delay > MaxStartupDelay {
		errs = append(errs, fielderr.Invalid(path.Child("startup_delay"), h.Delay, "must be in 0s..%s (0: the target kind's)", MaxStartupDelay))
	}
	if !(h.Windows >= 0) || h.Windows > MaxStartupHold {
		errs = append(errs, fielderr.Invalid(path.Child("behavior", "scale_down", "startup_hold"), h.Windows, "must be in 0..%d startup delays", MaxStartupHold))
	}
	return errs
}

// startupMax keeps the highest recommendation of a sliding window as a
// queue of decreasing values: each entry is the highest from its time on,
// so the front is the window's highest and the queue stays short.
type startupMax struct {
	q []timedRecommendation
}

// record adds a recommendation made at now.
func (m *startupMax) record(now time.Time, replicas int32) {
	for len(m.q) > 0 && m.q[len(m.q)-1].replicas <= replicas {
		m.q = m.q[:len(m.q)-1]
	}
	m.q = append(m.q, timedRecommendation{replicas, now})
}

// highest is the highest recommendation recorded after now-window; ok is
// false when there is none.
func (m *startupMax) highest(now time.Time, window time.Duration) (int32, bool) {
	cutoff := now.Add(-window)
	drop := 0
	for drop < len(m.q) && !m.q[drop].at.After(cutoff) {
		drop++
	}
	m.q = append(m.q[:0], m.q[drop:]...)
	if len(m.q) == 0 {
		return 0, false
	}
	return m.q[0].replicas, true
}

// startupHold records the tick's recommendation and returns the capacity
// a fall from cur to desired may reach, with the reason when the guard is
// what stops it.
func (d *Decider) startupHold(now time.Time, recommended, cur, desired int32) (int32, string) {
	w := d.spec.Startup.Window()
	if w <= 0 {
		return desired, ""
	}
	d.startup.record(now, recommended)
	top, ok := d.startup.highest(now, w)
	if !ok || desired >= cur || top <= desired {
		return desired, ""
	}
	return min(cur, top), fmt.Sprintf("scale-down held for the startup delay: max over %s (%g x startup delay %s) = %d",
		durfmt.D(w), d.spec.Startup.Windows, durfmt.D(d.spec.Startup.Delay), top)
}
