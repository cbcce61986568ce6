// Package durfmt writes and reads durations the one way scaled shows them to
// people: Go's syntax, which the config, a Scaler object and every flag
// take, without its zero units (336h, 1h30m, 1m, 15s rather than 336h0m0s,
// 1h30m0s, 1m0s), and reads Prometheus' syntax (14d, 2w) as well.
package durfmt

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Format writes d without its zero units. Below a second it is Go's
// (500ms, 1.5µs).
func Format(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d < 0 {
		if d == time.Duration(-1<<63) { // -d would overflow
			return d.String()
		}
		return "-" + Format(-d)
	}
	if d < time.Second {
		return d.String()
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
		d -= m * time.Minute
	}
	if d > 0 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s")
	}
	return b.String()
}

// D is a duration that prints as Format writes it, for %s and %v.
type D time.Duration

func (d D) String() string { return Format(time.Duration(d)) }

// Parse takes Go's syntax (1h30m, 1.5h, 90s) or Prometheus' (14d, 2w, 1y).
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("%q: must be a duration such as 90s, 15m, 36h or 14d", s)
}

// Args returns args with every time.Duration as a D, so that a format's %s
// or %v writes it as Format does; args itself is left as it is.
func Args(args []any) []any {
	var out []any
	for i, a := range args {
		d, ok := a.(time.Duration)
		if !ok {
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = D(d)
	}
	if out == nil {
		return args
	}
	return out
}
