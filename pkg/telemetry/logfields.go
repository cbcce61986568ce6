package telemetry

import (
	"slices"

	"go.uber.org/zap/zapcore"
)

// DeferFields returns core with With made cheap: the fields are kept as
// they are and encoded with each line written, instead of being encoded at
// once into a copy of the encoder. zap's JSON and console cores copy their
// encoder, with a pooled buffer of a kilobyte or more, for every With; a
// daemon that makes a logger per scaler and target holds tens of megabytes
// of them at 10,000 scalers, for lines that are written only on a change.
// Lines come out the same; a field whose value is read when it is encoded
// (zap.Stringer, zap.Object) is read at each line instead of at With. Use it
// as the innermost zap.WrapCore.
func DeferFields(core zapcore.Core) zapcore.Core {
	return &deferredCore{Core: core}
}

type deferredCore struct {
	zapcore.Core
	fields []zapcore.Field
}

func (c *deferredCore) With(fields []zapcore.Field) zapcore.Core {
	if len(fields) == 0 {
		return c
	}
	return &deferredCore{Core: c.Core, fields: slices.Concat(c.fields, fields)}
}

func (c *deferredCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c *deferredCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	if len(c.fields) == 0 {
		return c.Core.Write(ent, fields)
	}
	return c.Core.Write(ent, slices.Concat(c.fields, fields))
}
