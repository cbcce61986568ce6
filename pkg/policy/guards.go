package policy

import (
	"math"
	"time"
)

// The guards below transcribe the Kubernetes HPA controller
// (kubernetes/kubernetes pkg/controller/podautoscaler/horizontal.go) with
// `now` handed in instead of read from time.Now. Names in comments are the
// HPA functions each piece follows.

// timedRecommendation is HPA's timestampedRecommendation.
type timedRecommendation struct {
	replicas int32
	at       time.Time
}

// stabilize is HPA stabilizeRecommendationWithBehaviors: the lowest
// recommendation within the scale-up window bounds a rise, the highest
// within the scale-down window bounds a fall, and the current capacity is
// brought within [up, down]. It then records desired, reusing an entry that
// is older than both windows. Windows are strict: an entry exactly one
// window old no longer counts.
func stabilize(recs []timedRecommendation, now time.Time, b *Behavior, current, desired int32) (int32, int32, []timedRecommendation) {
	upCutoff := now.Add(-b.ScaleUp.StabilizationWindow)
	downCutoff := now.Add(-b.ScaleDown.StabilizationWindow)
	up, down := desired, desired
	old := -1
	for i, r := range recs {
		if r.at.After(upCutoff) {
			up = min(up, r.replicas)
		}
		if r.at.After(downCutoff) {
			down = max(down, r.replicas)
		}
		if r.at.Before(upCutoff) && r.at.Before(downCutoff) {
			old = i
		}
	}
	stabilized := current
	if stabilized < up {
		stabilized = up
	}
	if stabilized > down {
		stabilized = down
	}
	if old >= 0 {
		recs[old] = timedRecommendation{desired, now}
	} else {
		recs = append(recs, timedRecommendation{desired, now})
	}
	bound := up
	if desired < current {
		bound = down
	}
	return stabilized, bound, recs
}

// scaleEvent is HPA's timestampedScaleEvent.
type scaleEvent struct {
	change   int32
	at       time.Time
	outdated bool
}

// storeScaleEvent is HPA storeScaleEvent: events older than the direction's
// longest rate-limit period are marked outdated once, and the last outdated
// one is overwritten; otherwise the event is appended.
func storeScaleEvent(events []scaleEvent, now time.Time, rules *Rules, change int32) []scaleEvent {
	cutoff := now.Add(-longestPeriod(rules))
	old := -1
	for i := range events {
		if events[i].at.Before(cutoff) {
			events[i].outdated = true
		}
		if events[i].outdated {
			old = i
		}
	}
	e := scaleEvent{change: change, at: now}
	if old >= 0 {
		events[old] = e
		return events
	}
	return append(events, e)
}

func longestPeriod(rules *Rules) time.Duration {
	var longest time.Duration
	for _, l := range rules.Limits {
		longest = max(longest, l.Period)
	}
	return longest
}

// replicasChangedIn is HPA getReplicasChangePerPeriod: the sum of changes
// strictly after now-period.
func replicasChangedIn(events []scaleEvent, now time.Time, period time.Duration) int64 {
	cutoff := now.Add(-period)
	var n int64
	for _, e := range events {
		if e.at.After(cutoff) {
			n += int64(e.change)
		}
	}
	return n
}

// sat32 is x saturated at the int32 range. The limits' arithmetic runs in
// int64 and float64 and saturates here, so that a capacity near the top of
// the range never wraps around to a negative limit.
func sat32(x int64) int32 {
	return int32(min(max(x, math.MinInt32), math.MaxInt32))
}

// sat32f is x (already rounded) saturated at the int32 range; NaN is 0.
func sat32f(x float64) int32 {
	switch {
	case math.IsNaN(x):
		return 0
	case x >= math.MaxInt32:
		return math.MaxInt32
	case x <= math.MinInt32:
		return math.MinInt32
	}
	return int32(x)
}

// scaleUpLimit is HPA calculateScaleUpLimitWithScalingRules: Percent
// rounds up so that a small target can always grow. With no limits it
// returns MaxInt32.
func scaleUpLimit(current int32, ups, downs []scaleEvent, now time.Time, rules *Rules) int32 {
	return scaleLimit(current, ups, downs, now, rules, rising)
}

// scaleDownLimit is HPA calculateScaleDownLimitWithBehaviors: Percent
// truncates, so a fall is never larger than the rule allows. With no
// limits it returns MinInt32.
func scaleDownLimit(current int32, ups, downs []scaleEvent, now time.Time, rules *Rules) int32 {
	return scaleLimit(current, ups, downs, now, rules, falling)
}

// direction is what tells the scale-up limit from the scale-down one.
type direction struct {
	sign float64 // +1 up, -1 down
	// farther and nearer pick the limit that lets the capacity move more
	// and less.
	farther, nearer func(a, b int32) int32
	// unlimited is the limit of a direction with no rules, farther than
	// any; stopped is nearer than any.
	unlimited, stopped int32
	// round rounds a Percent limit: up when rising, so that a small
	// target can always grow; towards zero when falling.
	round func(float64) float64
}

var (
	rising = direction{sign: 1, farther: func(a, b int32) int32 { return max(a, b) }, nearer: func(a, b int32) int32 { return min(a, b) },
		unlimited: math.MaxInt32, stopped: math.MinInt32, round: math.Ceil}
	falling = direction{sign: -1, farther: func(a, b int32) int32 { return min(a, b) }, nearer: func(a, b int32) int32 { return max(a, b) },
		unlimited: math.MinInt32, stopped: math.MaxInt32, round: math.Trunc}
)

// scaleLimit is the limit the rules set in direction dir. The period's
// starting capacity counts both directions' events; SelectMax (the
// default) takes the limit that lets the capacity move most, SelectMin the
// one that lets it move least.
func scaleLimit(current int32, ups, downs []scaleEvent, now time.Time, rules *Rules, dir direction) int32 {
	if rules.Select == SelectDisabled {
		return current
	}
	if len(rules.Limits) == 0 {
		return dir.unlimited
	}
	pick, result := dir.farther, dir.stopped
	if rules.Select == SelectMin {
		pick, result = dir.nearer, dir.unlimited
	}
	for _, l := range rules.Limits {
		start := int64(current) - replicasChangedIn(ups, now, l.Period) + replicasChangedIn(downs, now, l.Period)
		var proposed int32
		switch l.Type {
		case RatePods:
			proposed = sat32(start + int64(dir.sign)*int64(l.Value))
		case RatePercent:
			proposed = sat32f(dir.round(float64(start) * (1 + dir.sign*float64(l.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

// rateLimit is the rate half of HPA convertDesiredReplicasWithBehaviorRate
// (the bounds half is the bounds guard): a rise stops at the scale-up limit,
// a fall at the scale-down limit, and neither limit ever points the other way
// from current.
func rateLimit(current, desired int32, ups, downs []scaleEvent, now time.Time, b *Behavior) (int32, int32) {
	switch {
	case desired > current:
		limit := max(scaleUpLimit(current, ups, downs, now, &b.ScaleUp), current)
		return min(desired, limit), limit
	case desired < current:
		limit := min(scaleDownLimit(current, ups, downs, now, &b.ScaleDown), current)
		return max(desired, limit), limit
	}
	return desired, current
}
