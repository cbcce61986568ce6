package config

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// inherited is what every scaler takes from the file's global keys.
type inherited struct {
	interval     time.Duration
	dryRun       bool
	prometheus   Prometheus
	aws          AWS
	recordedTime bool
}

func (c *Config) inherited() inherited {
	return inherited{interval: c.Interval, dryRun: c.DryRun, prometheus: c.Prometheus, aws: c.AWS.Resolved(c.Interval),
		recordedTime: c.ReplaySpeed() != 1}
}

// ResolveOption changes how Resolve works a scaler out.
type ResolveOption func(*resolveOptions)

type resolveOptions struct {
	targetStartup *time.Duration
}

// WithTargetStartupDelay says the scaler runs against a target that takes
// d to serve (a simulated one), whatever its kind's own delay: a scaler
// without a startup_delay of its own plans for d.
func WithTargetStartupDelay(d time.Duration) ResolveOption {
	return func(o *resolveOptions) { o.targetStartup = &d }
}

// Resolve is s, a valid scaler, as it runs beside c's scalers: its own
// keys and those it inherits from c applied, its decider's spec built.
func (c *Config) Resolve(s Scaler, opts ...ResolveOption) (resolved.Scaler, error) {
	var o resolveOptions
	for _, opt := range opts {
		opt(&o)
	}
	r, errs := c.inherited().resolve(&s, nil, o)
	if len(errs) > 0 {
		return resolved.Scaler{}, fmt.Errorf("%s: %w", s.Name, Problems(errs))
	}
	return r, nil
}

// Resolved is every scaler of c, a valid config, resolved, and the rule by
// which a scaler from elsewhere (a Scaler object's) takes c's global keys.
func (c *Config) Resolved() (resolved.Config, error) {
	g := c.inherited()
	out := resolved.Config{
		Scalers: make([]resolved.Scaler, 0, len(c.Scalers)),
		Rebase: func(r resolved.Scaler) (resolved.Scaler, error) {
			s, ok := r.Declared.(Scaler)
			if !ok {
				return resolved.Scaler{}, fmt.Errorf("%s: not resolved from a config's scaler", r.Name)
			}
			r, errs := g.resolve(&s, nil, resolveOptions{})
			if len(errs) > 0 {
				return resolved.Scaler{}, Problems(errs)
			}
			return r, nil
		},
	}
	var errs []error
	for i := range c.Scalers {
		r, rerrs := g.resolve(&c.Scalers[i], nil, resolveOptions{})
		if len(rerrs) > 0 {
			errs = append(errs, fmt.Errorf("scalers[%d] (%s): %w", i, c.Scalers[i].Name, Problems(rerrs)))
			continue
		}
		out.Scalers = append(out.Scalers, r)
	}
	return out, errors.Join(errs...)
}

// resolve is the one place where a scaler's settings are worked out: its
// tick, its startup delay, dry run, the query timeout and Prometheus it
// inherits, its decider's spec, and the fingerprints a reload compares.
// Problems of the decider's spec are reported under path.
func (g inherited) resolve(s *Scaler, path *field.Path, o resolveOptions) (resolved.Scaler, field.ErrorList) {
	sc := *s // the decider is built again from this copy
	interval := sc.Interval
	if interval <= 0 {
		interval = g.interval
	}
	startup := sc.StartupDelay
	if startup == 0 {
		if o.targetStartup != nil {
			startup = *o.targetStartup
		} else if k, ok := sc.Target.Spec.(actuators.StartupDelayer); ok {
			startup = k.StartupDelay()
		}
	}
	timeout := g.prometheus.QueryTimeout
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	r := resolved.Scaler{
		Name:         sc.Name,
		Interval:     interval,
		StartupDelay: startup,
		DryRun:       g.dryRunOf(&sc),
		QueryTimeout: timeout,
		Prometheus:   g.prometheus,
		AWS:          g.aws,
		RecordedTime: g.recordedTime,
		Target:       resolved.Target{Kind: sc.Target.Kind, Spec: sc.Target.Spec},
		Signals:      make([]resolved.Signal, len(sc.Signals)),
		Parts: resolved.Parts{
			Policy:  resolved.FingerprintOf(sc.DecisionSpec, interval, startup),
			Target:  resolved.FingerprintOf(sc.Target),
			Sources: resolved.FingerprintOf(sc.Signals, g.prometheus),
		},
		Declared: sc,
	}
	for i, sig := range sc.Signals {
		r.Signals[i] = resolved.Signal{Name: sig.Name, Expr: sig.Expr(), MaxAge: sig.MaxAge, ValidRange: sig.Range(),
			Kind: sig.Source.Kind, Spec: sig.Source.Spec}
	}
	return r.WithDecider(func() (policy.Spec, field.ErrorList) { return sc.deciderSpec(startup, path) })
}

// dryRunOf reports whether s only logs and exports. The global dry_run
// cannot be undone by a scaler; a scaler can only add its own.
func (g inherited) dryRunOf(s *Scaler) bool {
	return g.dryRun || (s.DryRun != nil && *s.DryRun)
}

// ReplaySpeed is the speed shared by the recordings when every signal of
// every scaler plays one (sources.Recording), and 1 otherwise (live
// sources run in real time).
func (c *Config) ReplaySpeed() float64 {
	speed := 0.0
	for _, sc := range c.Scalers {
		for _, sig := range sc.Signals {
			r, ok := sig.Source.Spec.(sources.Recording)
			if !ok {
				return 1
			}
			speed = r.PlaybackSpeed()
		}
	}
	if speed == 0 {
		return 1
	}
	return speed
}
