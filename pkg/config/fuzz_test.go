package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// FuzzLoad feeds arbitrary bytes through the decoder and Validate, seeded
// with every example and test config and with each kind of decode problem.
// Neither may panic; every problem is one line with a path; a config that
// decodes and validates must compare Equal to itself scaler by scaler (or a
// reload would restart every scaler).
//
//	go test ./pkg/config -run '^$' -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	more, _ := filepath.Glob("../../testdata/config/*.yaml")
	for _, p := range append(files, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validYAML))
	f.Add([]byte(policiesYAML))
	for _, s := range []string{
		"interval: fast\nlisten: [x]\n",
		scalerWith("    bounds: {min: 0.5, max: 3000000000}\n"),
		"scalers: [{name: a, target: {kind: kubernetes, log: {}, kubernetes: ~}, signals: [{name: s, query: x, replay: {}}]}]\n",
		"a: &x {b: *x}\n",
		"scalers:\n  - &s {name: a}\n  - *s\n",
		"prometheus: {http_config: {bearer_tokn: x}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, decoded, err := parse(data)
		if err != nil {
			return // YAML syntax
		}
		checkLines(t, decoded)
		if len(decoded) > 0 {
			return
		}
		err = Validate(c)
		if err == nil {
			d := DiffScalers(c.Scalers, c.Scalers)
			if len(d.Unchanged) != len(c.Scalers) {
				t.Fatalf("a valid config differs from itself: %+v", d)
			}
			return
		}
		var p Problems
		if !errors.As(err, &p) || len(p) == 0 {
			t.Fatalf("Validate error %v is not Problems", err)
		}
		checkLines(t, field.ErrorList(p))
	})
}

// FuzzDecodeScalerJSON feeds arbitrary bytes to the decoder of objects from
// the API server: it must not panic, and every problem is one line under
// the object's path.
//
//	go test ./pkg/config -run '^$' -fuzz FuzzDecodeScalerJSON -fuzztime 60s
func FuzzDecodeScalerJSON(f *testing.F) {
	f.Add([]byte(`{"target": {"kind": "log"}, "signals": [{"name": "rps", "query": "x"}],
	  "policies": [{"name": "rps", "type": "target_tracking", "target_tracking": {"signal": "rps", "target_type": "value", "target": 10}}],
	  "bounds": {"max": 10}}`))
	f.Add([]byte(`{"bounds": {"max": 20.9, "min": 1e10}, "interval": 15, "target": {"kind": "aurora", "aurora": {"tags": {"a": 1}}}}`))
	f.Add([]byte(`[1, 2]`))
	f.Add([]byte(`{"name": `))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, errs := DecodeScalerJSON(raw, "shop/web", "shop", field.NewPath("spec"))
		for _, e := range errs {
			if !strings.HasPrefix(e.Field, "spec") {
				t.Fatalf("problem outside the object's path: %s", fielderr.Format(e))
			}
		}
		checkLines(t, errs)
		if len(errs) == 0 {
			checkLines(t, ValidateScaler(&s, field.NewPath("spec")))
		}
	})
}

func checkLines(t *testing.T, errs field.ErrorList) {
	t.Helper()
	for _, e := range errs {
		line := fielderr.Format(e)
		if e.Field == "" || e.Detail == "" || strings.Contains(line, "\n") {
			t.Fatalf("problem %q: want one line with a path and what is allowed", line)
		}
	}
}
