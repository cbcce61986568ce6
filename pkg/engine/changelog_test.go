package engine

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/telemetry"
)

// The log follows change: a run of identical decisions logs once at info,
// and each change (capacity, a signal failing or recovering, a guard
// starting or stopping to hold, a failed decision) logs once.
func TestChangeLogLogsChangesNotTicks(t *testing.T) {
	ok := func(desired int32, outcome scaling.Outcome, adj ...scaling.Adjustment) scaling.Decision {
		return scaling.Decision{
			Signals:         []scaling.SignalValue{{Name: "rps", Value: 100}, {Name: "p99", Value: 0.2}},
			Recommendations: []scaling.Recommendation{{Policy: "rps", Replicas: desired}},
			Adjustments:     adj, Current: 2, Desired: desired, Outcome: outcome,
		}
	}
	failing := func(kind scaling.FailureKind) scaling.Decision {
		d := ok(2, scaling.OutcomeUnchanged)
		d.Signals[1] = scaling.SignalValue{Name: "p99", Failed: kind, Error: string(kind)}
		return d
	}
	window := scaling.Adjustment{Guard: policy.GuardStabilization, From: 1, To: 2, Reason: "held by the window"}
	maxed := scaling.Adjustment{Guard: policy.GuardBounds, From: 12, To: 10, Reason: "bounds.max 10"}
	readFailed := scaling.Decision{Outcome: scaling.OutcomeFailed, Error: "read target: timeout"}

	steps := []struct {
		d    scaling.Decision
		want []string // "level message" of the lines at info and above
	}{
		{ok(2, scaling.OutcomeUnchanged), []string{"info decision"}}, // the first one
		{ok(2, scaling.OutcomeUnchanged), nil},
		{ok(2, scaling.OutcomeUnchanged), nil},
		{ok(3, scaling.OutcomeApplied), []string{"info decision"}},
		{ok(3, scaling.OutcomeUnchanged), nil},
		{ok(4, scaling.OutcomeDryRun), []string{"info decision"}},
		{ok(4, scaling.OutcomeDryRun), nil}, // would still change it to 4: said already
		{ok(5, scaling.OutcomeDryRun), []string{"info decision"}},
		{failing(scaling.FailureStale), []string{"warn signal failing"}},
		{failing(scaling.FailureStale), nil},
		{failing(scaling.FailureEmpty), []string{"warn signal failing"}},
		{readFailed, []string{"warn decision"}},
		{readFailed, nil},
		{failing(scaling.FailureEmpty), []string{"info decision"}}, // stopped failing; p99 still fails
		{ok(2, scaling.OutcomeUnchanged, window), []string{"info signal recovered", "debug guard holding"}},
		{ok(2, scaling.OutcomeUnchanged, window), nil},
		{ok(2, scaling.OutcomeUnchanged), []string{"debug guard released"}},
		{ok(10, scaling.OutcomeApplied, maxed), []string{"info guard holding", "info decision"}},
		{ok(10, scaling.OutcomeUnchanged, maxed), nil},
		{ok(10, scaling.OutcomeUnchanged), []string{"info guard released"}},
	}
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	var c changeLog
	for i, st := range steps {
		c.observe(log, &st.d)
		var got []string
		debug := 0
		for _, e := range logs.TakeAll() {
			if e.Level == zapcore.DebugLevel && e.Message == "decision" {
				debug++
				continue
			}
			got = append(got, e.Level.String()+" "+e.Message)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("step %d: lines (-want +got):\n%s", i, diff)
		}
		if logged := slices.ContainsFunc(got, func(l string) bool { return strings.HasSuffix(l, " decision") }); logged == (debug == 1) {
			t.Errorf("step %d: decision at debug %d times, logged above debug %v: want exactly one of them", i, debug, logged)
		}
	}
}

// A steady scaler's tick logs nothing above debug and, without a debug
// logger, costs no allocation for the log.
func TestChangeLogSteadyTickAllocatesNothing(t *testing.T) {
	d := scaling.Decision{
		Time:            time.Unix(0, 0),
		Signals:         []scaling.SignalValue{{Name: "rps", Value: 100}},
		Recommendations: []scaling.Recommendation{{Policy: "rps", Replicas: 2}},
		Current:         2, Desired: 2, Outcome: scaling.OutcomeUnchanged,
	}
	log := zap.New(zapcore.NewNopCore())
	var c changeLog
	c.observe(log, &d)
	if n := testing.AllocsPerRun(100, func() { c.observe(log, &d) }); n != 0 {
		t.Errorf("%v allocations per steady tick, want 0", n)
	}
}

// The console format, as the loop writes through it: one short line per
// change of capacity and per start or end of a signal failure, nothing for
// a tick that changes nothing.
func TestConsoleLogIsOneLinePerChange(t *testing.T) {
	var out bytes.Buffer
	enc := zapcore.NewConsoleEncoder(zapcore.EncoderConfig{MessageKey: "msg", LevelKey: "level", EncodeLevel: zapcore.CapitalLevelEncoder})
	logger := zap.New(telemetry.ConsoleDecisions(zapcore.NewCore(enc, zapcore.AddSync(&out), zapcore.InfoLevel)))

	src := &fakes.Source{Value: 0.5}
	act := actuators.NewLog(4, nil)
	s, _ := newTestScaler(t, src, act, false, 0)
	s.log = logger.With(zap.String("scaler", "web"))
	logger.Info("scaler started", zap.String("scaler", "web"))

	for i, step := range []struct {
		value float64
		err   error
	}{
		{0.5, nil},              // on target: nothing to say
		{1, nil},                // twice the target: 4 -> 8
		{0, errors.New("boom")}, // the signal fails: held
		{0, errors.New("boom")}, // still failing: nothing new
		{0.5, nil},              // it reads again, on target
		{0.5, nil},              // nothing to say
	} {
		src.Set(step.value, step.err)
		s.Tick(context.Background(), t0.Add(time.Duration(i)*15*time.Second))
	}
	want := []string{
		"INFO\tscaler started\t{\"scaler\": \"web\"}",
		"INFO\tweb 4 -> 8: load: value 1.00 / target 0.50 = ratio 2.00 x 4 ready -> 8",
		"WARN\tweb signal load failed (query_error): boom",
		"INFO\tweb signal load reads again",
	}
	got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("console lines (-want +got):\n%s", diff)
	}
}
