package engine

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/telemetry"
)

// A value outside the valid range is a failed signal like any other: it is
// counted by kind, its gauge disappears, and the scaler holds.
func TestOutOfRangeIsCountedAndItsGaugeRemoved(t *testing.T) {
	src := &fakes.Source{Value: 0.5}
	s, reg := meteredScaler(t, src)
	s.Tick(context.Background(), t0)
	if got := gathered(t, reg, "scaled_signal_value", `scaler="web",signal="load"`); got != "0.5" {
		t.Fatalf("scaled_signal_value after a good tick = %v, want 0.5", got)
	}

	src.Set(-1, nil)
	d := s.Tick(context.Background(), t0.Add(15e9))
	if d.Desired != 6 || d.Signals[0].Failed != scaling.FailureOutOfRange {
		t.Fatalf("negative value: desired %d, signal %+v; want 6 held, out_of_range", d.Desired, d.Signals[0])
	}
	if !strings.Contains(d.Signals[0].Error, "load = -1: outside the valid range [0, +Inf)") {
		t.Errorf("signal error %q does not say why", d.Signals[0].Error)
	}
	if n := testutil.CollectAndCount(reg, "scaled_signal_value"); n != 0 {
		t.Errorf("scaled_signal_value has %d series while the signal is out of range, want 0", n)
	}
	if got := gathered(t, reg, "scaled_signal_errors_total", `reason="out_of_range",scaler="web",signal="load"`); got != "1" {
		t.Errorf(`scaled_signal_errors_total{reason="out_of_range"} = %v, want 1`, got)
	}

	// With a declared range that allows it, the same value is used.
	s.Signals[0].ValidRange = &scaling.Range{Min: -10, Max: 10}
	if d := s.Tick(context.Background(), t0.Add(30e9)); d.Signals[0].Failed != "" {
		t.Errorf("inside a declared range: %+v, want a usable signal", d.Signals[0])
	}
}

// A sample stamped in the future (its source's clock ahead, or a hostile
// answer) cannot be aged: it is a failed signal of its own kind, counted
// with its own reason, and the scaler holds. Within the skew allowed, it
// is used.
func TestAFutureSampleIsAFailedSignal(t *testing.T) {
	src := &fakes.Source{Value: 0.5}
	s, reg := meteredScaler(t, src)
	for i, ahead := range []time.Duration{400 * time.Second, 365 * 24 * time.Hour} {
		now := t0.Add(time.Duration(i) * 15 * time.Second)
		src.SetAt(0.01, now.Add(ahead)) // a value that would scale in
		d := s.Tick(context.Background(), now)
		if d.Desired != 6 || d.Signals[0].Failed != scaling.FailureFuture {
			t.Fatalf("a sample %s ahead: desired %d, signal %+v; want 6 held, future", ahead, d.Desired, d.Signals[0])
		}
		if !strings.Contains(d.Signals[0].Error, "after the query's time") {
			t.Errorf("signal error %q does not say why", d.Signals[0].Error)
		}
	}
	if got := gathered(t, reg, "scaled_signal_errors_total", `reason="future",scaler="web",signal="load"`); got != "2" {
		t.Errorf(`scaled_signal_errors_total{reason="future"} = %v, want 2`, got)
	}
	now := t0.Add(time.Minute)
	src.SetAt(0.5, now.Add(30*time.Second))
	if d := s.Tick(context.Background(), now); d.Signals[0].Failed != "" {
		t.Errorf("a sample 30 s ahead, within the skew allowed: %+v, want it used", d.Signals[0])
	}
}

// An absurd but finite value (1e308) saturates on its way to a
// recommendation: the policy asks for the most an int32 holds, the guards
// and bounds cap it, and the reason stays short.
func TestAbsurdValueSaturates(t *testing.T) {
	act := actuators.NewLog(4, nil)
	s, _ := newTestScaler(t, &fakes.Source{Value: 1e308}, act, false, 0)
	d := s.Tick(context.Background(), t0)
	if d.Recommended != 2147483647 {
		t.Errorf("recommended %d, want the int32 maximum", d.Recommended)
	}
	if d.Desired != 8 {
		t.Errorf("desired %d, want 8 (the scale-up rate limit from 4)", d.Desired)
	}
	if r := d.Recommendations[0].Reason; len(r) > 120 || !strings.Contains(r, "1.000e+308") {
		t.Errorf("reason of %d bytes: %q", len(r), r)
	}
	for i := 1; i <= 10; i++ {
		if d := s.Tick(context.Background(), t0.Add(time.Duration(i)*15*time.Second)); d.Desired > 20 || d.Desired < 4 {
			t.Fatalf("tick %d: desired %d, want within the bounds and never below 4", i, d.Desired)
		}
	}
}

// What a decision, its log line and the decision log keep of texts that
// come from outside is bounded, however long those texts are.
func TestHugeTextsAreClipped(t *testing.T) {
	huge := strings.Repeat(`{pod="`+strings.Repeat("a", 2000)+`"}, `, 1000) // 2 MB of labels
	var logged bytes.Buffer
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logged), zapcore.InfoLevel))
	src := &fakes.Source{Err: scaling.Fail(scaling.FailureMultiple, "%s", huge)}
	tt, err := policy.NewTargetTracking("load", "load", policy.TargetValue, 0.5, policy.DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	dec, errs := policy.NewDecider(policy.Spec{Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Min: 1, Max: 20}, Behavior: policy.DefaultBehavior()}, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	history := telemetry.NewDecisionLog(100)
	s := NewScaler(ScalerSpec{
		Name: "web", Decider: dec, Actuator: actuators.NewLog(4, nil), Interval: 15e9, QueryTimeout: 1e9,
		Signals: []Signal{{Name: "load", Expr: "load", Source: src}},
	}, logger, nil, history)
	for i := range 100 {
		s.Tick(context.Background(), t0.Add(time.Duration(i)*15*time.Second))
	}
	if n := logged.Len() / 100; n > 6*scaling.MaxText {
		t.Errorf("a log line is %d bytes, want a few KiB at most", n)
	}
	kept := 0
	for _, d := range history.Last("web", 0) {
		kept += len(d.Signals[0].Error) + len(d.Recommendations[0].Reason) + len(d.Error)
		for _, a := range d.Adjustments {
			kept += len(a.Reason)
		}
	}
	if kept > 100*4*scaling.MaxText {
		t.Errorf("the decision log keeps %d bytes of text for 100 decisions", kept)
	}
}

// gathered is the value of one series in reg's exposition, "" when absent.
func gathered(t *testing.T, reg *prometheus.Registry, name, labels string) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if mf.GetName() == name {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+"{"+labels+"} "); ok {
			return v
		}
	}
	return ""
}
