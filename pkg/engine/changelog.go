package engine

import (
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// changeLog decides which of a scaler's decisions the log shows at info or
// warn: those that change something a person acts on. A fleet of 10,000
// scalers ticking every 15 s makes 40,000 decisions a minute, nearly all
// "unchanged"; logging each would write tens of megabytes a minute. Every
// decision is still kept for the decisions API and counted in the metrics,
// and the others are logged at debug.
//
// A decision is logged when:
//   - it is the scaler's first (its starting point);
//   - it changes the capacity (applied), or, in dry run, it would change it
//     to a number other than the last logged one;
//   - it fails, with an error other than the last one, or stops failing;
//   - a signal starts failing, fails for another reason, or recovers;
//   - a guard starts or stops changing the number.
type changeLog struct {
	started bool
	desired int32 // of the last decision that was logged as a change
	failed  bool
	err     string
	// signals failing at the last tick, by name, and their kinds; guards
	// that changed the number at the last tick. Both are tiny: a scaler has
	// a few signals and guards.
	failing []signalFailure
	holding []string
}

type signalFailure struct {
	name string
	kind scaling.FailureKind
}

// observe compares d with the scaler's previous decision, logs what
// changed, and remembers d.
func (c *changeLog) observe(log *zap.Logger, d *scaling.Decision) {
	changed := !c.started
	level := zapcore.InfoLevel
	switch {
	case d.Outcome == scaling.OutcomeFailed:
		level = zapcore.WarnLevel
		changed = changed || !c.failed || d.Error != c.err
	case c.failed:
		changed = true // it stopped failing
	}
	switch d.Outcome {
	case scaling.OutcomeApplied:
		changed = true
	case scaling.OutcomeDryRun:
		changed = changed || d.Desired != c.desired
	}
	if changed {
		c.desired = d.Desired
	}
	c.started = true
	c.failed = d.Outcome == scaling.OutcomeFailed
	c.err = d.Error

	// A decision that failed before it decided (the target could not be
	// read) says nothing about signals and guards.
	if d.Outcome != scaling.OutcomeFailed || len(d.Signals) > 0 || len(d.Recommendations) > 0 {
		c.signals(log, d.Signals)
		c.guards(log, d.Adjustments)
	}

	if !changed {
		level = zapcore.DebugLevel
	}
	if ce := log.Check(level, "decision"); ce != nil {
		ce.Write(
			zap.Time("time", d.Time),
			zap.Any("signals", d.Signals),
			zap.Any("recommendations", d.Recommendations),
			zap.String("winner", d.Winner),
			zap.Int32("recommended", d.Recommended),
			zap.Any("adjustments", d.Adjustments),
			zap.Int32("current", d.Current),
			zap.Int32("ready", d.Ready),
			zap.Int32("desired", d.Desired),
			zap.String("direction", string(d.Direction)),
			zap.String("outcome", string(d.Outcome)),
			zap.Bool("dry_run", d.DryRun),
			zap.String("error", d.Error),
		)
	}
}

// signals logs each signal that starts failing, fails for another reason,
// or recovers.
func (c *changeLog) signals(log *zap.Logger, sigs []scaling.SignalValue) {
	var now []signalFailure
	for i := range sigs {
		s := &sigs[i]
		if s.Failed == "" && s.Error == "" {
			continue
		}
		kind := s.Failed
		if kind == "" {
			kind = scaling.FailureQuery
		}
		now = append(now, signalFailure{s.Name, kind})
		if !slices.Contains(c.failing, signalFailure{s.Name, kind}) {
			log.Warn("signal failing", zap.String("signal", s.Name), zap.String("reason", string(kind)), zap.String("error", s.Error))
		}
	}
	for _, was := range c.failing {
		if !slices.ContainsFunc(now, func(f signalFailure) bool { return f.name == was.name }) &&
			slices.ContainsFunc(sigs, func(s scaling.SignalValue) bool { return s.Name == was.name }) {
			log.Info("signal recovered", zap.String("signal", was.name), zap.String("was", string(was.kind)))
		}
	}
	if len(now) > 0 || len(c.failing) > 0 {
		c.failing = now
	}
}

// guards logs each guard that starts or stops changing the number.
func (c *changeLog) guards(log *zap.Logger, adj []scaling.Adjustment) {
	// A routine guard (policy.Guard.Routine) starts and stops holding tick
	// after tick under a falling load: its transitions are logged at debug.
	level := func(guard string) zapcore.Level {
		if g, _ := policy.GuardNamed(guard); g.Routine {
			return zapcore.DebugLevel
		}
		return zapcore.InfoLevel
	}
	var now []string
	for i := range adj {
		a := &adj[i]
		if slices.Contains(now, a.Guard) {
			continue
		}
		now = append(now, a.Guard)
		if !slices.Contains(c.holding, a.Guard) {
			log.Log(level(a.Guard), "guard holding", zap.String("guard", a.Guard), zap.Int32("from", a.From), zap.Int32("to", a.To), zap.String("reason", a.Reason))
		}
	}
	for _, g := range c.holding {
		if !slices.Contains(now, g) {
			log.Log(level(g), "guard released", zap.String("guard", g))
		}
	}
	if len(now) > 0 || len(c.holding) > 0 {
		c.holding = now
	}
}

// StormMessages are the log messages of changes that one cause can bring
// to thousands of scalers at once (telemetry.StormSampler samples them);
// a capacity change ("decision") is not among them.
var StormMessages = []string{"signal failing", "signal recovered", "guard holding", "guard released", "ticks missed"}
