package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// checkHistory fetches, for every predictive policy, the history its
// signal has at now (the same paged range query the loop makes) and says
// how much the policy will find: whether it reaches min_history, and which
// models it can select from. It returns how many fetches failed.
func checkHistory(ctx context.Context, out io.Writer, cfg *config.Config, f engine.Factories, now time.Time) int {
	failed := 0
	for _, sc := range cfg.Scalers {
		r, err := cfg.Resolve(sc)
		if err != nil {
			continue // reported by the validation above
		}
		for _, pol := range r.Decider.Policies {
			p, ok := pol.(*policy.Predictive)
			if !ok {
				continue
			}
			for _, need := range p.HistoryNeeds() {
				if !checkPolicyHistory(ctx, out, f, &r, p, need, now) {
					failed++
				}
			}
		}
	}
	return failed
}

func checkPolicyHistory(ctx context.Context, out io.Writer, f engine.Factories, sc *resolved.Scaler,
	p *policy.Predictive, need policy.HistoryNeed, now time.Time) bool {
	name := sc.Name + "/" + p.Name()
	var sig *resolved.Signal
	for i := range sc.Signals {
		if sc.Signals[i].Name == need.Signal {
			sig = &sc.Signals[i]
		}
	}
	prom := false
	if sig != nil {
		_, prom = sig.Spec.(sources.PrometheusBacked)
	}
	if !prom {
		fmt.Fprintf(out, "  %s: history of %s: not from Prometheus, not checked\n", name, need.Signal)
		return true
	}
	q, err := f.Source(sc, *sig)
	if err != nil {
		fmt.Fprintf(out, "  %s: history of %s: FAILED: %v\n", name, need.Signal, err)
		return false
	}
	// The loop's own fetch: the same pages, the same missing data.
	samples, err := engine.FetchHistory(ctx, q, sig.Expr, need, now)
	if err != nil {
		fmt.Fprintf(out, "  %s: history of %s: FAILED (%s): %v\n", name, need.Signal, scaling.KindOf(err), err)
		return false
	}
	have := policy.HistoryLength(samples)
	plan := p.PlanFor(have)
	missing := samples.Missing()
	fmt.Fprintf(out, "  %s: history of %s: %s of %s at %s (%d points", name, need.Signal,
		durfmt.Format(have), durfmt.Format(need.Window), durfmt.Format(need.Step), samples.Len()-missing)
	if missing > 0 {
		fmt.Fprintf(out, ", %d missing", missing)
	}
	fmt.Fprint(out, "); ")
	// What the loop's first tick does with this history: the policy's own
	// Recommend, so that check says what run will, abstentions included.
	first := p.Recommend(policy.Input{
		Now:      now,
		Capacity: scaling.Capacity{Current: sc.Decider.Bounds.Min, Ready: sc.Decider.Bounds.Min},
		Signals:  map[string]scaling.Reading{need.Signal: firstReading(need.Signal, samples)},
	})
	switch {
	case !first.Abstain:
		fmt.Fprintf(out, "forecasts (min_history %s)", durfmt.Format(plan.MinHistory))
	case !plan.Acts:
		fmt.Fprintf(out, "abstains until it has min_history %s", durfmt.Format(plan.MinHistory))
	default:
		fmt.Fprintf(out, "abstains: %s", first.Reason)
	}
	if len(plan.Usable) > 0 {
		fmt.Fprintf(out, " with %s", strings.Join(plan.Usable, ", "))
	}
	if len(plan.Later) > 0 {
		later := make([]string, len(plan.Later))
		for i, l := range plan.Later {
			later[i] = fmt.Sprintf("%s at %s", l.Model, durfmt.Format(l.Needs))
		}
		fmt.Fprintf(out, "; later %s", strings.Join(later, ", "))
	}
	fmt.Fprintln(out)
	return true
}

// firstReading is the reading the loop hands a predictive policy: the
// signal's value (here its newest point) with its history.
func firstReading(name string, history scaling.History) scaling.Reading {
	r := scaling.Reading{Name: name, History: history}
	if history.Len() > 0 {
		r.Sample = history.At(history.Len() - 1)
	}
	return r
}
