package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// A change within the Scaler's interval of the last write waits for it.
func TestAtMostOneWritePerInterval(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "web", 1, validSpec))
	f.sync(t, "shop/web")
	f.c.Add(decision("shop/web", 2, 5, scaling.OutcomeApplied, f.clock.Now()))
	if f.writeStatus(t, "shop/web") == nil {
		t.Fatal("first write")
	}
	f.clock.Step(time.Second)
	f.c.Add(decision("shop/web", 5, 7, scaling.OutcomeApplied, f.clock.Now()))
	if s := f.writeStatus(t, "shop/web"); s != nil {
		t.Fatalf("written again 1s later: %+v", s)
	}
	f.clock.Step(14 * time.Second)
	if s := f.writeStatus(t, "shop/web"); s == nil || *s.Desired != 7 {
		t.Errorf("after the interval = %+v, want desired 7", s)
	}
}

// Failed signals, limits and a missing target show in the conditions.
func TestConditions(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "web", 1, validSpec))
	f.sync(t, "shop/web")
	d := decision("shop/web", 20, 20, scaling.OutcomeUnchanged, f.clock.Now())
	d.Signals = []scaling.SignalValue{{Name: "rps", Failed: scaling.FailureEmpty, Error: "empty: no sample"}}
	d.Adjustments = []scaling.Adjustment{{Guard: "bounds", From: 30, To: 20, Reason: "held at bounds.max 20"}}
	f.c.Add(d)
	s := f.writeStatus(t, "shop/web")
	for typ, w := range map[string]string{
		"Limited":       "True Bounds: held at bounds.max 20",
		"SignalFailing": "True Empty: rps: empty: no sample (a failed signal never scales in)",
	} {
		if got := condition(s, typ); got != w {
			t.Errorf("%s = %q, want %q", typ, got, w)
		}
	}
	if diff := cmp.Diff([]v1alpha1.SignalStatus{{Name: "rps", Failed: "empty"}}, s.Signals); diff != "" {
		t.Errorf("signals (-want +got):\n%s", diff)
	}

	f.clock.Step(time.Minute)
	f.c.TargetObserver("shop/web").ObserveTarget(actuators.OpRead, time.Millisecond, actuators.KubeNotFound)
	f.c.Add(scaling.Decision{Scaler: "shop/web", Time: f.clock.Now(), Outcome: scaling.OutcomeFailed,
		Error: "read target: read scale: Deployment shop/web not found"})
	s = f.writeStatus(t, "shop/web")
	if got := condition(s, "Ready"); got != "False TargetNotFound: read target: read scale: Deployment shop/web not found" {
		t.Errorf("Ready = %s", got)
	}
	if *s.Current != 20 {
		t.Errorf("current = %d, want the last known 20 kept while the target cannot be read", *s.Current)
	}
}

// A decision the target's pause held makes the Scaler inactive, saying why.
func TestPausedTargetIsNotActive(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "web", 1, validSpec))
	f.sync(t, "shop/web")
	d := decision("shop/web", 0, 0, scaling.OutcomeUnchanged, f.clock.Now())
	d.Adjustments = []scaling.Adjustment{{Guard: "paused", From: 3, To: 0, Reason: "paused: the target has 0 replicas while bounds.min is 1"}}
	f.c.Add(d)
	s := f.writeStatus(t, "shop/web")
	if got, want := condition(s, "Active"), "False Paused: paused: the target has 0 replicas while bounds.min is 1"; got != want {
		t.Errorf("Active = %q, want %q", got, want)
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{"rate_limit": "RateLimit", "bounds": "Bounds", "query_error": "QueryError", "target_limit": "TargetLimit"} {
		if got := camel(in); got != want {
			t.Errorf("camel(%s) = %s, want %s", in, got, want)
		}
	}
	// A limiting guard's condition reason is its name as camel writes it.
	for _, g := range policy.Guards {
		if g.Limiting && g.Condition != camel(g.Name) {
			t.Errorf("guard %s sets Limited with reason %s, want %s", g.Name, g.Condition, camel(g.Name))
		}
	}
}

// The refresh period is status_refresh until the Scalers written for need
// more than half of status_qps at that period; then it is as long as they
// need to fit.
func TestRefreshPeriodFitsHalfOfStatusQPS(t *testing.T) {
	for _, c := range []struct {
		scalers int
		qps     float64
		refresh time.Duration
		want    time.Duration
	}{
		{scalers: 0, qps: 20, refresh: 5 * time.Minute, want: 5 * time.Minute},
		{scalers: 1000, qps: 20, refresh: 5 * time.Minute, want: 5 * time.Minute},
		{scalers: 3000, qps: 20, refresh: 5 * time.Minute, want: 5 * time.Minute},
		{scalers: 3001, qps: 20, refresh: 5 * time.Minute, want: 300 * time.Second}, // 300.1 s, rounded
		{scalers: 10000, qps: 20, refresh: 5 * time.Minute, want: 1000 * time.Second},
		{scalers: 10000, qps: 40, refresh: 5 * time.Minute, want: 500 * time.Second},
		{scalers: 1000, qps: 10, refresh: time.Minute, want: 200 * time.Second},
	} {
		rules := config.DefaultScalerObjects()
		rules.StatusQPS, rules.StatusRefresh = c.qps, c.refresh
		w := &statusWriter{rules: rules, acting: c.scalers}
		if got := w.refreshPeriod(); got != c.want {
			t.Errorf("%d Scalers, status_qps %g, status_refresh %s: period %s, want %s", c.scalers, c.qps, c.refresh, got, c.want)
		}
	}
}

// A fleet whose statuses were all written within the same few seconds
// (created at once, or a replica taking a shard over), every Scaler
// deciding every 15 s and never changing what its status shows: its
// refreshes come spread over the period, within half of status_qps (and a
// margin for an uneven spread) in every minute, and each status is
// refreshed at least once per period and one interval. Refreshed a fixed
// status_refresh after their last write, as they once were, the Scalers
// would all come due within the same interval, every period; spread by
// FNV-1a alone, names that differ only in their last digits would come
// due in clumps.
func TestRefreshesOfAFleetStaySpreadUnderTheBudget(t *testing.T) {
	for _, c := range []struct {
		scalers int
		qps     float64
		refresh time.Duration
	}{
		{scalers: 10000, qps: config.DefaultStatusQPS, refresh: config.DefaultStatusRefresh},
		{scalers: 1000, qps: 10, refresh: time.Minute},
	} {
		t.Run(fmt.Sprint(c.scalers), func(t *testing.T) {
			rules := config.DefaultScalerObjects()
			rules.StatusQPS, rules.StatusRefresh = c.qps, c.refresh
			simulateRefreshes(t, &statusWriter{rules: rules, acting: c.scalers}, c.scalers)
		})
	}
}

func simulateRefreshes(t *testing.T, w *statusWriter, scalers int) {
	const interval = 15 * time.Second
	period := w.refreshPeriod()
	keys := make([]string, scalers)
	last := make([]time.Time, scalers)
	for i := range keys {
		keys[i] = fmt.Sprintf("fleet/s-%05d", i)
		last[i] = t0.Add(time.Duration(i) * 10 * time.Second / time.Duration(scalers)) // all written within 10 s
	}
	span := int(3 * period / time.Second)
	perSecond := make([]int, span)
	maxGap := time.Duration(0)
	// Each Scaler decides at its own second of the interval.
	for s := range span {
		now := t0.Add(time.Duration(s) * time.Second)
		for i := s % int(interval/time.Second); i < scalers; i += int(interval / time.Second) {
			if refreshDue(keys[i], last[i], now, period) {
				maxGap = max(maxGap, now.Sub(last[i]))
				last[i] = now
				perSecond[s]++
			}
		}
	}
	budget := w.rules.StatusQPS * refreshShare
	worst, total := 0, 0
	for s := 0; s+60 <= span; s++ {
		n := 0
		for _, c := range perSecond[s : s+60] {
			n += c
		}
		worst = max(worst, n)
	}
	for _, c := range perSecond {
		total += c
	}
	t.Logf("%d Scalers, period %s: %d refreshes in %s, at most %.2f per second over a minute (budget %g of status_qps %g), longest gap %s",
		scalers, period, total, 3*period, float64(worst)/60, budget, w.rules.StatusQPS, maxGap)
	if float64(worst)/60 > 1.25*budget {
		t.Errorf("%.2f refreshes per second in the busiest minute, want at most %.2f (half of status_qps, and 25 %% for an uneven hash)", float64(worst)/60, 1.25*budget)
	}
	// The points of the last interval are not reached yet.
	least := 3*scalers - int(float64(scalers)*interval.Seconds()/period.Seconds()) - scalers/50
	if total < least || total > 3*scalers {
		t.Errorf("%d refreshes in three periods, want %d to %d: one per Scaler per period", total, least, 3*scalers)
	}
	if limit := period + interval; maxGap > limit {
		t.Errorf("a status went %s without a refresh, want at most %s (a period and an interval)", maxGap, limit)
	}
}

// When the Scalers written for would need more than half of status_qps at
// status_refresh, an unchanged status waits for the longer period, and is
// refreshed within it; a change is written at once whatever the period.
func TestAnUnchangedStatusWaitsForTheLongerPeriod(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "web", 1, validSpec))
	rules := f.cfg.ScalerObjects
	rules.StatusQPS = 0.001 // one Scaler at half of it: one write per 2,000 s
	f.c.status.setRules(rules)
	f.sync(t, "shop/web")
	f.c.Add(decision("shop/web", 5, 5, scaling.OutcomeUnchanged, f.clock.Now()))
	if f.writeStatus(t, "shop/web") == nil {
		t.Fatal("first write")
	}
	f.c.status.mu.Lock()
	period := f.c.status.refreshPeriod()
	f.c.status.mu.Unlock()
	if period != 2000*time.Second {
		t.Fatalf("period = %s, want 2000s", period)
	}
	written := time.Time{}
	for f.clock.Since(t0) <= period+30*time.Second {
		f.clock.Step(15 * time.Second)
		f.c.Add(decision("shop/web", 5, 5, scaling.OutcomeUnchanged, f.clock.Now()))
		if s := f.writeStatus(t, "shop/web"); s != nil {
			if !written.IsZero() {
				t.Fatalf("refreshed twice within %s: at %s and %s", period, written.Sub(t0), f.clock.Since(t0))
			}
			written = f.clock.Now()
		}
	}
	if written.IsZero() {
		t.Fatalf("not refreshed within %s", period+30*time.Second)
	}
	if written.Sub(t0) <= config.DefaultStatusRefresh {
		t.Errorf("refreshed %s after the first write, before status_refresh", written.Sub(t0))
	}
	f.clock.Step(15 * time.Second)
	f.c.Add(decision("shop/web", 5, 8, scaling.OutcomeApplied, f.clock.Now()))
	if s := f.writeStatus(t, "shop/web"); s == nil || *s.Desired != 8 {
		t.Errorf("a change within the period = %+v, want it written at once", s)
	}
}

// The period counts the Scalers this process acts for from the moment they
// are taken in, before any is written: a fleet created at once does not
// refresh at the short period while its first statuses are written.
// Those another replica acts for, and deleted ones, do not count.
func TestThePeriodCountsTheScalersActedFor(t *testing.T) {
	f := newFixture(t, scaler(t, "shop", "a", 1, validSpec), scaler(t, "shop", "b", 1, validSpec), scaler(t, "shop", "c", 1, validSpec))
	rules := f.cfg.ScalerObjects
	rules.StatusQPS = 0.01 // 200 s per Scaler at half of it
	f.c.status.setRules(rules)
	period := func() time.Duration {
		f.c.status.mu.Lock()
		defer f.c.status.mu.Unlock()
		return f.c.status.refreshPeriod()
	}
	for _, key := range []string{"shop/a", "shop/b", "shop/c"} {
		f.sync(t, key)
	}
	if got := period(); got != 600*time.Second {
		t.Errorf("three Scalers taken in, none written: period %s, want 600s", got)
	}
	f.r.acting = false // another replica took shop/a's shard
	f.writeStatus(t, "shop/a")
	if got := period(); got != 400*time.Second {
		t.Errorf("one Scaler acted for elsewhere: period %s, want 400s", got)
	}
	f.r.acting = true
	if err := f.c.informers[""].GetStore().Delete(f.c.object("shop/b")); err != nil {
		t.Fatal(err)
	}
	f.sync(t, "shop/b")
	if got := period(); got != config.DefaultStatusRefresh {
		t.Errorf("one Scaler left: period %s, want status_refresh %s", got, config.DefaultStatusRefresh)
	}
}
