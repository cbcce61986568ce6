package policy

import (
	"fmt"
	"time"
)

// GuardStartup marks a scale-down held back because capacity removed now
// would take the startup delay to come back.
const GuardStartup = "startup"

// StartupHold is the guard that knows capacity asked for now serves only
// Delay later. A scale-down below the highest recommendation of the last
// Windows x Delay would remove capacity the load needed that recently, and
// taking it back would leave the load short for Delay: so a fall stops at
// that recommendation, as the scale-down stabilisation window stops it at
// the highest of its own span. Windows 0 (or an unknown Delay) turns it off.
type StartupHold struct {
	Delay   time.Duration
	Windows float64
}

// Window is the span the guard looks back over.
func (h StartupHold) Window() time.Duration {
	if h.Delay <= 0 || !(h.Windows > 0) {
		return 0
	}
	return time.Duration(h.Windows * float64(h.Delay))
}

func (h StartupHold) validate(bad func(field string, value any, allowed string)) {
	if h.Delay < 0 {
		bad("startup_delay", h.Delay, "must be >= 0")
	}
	if !(h.Windows >= 0) || h.Windows > MaxStartupHold {
		bad("behavior.scale_down.startup_hold", h.Windows, fmt.Sprintf("must be in 0..%d startup delays", MaxStartupHold))
	}
}

// MaxStartupHold bounds StartupHold.Windows.
const MaxStartupHold = 10

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

// holdForStartup records the tick's recommendation and returns the
// capacity a fall from cur to desired may reach, with the reason when the
// guard is what stops it.
func (d *Decider) holdForStartup(now time.Time, recommended, cur, desired int32) (int32, string) {
	w := d.spec.Startup.Window()
	if w <= 0 {
		return desired, ""
	}
	d.startup.record(now, recommended)
	top, ok := d.startup.highest(now, w)
	if !ok || desired >= cur || top <= desired {
		return desired, ""
	}
	to := min(cur, top)
	return to, fmt.Sprintf("scale-down held for the startup delay: max over %s (%g x startup delay %s) = %d", w, d.spec.Startup.Windows, d.spec.Startup.Delay, top)
}
