package telemetry

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// jsonLogger logs JSON into buf, with a fixed time, through wrap.
func jsonLogger(buf *bytes.Buffer, wrap func(zapcore.Core) zapcore.Core) *zap.Logger {
	cfg := zap.NewProductionEncoderConfig()
	core := zapcore.NewCore(zapcore.NewJSONEncoder(cfg), zapcore.AddSync(buf), zapcore.InfoLevel)
	return zap.New(wrap(core))
}

// The lines are those zap writes without it: the same fields in the same
// order, nested With included, and nothing below the level.
func TestDeferFieldsWritesTheSameLines(t *testing.T) {
	write := func(wrap func(zapcore.Core) zapcore.Core) string {
		var buf bytes.Buffer
		log := jsonLogger(&buf, wrap)
		scaler := log.With(zap.String("scaler", "web"))
		target := scaler.With(zap.String("target", "deployment/web"), zap.Int("n", 3))
		scaler.Info("decision", zap.Int32("desired", 4))
		target.Warn("signal failing", zap.Error(errors.New("timeout")))
		target.Debug("unchanged")
		log.Info("scaler started", zap.Duration("interval", 15*time.Second))
		if ce := target.Check(zapcore.InfoLevel, "checked"); ce != nil {
			ce.Write(zap.Bool("ok", true))
		}
		return buf.String()
	}
	noWrap := func(c zapcore.Core) zapcore.Core { return c }
	want, got := write(noWrap), write(DeferFields)
	// The timestamps differ; compare the lines without them.
	strip := func(s string) string {
		var out bytes.Buffer
		for _, line := range bytes.Split([]byte(s), []byte("\n")) {
			if i := bytes.Index(line, []byte(`"ts":`)); i >= 0 {
				j := bytes.IndexByte(line[i:], ',')
				line = append(line[:i:i], line[i+j+1:]...)
			}
			out.Write(line)
			out.WriteByte('\n')
		}
		return out.String()
	}
	if diff := cmp.Diff(strip(want), strip(got)); diff != "" {
		t.Errorf("lines (-zap +DeferFields):\n%s", diff)
	}
	if bytes.Count([]byte(got), []byte("\n")) != 4 {
		t.Errorf("want 4 lines, got:\n%s", got)
	}
}

// A logger per scaler costs a few hundred bytes, not an encoder and its buffer.
func TestDeferFieldsWithIsSmall(t *testing.T) {
	var buf bytes.Buffer
	log := jsonLogger(&buf, DeferFields)
	const n = 1000
	kept := make([]*zap.Logger, n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range kept {
		kept[i] = log.With(zap.String("scaler", "web"))
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 512 {
		t.Errorf("With allocated %d bytes per logger, want at most 512", per)
	}
	runtime.KeepAlive(kept)
}
