package engine

import (
	"time"

	"k8s.io/utils/clock"
)

// FastClock is a clock.Clock on which time passes speed times faster than on
// the wall, starting at origin. It lets the real loop replay a recorded trace
// in minutes (every interval, window and period stays in trace time); it is
// never used against a live source.
type FastClock struct {
	wall      clock.WithDelayedExecution
	wallStart time.Time
	origin    time.Time
	speed     float64
}

var _ clock.WithDelayedExecution = (*FastClock)(nil)

// NewFastClock returns a clock that reads origin now and runs speed times faster than wall.
func NewFastClock(wall clock.WithDelayedExecution, origin time.Time, speed float64) *FastClock {
	return &FastClock{wall: wall, wallStart: wall.Now(), origin: origin, speed: speed}
}

func (c *FastClock) wallDur(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

func (c *FastClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(c.wall.Since(c.wallStart)) * c.speed))
}
func (c *FastClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *FastClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }
func (c *FastClock) After(d time.Duration) <-chan time.Time {
	return c.NewTimer(d).C()
}
func (c *FastClock) NewTimer(d time.Duration) clock.Timer {
	return &fastTimer{Timer: c.wall.NewTimer(c.wallDur(d)), c: c}
}
func (c *FastClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return &fastTimer{Timer: c.wall.AfterFunc(c.wallDur(d), f), c: c}
}
func (c *FastClock) Sleep(d time.Duration) { c.wall.Sleep(c.wallDur(d)) }
func (c *FastClock) Tick(d time.Duration) <-chan time.Time {
	return c.wall.Tick(c.wallDur(d))
}

// fastTimer rescales Reset; the times it delivers are wall times, which the
// loop does not read (it reads Now).
type fastTimer struct {
	clock.Timer
	c *FastClock
}

func (t *fastTimer) Reset(d time.Duration) bool { return t.Timer.Reset(t.c.wallDur(d)) }
