// Package buildbin builds the scaled binary for the tests that run it as a
// user would: the commands' tests, the docs' commands, the chart and the
// control-plane suites.
package buildbin

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Root is the repository's top folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		panic(err)
	}
	return root
}

// Build builds cmd/scaled to path; a failed build's error holds the
// compiler's output.
func Build(path string) error {
	build := exec.Command("go", "build", "-o", path, "./cmd/scaled")
	build.Dir = Root()
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// Once builds cmd/scaled at most once for a test binary.
type Once struct {
	once sync.Once
	path string
	err  error
}

// Path builds cmd/scaled, the first time it is called, to the path that
// place returns, and returns that path; it fails t when the build (or
// place) failed, on every call.
func (o *Once) Path(t testing.TB, place func() (string, error)) string {
	t.Helper()
	o.once.Do(func() {
		p, err := place()
		if err == nil {
			err = Build(p)
		}
		o.path, o.err = p, err
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.path
}
