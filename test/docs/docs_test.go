// Package docs holds the tests that keep README.md and docs/ true to the
// repository: every scaled command they quote runs as written on a clone
// (nothing outside it), every link stays inside it, every metric and alert
// they cite is in the metrics reference, and the traces they replay carry
// their source and licence. The commands that need a cluster are run by
// test/kube; those that need Prometheus are marked in the doc.
package docs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/buildbin"
	"github.com/scaled-dev/scaled/internal/doctest"
)

// repoRoot is the repository's top folder.
func repoRoot(testing.TB) string { return buildbin.Root() }

func blocks(t *testing.T) []doctest.Block {
	t.Helper()
	bs, err := doctest.All(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

var (
	workOnce sync.Once
	workDir  string
	workErr  error
)

// workTree is a folder that looks like a clone with `make build` done: every
// top-level entry of the repository linked in, and bin/scaled built, so that
// a command runs as written from it while whatever it writes (a plot, a
// timeline) lands outside the repository.
func workTree(t *testing.T) string {
	t.Helper()
	workOnce.Do(func() {
		root := repoRoot(t)
		workDir, workErr = os.MkdirTemp("", "scaled-docs")
		if workErr != nil {
			return
		}
		entries, err := os.ReadDir(root)
		if err != nil {
			workErr = err
			return
		}
		for _, e := range entries {
			if e.Name() == "bin" || e.Name() == ".git" {
				continue
			}
			if workErr = os.Symlink(filepath.Join(root, e.Name()), filepath.Join(workDir, e.Name())); workErr != nil {
				return
			}
		}
		workErr = buildbin.Build(filepath.Join(workDir, "bin", "scaled"))
	})
	if workErr != nil {
		t.Fatal(workErr)
	}
	return workDir
}

// shell runs script with bash from the work tree, scaled on the PATH, the
// daemon's port moved off the fixed one the examples use.
func shell(t *testing.T, script string) (string, int) {
	t.Helper()
	dir := workTree(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"SCALED_LISTEN=127.0.0.1:0", "EDITOR=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("bash: %v", err)
	}
	return out.String(), code
}

// Every scaled command quoted in a shell or console block of README.md and
// docs/ runs as written on the repository alone. A shell block runs whole (its
// variables and builds are the commands' context); in a console block each
// `$ ` command runs, exits 0 unless the output the doc shows is an error
// ("scaled: ..."), and prints every line the doc shows (a "..." line stands for
// lines left out). A block marked `<!-- needs: ... -->` is left to the suite
// that has what it needs.
func TestScaledCommandsInTheDocsRunAsWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scaled command the docs quote, on the full public traces (minutes)")
	}
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for _, b := range blocks(t) {
		if b.Needs != "" || !slices.ContainsFunc(b.Lines, doctest.RunsScaled) {
			continue
		}
		switch b.Lang {
		case "sh", "bash", "shell":
			t.Run(b.Where(0), func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				if out, code := shell(t, strings.Join(b.Lines, "\n")); code != 0 {
					t.Errorf("%s: the block exits %d:\n%s\n--- output:\n%s", b.Where(0), code, strings.Join(b.Lines, "\n"), tail(out))
				}
			})
		case "console":
			for _, c := range doctest.Commands(b) {
				if !doctest.RunsScaled(c.Text) {
					continue
				}
				t.Run(c.Where(), func(t *testing.T) {
					t.Parallel()
					sem <- struct{}{}
					defer func() { <-sem }()
					out, code := shell(t, c.Text)
					wantFail := slices.ContainsFunc(c.Output, func(l string) bool { return strings.HasPrefix(l, "scaled: ") })
					if (code != 0) != wantFail {
						t.Errorf("%s: `%s` exits %d, the doc shows %s:\n%s", c.Where(), c.Text, code, map[bool]string{true: "an error", false: "success"}[wantFail], tail(out))
					}
					got := strings.Split(out, "\n")
					for i, l := range c.Output {
						if strings.TrimSpace(l) == "..." || strings.TrimSpace(l) == "" {
							continue
						}
						if !slices.ContainsFunc(got, func(g string) bool { return strings.TrimRight(g, " ") == strings.TrimRight(l, " ") }) {
							t.Errorf("%s: `%s` does not print the line the doc shows at %s:\n  %s\n--- output:\n%s", c.Where(), c.Text, c.Block.Where(c.Index+1+i), l, tail(out))
						}
					}
				})
			}
		case "":
			t.Errorf("%s: a block without a language runs scaled: fence it as sh or console so that it is run, as text if it is output, or mark it <!-- needs: ... -->", b.Where(0))
		}
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 30 {
		lines = append([]string{"..."}, lines[len(lines)-30:]...)
	}
	return strings.Join(lines, "\n")
}

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	outsideRE = regexp.MustCompile(`\.\./shared|/work/|\.\./\.\./\.\.`)
)

// No doc links or points outside the repository, and every relative link
// names a file or folder that exists.
func TestDocsStayInsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	files, err := doctest.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			where := fmt.Sprintf("%s:%d", f, i+1)
			if m := outsideRE.FindString(line); m != "" {
				t.Errorf("%s: %q points outside the repository: %s", where, m, line)
			}
			for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				target, _, _ = strings.Cut(target, "#")
				p := filepath.Clean(filepath.Join(root, filepath.Dir(f), target))
				if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s: link %q leaves the repository", where, m[1])
					continue
				}
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s: link %q: %v", where, m[1], err)
				}
			}
		}
	}
}

var (
	metricRE = regexp.MustCompile(`\bscaled_[a-z0-9_]+`)
	alertRE  = regexp.MustCompile(`\bScaled[A-Z][A-Za-z]+\b`)
)

// Every scaled_* metric and Scaled* alert that README.md, docs/ or deploy/
// cite is in docs/metrics.md, the operator's reference.
func TestDocsCiteOnlyMetricsAndAlertsTheReferenceLists(t *testing.T) {
	root := repoRoot(t)
	ref, err := os.ReadFile(filepath.Join(root, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := doctest.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(filepath.Join(root, "deploy"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	notAlerts := map[string]bool{"ScaledObject": true, "ScaledObjects": true, "ScaledJob": true, "ScaledJobs": true, "ScaleRefused": true}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range metricRE.FindAllString(line, -1) {
				base := m
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					if strings.HasSuffix(m, suf) && bytes.Contains(ref, []byte("`"+strings.TrimSuffix(m, suf)+"`")) {
						base = strings.TrimSuffix(m, suf)
					}
				}
				if !bytes.Contains(ref, []byte("`"+base+"`")) {
					t.Errorf("%s:%d: metric %s is not in docs/metrics.md", f, i+1, m)
				}
			}
			for _, a := range alertRE.FindAllString(line, -1) {
				if !notAlerts[a] && !bytes.Contains(ref, []byte(a)) {
					t.Errorf("%s:%d: alert %s is not in docs/metrics.md", f, i+1, a)
				}
			}
		}
	}
}

var shaRE = regexp.MustCompile("SHA-256[^`]*`([0-9a-f]{64})`")

// Every trace in testdata/traces has a .md beside it that states its source
// and licence and the checksum of the file as it is.
func TestTracesCarryTheirSourceAndLicence(t *testing.T) {
	root := repoRoot(t)
	csvs, err := filepath.Glob(filepath.Join(root, "testdata", "traces", "*.csv"))
	if err != nil || len(csvs) < 4 {
		t.Fatalf("testdata/traces: %v, %d traces; want the three public ones and the demo's", err, len(csvs))
	}
	for _, c := range csvs {
		md, err := os.ReadFile(strings.TrimSuffix(c, ".csv") + ".md")
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(c), err)
			continue
		}
		text := strings.ToLower(string(md))
		if !strings.Contains(text, "licence") || !strings.Contains(text, "source") {
			t.Errorf("%s.md does not state the trace's source and licence", strings.TrimSuffix(filepath.Base(c), ".csv"))
		}
		data, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		m := shaRE.FindSubmatch(md)
		if m == nil || string(m[1]) != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: SHA-256 %s, its .md says %q", filepath.Base(c), hex.EncodeToString(sum[:]), m)
		}
	}
}
