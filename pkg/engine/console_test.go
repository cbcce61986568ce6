package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/telemetry"
)

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
