package sources

import (
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/registry"
)

// SourceKind names a kind of signal source: the key of its block on a
// signal (`query: ...`, `replay: {...}`).
type SourceKind string

// SourceSpec is the configuration block of one source kind, written on a
// signal and decoded from a config file or a Scaler object through its json
// tags. Each kind's file holds its spec, its defaults, its validation, its
// constructor and one Register call.
type SourceSpec interface {
	// Default fills the keys the block left unset. It is idempotent.
	Default()
	// Validate checks the (defaulted) block, every problem under path (the
	// block's own), all at once. It is pure: it opens no file and asks no
	// server.
	Validate(path *field.Path) field.ErrorList
	// Expression is what the signal asks its Querier to evaluate.
	Expression() string
	// New returns the Querier that answers the signal. It may share what
	// deps hands out (one Prometheus client, one parsed trace per file).
	New(deps Deps) (Querier, error)
}

// Deps are what a source's constructor may use; the daemon makes one per
// config and shares what it holds among the signals.
type Deps struct {
	Clock clock.PassiveClock
	// Prometheus returns the client of the configured Prometheus, made at
	// first use.
	Prometheus func() (Querier, error)
	// Trace returns the trace recorded in the file at path, read once.
	Trace func(path string) (*Trace, error)
	// RecordedTime says that the loop runs on a fast clock in the
	// recordings' own time (every signal plays a Recording): a recording
	// then plays as recorded, from its first sample.
	RecordedTime bool
}

// PrometheusBacked is implemented by the specs of sources that query the
// configured Prometheus: a config with one needs prometheus.url.
type PrometheusBacked interface {
	PrometheusBacked()
}

// Recording is implemented by the specs of sources that play a recording.
// When every signal of a config plays one, the daemon runs its clock in
// recorded time from the earliest start, at the recordings' shared speed.
type Recording interface {
	// PlaybackSpeed is recorded time per wall time.
	PlaybackSpeed() float64
	// RecordingStart reads the recording and returns the earliest time at
	// which it has a value to answer (a replay answers only from steps that
	// have ended): the clock starts there, so that the first tick reads one.
	RecordingStart(deps Deps) (time.Time, error)
}

// Confinable is implemented by the specs of sources a Scaler object may
// use: every expression they send can be confined to what the object's
// namespace may read. A source that reads anything else (a file of
// scaled's own) does not implement it and is refused there.
type Confinable interface {
	// Confine replaces each PromQL expression of the block with what
	// confine makes of it (the object's namespace enforced on every
	// selector); an expression confine refuses is a problem under path
	// (the block's own).
	Confine(confine func(expr string) (string, error), path *field.Path) field.ErrorList
}

// PathResolver is implemented by the specs of sources that name files: a
// relative path is taken from dir, the config file's directory.
type PathResolver interface {
	ResolvePaths(dir string)
}

var sourceKinds = registry.New[SourceKind, SourceSpec]("signal source")

// Register makes a source kind known to configs: newSpec returns a fresh
// block of the kind, holding the defaults a key left out keeps. Call it from
// an init function of the kind's file. It panics on a taken name.
func Register(kind SourceKind, newSpec func() SourceSpec) { sourceKinds.Register(kind, newSpec) }

// Kinds lists every registered source kind, sorted.
func Kinds() []SourceKind { return sourceKinds.Names() }

// NewSpec returns a fresh block of kind, and false for an unknown kind.
func NewSpec(kind SourceKind) (SourceSpec, bool) { return sourceKinds.New(kind) }

// KindOf names the kind whose block spec is.
func KindOf(spec SourceSpec) (SourceKind, bool) { return sourceKinds.NameOf(spec) }
