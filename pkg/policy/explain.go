package policy

import (
	"fmt"
	"strings"

	"github.com/scaled-dev/scaled/internal/durfmt"
)

// The reasons the Decider gives, one per guard that changed the number.
// They are read by people (the decision API, Events, logs) and kept in
// golden timelines: change the wording only on purpose.

func outsideBoundsReason(b tickBounds, cur, to int32) string {
	if s := b.setter(to); s != "" {
		return fmt.Sprintf("current %d outside bounds [%d, %d] of schedule %s: set to %d", cur, b.Min, b.Max, s, to)
	}
	return fmt.Sprintf("current %d outside bounds [%d, %d]: set to %d", cur, b.Min, b.Max, to)
}

func cappedReason(b tickBounds, to int32) string {
	if s := b.setter(to); s != "" {
		return fmt.Sprintf("capped at max %d of schedule %s", to, s)
	}
	return fmt.Sprintf("capped at max %d", to)
}

func raisedReason(b tickBounds, to int32) string {
	if s := b.setter(to); s != "" {
		return fmt.Sprintf("raised to min %d of schedule %s", to, s)
	}
	return fmt.Sprintf("raised to min %d", to)
}

// failureReason says which signal failed (the first, and how many more) or
// that every policy abstained, and what the rule did.
func failureReason(failed string, n int, spoke bool, of OnFailure, cur, floor int32) string {
	var b strings.Builder
	switch {
	case n == 1:
		b.WriteString("signal " + failed + " failed")
	case n > 1:
		fmt.Fprintf(&b, "signal %s and %d more failed", failed, n-1)
	default:
		b.WriteString("every policy abstained")
	}
	if spoke && n > 0 {
		b.WriteString(": no scale-down")
	}
	if of.Mode == FailureFallback && floor > cur {
		fmt.Fprintf(&b, "; fallback to %d", floor)
	} else {
		fmt.Fprintf(&b, "; hold at current %d", cur)
	}
	return b.String()
}

// stabilizationReason names the window and the bound it kept; to differs
// from bound when current itself was kept.
func stabilizationReason(b *Behavior, cur, desired, to, bound int32) string {
	var reason string
	if desired >= cur {
		reason = fmt.Sprintf("scale-up stabilised: min over %s = %d", durfmt.D(b.ScaleUp.StabilizationWindow), bound)
	} else {
		reason = fmt.Sprintf("scale-down stabilised: max over %s = %d", durfmt.D(b.ScaleDown.StabilizationWindow), bound)
	}
	if to != bound {
		reason += fmt.Sprintf(", kept at current %d", cur)
	}
	return reason
}

func rateLimitReason(b *Behavior, cur, desired, limit int32) string {
	if desired > cur {
		return fmt.Sprintf("scale-up rate limit: at most %d (%s)", limit, describeRules(&b.ScaleUp))
	}
	return fmt.Sprintf("scale-down rate limit: at least %d (%s)", limit, describeRules(&b.ScaleDown))
}

func describeRules(r *Rules) string {
	if r.Select == SelectDisabled {
		return "scaling disabled in this direction"
	}
	var b strings.Builder
	b.WriteString("select ")
	b.WriteString(string(r.Select))
	for i, l := range r.Limits {
		if i == 0 {
			b.WriteString(" of ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d per %s", l.Type, l.Value, durfmt.D(l.Period))
	}
	return b.String()
}
