package telemetry

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// consoleText is the most bytes of a reason or an error a console line
// shows; the decisions API keeps the whole text.
const consoleText = 160

// ConsoleDecisions wraps the core of a console logger so that a person
// watching a terminal reads one short line per change instead of every
// decision's fields: "web 3 -> 5: p95: value 0.41 / target 0.25 = ratio
// 1.64 x 3 ready -> 5". A decision that changes nothing is not written,
// unless a signal starts or stops failing; a signal or a guard that starts
// or stops failing or holding is one short line too ("web signal load
// failed (timeout): ..."); every other log entry passes through as it is. The JSON format, the default in a cluster, is not
// wrapped: it keeps every field of every decision.
func ConsoleDecisions(core zapcore.Core) zapcore.Core {
	return &consoleCore{Core: core, root: core, state: &consoleState{failing: map[string]string{}}}
}

type consoleCore struct {
	zapcore.Core
	// root is the core without the fields added by With: a decision's line
	// names its scaler itself.
	root   zapcore.Core
	scaler string
	state  *consoleState
}

// consoleState remembers, per scaler, what was failing at its last
// decision, so that a failure is written when it starts and when it ends.
type consoleState struct {
	mu      sync.Mutex
	failing map[string]string
}

func (c *consoleCore) With(fields []zapcore.Field) zapcore.Core {
	scaler := c.scaler
	for _, f := range fields {
		if f.Key == "scaler" && f.Type == zapcore.StringType {
			scaler = f.String
		}
	}
	return &consoleCore{Core: c.Core.With(fields), root: c.root, scaler: scaler, state: c.state}
}

func (c *consoleCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c *consoleCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	if line, ok := c.changeLine(ent.Message, fields); ok {
		ent.Message = line
		return c.root.Write(ent, nil)
	}
	if ent.Message != "decision" {
		return c.Core.Write(ent, fields)
	}
	d, ok := decisionOf(fields)
	if !ok {
		return c.Core.Write(ent, fields)
	}
	d.Scaler = c.scaler
	line, show := c.state.line(d)
	if !show {
		return nil
	}
	ent.Message = line
	if !d.Time.IsZero() {
		ent.Time = d.Time // the loop's clock: a replay's recorded time
	}
	return c.root.Write(ent, nil)
}

// changeLine is the console line of a signal or a guard that starts or
// stops failing or holding (the loop's change log), and whether ent is one.
func (c *consoleCore) changeLine(msg string, fields []zapcore.Field) (string, bool) {
	str := func(key string) string {
		for _, f := range fields {
			if f.Key == key && f.Type == zapcore.StringType {
				return f.String
			}
		}
		return ""
	}
	num := func(key string) int64 {
		for _, f := range fields {
			if f.Key == key {
				return f.Integer
			}
		}
		return 0
	}
	switch msg {
	case "signal failing":
		return fmt.Sprintf("%s signal %s failed (%s): %s", c.scaler, str("signal"), str("reason"), scaling.Clip(str("error"), consoleText)), true
	case "signal recovered":
		return fmt.Sprintf("%s signal %s reads again", c.scaler, str("signal")), true
	case "guard holding":
		return fmt.Sprintf("%s %s holds %d -> %d: %s", c.scaler, str("guard"), num("from"), num("to"), scaling.Clip(str("reason"), consoleText)), true
	case "guard released":
		return fmt.Sprintf("%s %s released", c.scaler, str("guard")), true
	}
	return "", false
}

// line is the console line of d, and whether it is written: d changes the
// capacity, fails, or starts or stops a signal failure.
func (s *consoleState) line(d scaling.Decision) (string, bool) {
	failing := failingKey(d)
	s.mu.Lock()
	was := s.failing[d.Scaler]
	s.failing[d.Scaler] = failing
	s.mu.Unlock()
	changed := d.Desired != d.Current && d.Outcome != scaling.OutcomeUnchanged
	if !changed && d.Outcome != scaling.OutcomeFailed && failing == was {
		return "", false
	}
	var b strings.Builder
	switch {
	case d.Outcome == scaling.OutcomeFailed:
		fmt.Fprintf(&b, "%s %d -> %d failed: %s", d.Scaler, d.Current, d.Desired, scaling.Clip(d.Error, consoleText))
	case changed:
		fmt.Fprintf(&b, "%s %d -> %d", d.Scaler, d.Current, d.Desired)
		if d.Outcome == scaling.OutcomeDryRun {
			b.WriteString(" (dry run)")
		}
		writeReasons(&b, d)
	default:
		fmt.Fprintf(&b, "%s holds %d", d.Scaler, d.Current)
	}
	switch {
	case failing != "":
		for _, sig := range d.Signals {
			if sig.Failed != "" {
				fmt.Fprintf(&b, "; signal %s failed (%s): %s", sig.Name, sig.Failed, scaling.Clip(sig.Error, consoleText))
			}
		}
	case was != "":
		b.WriteString("; every signal reads again")
	}
	return b.String(), true
}

// writeReasons appends the winning policy's reason and every guard's.
func writeReasons(b *strings.Builder, d scaling.Decision) {
	sep := ": "
	for _, r := range d.Recommendations {
		if r.Policy == d.Winner && !r.Abstain {
			fmt.Fprintf(b, "%s%s: %s", sep, r.Policy, scaling.Clip(r.Reason, consoleText))
			sep = "; "
		}
	}
	for _, a := range d.Adjustments {
		fmt.Fprintf(b, "%s%s", sep, scaling.Clip(a.Reason, consoleText))
		sep = "; "
	}
}

// failingKey names the failing signals and their kinds, "" when none fails.
func failingKey(d scaling.Decision) string {
	var parts []string
	for _, sig := range d.Signals {
		if sig.Failed != "" {
			parts = append(parts, sig.Name+"="+string(sig.Failed))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// decisionOf reads back the decision the loop logs as fields; false when
// the fields are not a decision's.
func decisionOf(fields []zapcore.Field) (scaling.Decision, bool) {
	var d scaling.Decision
	seen := 0
	for _, f := range fields {
		switch f.Key {
		case "time":
			if f.Type == zapcore.TimeType {
				d.Time = time.Unix(0, f.Integer)
				if loc, ok := f.Interface.(*time.Location); ok {
					d.Time = d.Time.In(loc)
				}
			} else if t, ok := f.Interface.(time.Time); ok {
				d.Time = t
			}
		case "signals":
			d.Signals, _ = f.Interface.([]scaling.SignalValue)
		case "recommendations":
			d.Recommendations, _ = f.Interface.([]scaling.Recommendation)
		case "adjustments":
			d.Adjustments, _ = f.Interface.([]scaling.Adjustment)
		case "winner":
			d.Winner = f.String
		case "current":
			d.Current, seen = int32(f.Integer), seen+1
		case "desired":
			d.Desired, seen = int32(f.Integer), seen+1
		case "ready":
			d.Ready = int32(f.Integer)
		case "recommended":
			d.Recommended = int32(f.Integer)
		case "direction":
			d.Direction = scaling.Direction(f.String)
		case "outcome":
			d.Outcome, seen = scaling.Outcome(f.String), seen+1
		case "dry_run":
			d.DryRun = f.Integer == 1
		case "error":
			d.Error = f.String
		}
	}
	return d, seen == 3
}
