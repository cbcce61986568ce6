// Package docs holds the tests that keep README.md and docs/ true to the
// repository: every scaled command they quote runs as written on a clone
// (nothing outside it), every link stays inside it, every metric and alert
// they cite is in the metrics reference, and the traces they replay carry
// their source and licence. The commands that need a cluster are run by
// test/kube; those that need Prometheus are marked in the doc.
package docs

import (
	"bytes"
	"cmp"
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
	"strconv"
	"strings"
	"sync"
	"syscall"
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
// daemon's port moved off the fixed one the examples use, and procs as
// GOMAXPROCS: the cores it may use (scaled tune searches on all of them
// until its --budget, so that two at once on all the cores take twice
// the CPU for the same run as written). It returns the output, the exit
// code and the CPU time bash and its children took.
func shell(ctx context.Context, dir, script string, procs int) (string, int, time.Duration, error) {
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	// When ctx ends, the script's own commands are stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"SCALED_LISTEN=127.0.0.1:0", "EDITOR=true", "GOMAXPROCS="+strconv.Itoa(procs))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return "", 0, cpu, fmt.Errorf("bash: %w", err)
	}
	return out.String(), code, cpu, nil
}

// run is one script of the docs to run: a whole shell block, or one
// command of a console block, with what it came to.
type run struct {
	script string
	cost   int64    // a guess of its CPU time in milliseconds, to start the longest first
	writes []string // the files it writes by a name another script may use

	done      chan struct{}
	out       string
	code      int
	cpu, wall time.Duration
	err       error
}

var (
	traceRE  = regexp.MustCompile(`(nasa_http_aug95|saskatchewan_http_1995|worldcup98|demo)(?:-first70)?(?:\.csv)?\b`)
	forRE    = regexp.MustCompile(`\bfor \w+ in ([^;]*); do\b`)
	doneRE   = regexp.MustCompile(`\bdone\b`)
	budgetRE = regexp.MustCompile(`--budget[ =](\S+)`)
	writesRE = regexp.MustCompile(`(?:--out|--plot|>)\s*([^\s>&]\S*)|(/tmp/\S+)`)
)

// newRun guesses the CPU time of script from the traces it names (the
// days they span, once for each command of scaled or go run that may read
// them: a simulate takes about 50 ms of CPU per day of trace at its 15 s
// tick, whatever the trace's own step) and the --budget of each scaled
// tune (1m unless given), and lists the files it writes by a fixed name
// (under /tmp, or given to --out, --plot or >), so that two scripts
// writing one file do not run at once.
func newRun(root, script string) *run {
	r := &run{script: script, done: make(chan struct{})}
	// The days, on average over the traces a loop of the script goes
	// through, or of the one it names.
	var days, traces int64
	seen := map[string]bool{}
	for _, m := range traceRE.FindAllStringSubmatch(script, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		if d, ok := traceDays(filepath.Join(root, "testdata", "traces", m[1]+".csv")); ok {
			days, traces = days+d, traces+1
		}
	}
	days /= max(traces, 1)
	// The commands, each as many times as the loops around it go round.
	var commands, tune int64
	loops := []int64{1}
	for _, l := range strings.Split(script, "\n") {
		n := loops[len(loops)-1]
		for _, m := range forRE.FindAllStringSubmatch(l, -1) {
			words := int64(0)
			for _, w := range strings.Fields(m[1]) {
				matches, _ := filepath.Glob(filepath.Join(root, w))
				words += max(int64(len(matches)), 1)
			}
			n *= words
		}
		if doctest.RunsScaled(l) || strings.Contains(l, "go run ") {
			commands += n
		}
		if strings.Contains(l, "scaled tune") {
			budget := time.Minute
			if m := budgetRE.FindStringSubmatch(l); m != nil {
				if d, err := time.ParseDuration(m[1]); err == nil {
					budget = d
				}
			}
			tune += n * budget.Milliseconds()
		}
		opened, closed := len(forRE.FindAllString(l, -1)), len(doneRE.FindAllString(l, -1))
		switch {
		case opened > closed:
			loops = append(loops, n)
		case closed > opened && len(loops) > 1:
			loops = loops[:len(loops)-1]
		}
	}
	r.cost = commands*max(days, 1)*50 + tune
	for _, m := range writesRE.FindAllStringSubmatch(script, -1) {
		r.writes = append(r.writes, m[1]+m[2])
	}
	slices.Sort(r.writes)
	r.writes = slices.Compact(r.writes)
	return r
}

// traceDays is how many days the trace at path spans, from its first
// sample's timestamp to its last.
func traceDays(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 3 {
		return 0, false
	}
	first, err1 := strconv.ParseInt(strings.Split(lines[1], ",")[0], 10, 64)
	last, err2 := strconv.ParseInt(strings.Split(lines[len(lines)-1], ",")[0], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (last - first) / 86400, true
}

// runAll runs the scripts on workers at once, each on its share of the
// cores, the costliest first, never two that write one file at the same
// time, until ctx ends; each run's done is closed when it is through.
func runAll(ctx context.Context, dir string, runs []*run, workers, cores int) {
	pending := slices.Clone(runs)
	slices.SortStableFunc(pending, func(a, b *run) int { return cmp.Compare(b.cost, a.cost) })
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	busy := map[string]bool{}
	take := func() *run {
		mu.Lock()
		defer mu.Unlock()
		for len(pending) > 0 {
			for i, r := range pending {
				if !slices.ContainsFunc(r.writes, func(w string) bool { return busy[w] }) {
					pending = slices.Delete(pending, i, i+1)
					for _, w := range r.writes {
						busy[w] = true
					}
					return r
				}
			}
			cond.Wait()
		}
		return nil
	}
	for range workers {
		go func() {
			for r := take(); r != nil; r = take() {
				start := time.Now()
				r.out, r.code, r.cpu, r.err = shell(ctx, dir, r.script, max(1, cores/workers))
				r.wall = time.Since(start)
				mu.Lock()
				for _, w := range r.writes {
					delete(busy, w)
				}
				cond.Broadcast()
				mu.Unlock()
				close(r.done)
			}
		}()
	}
}

// wait is r's outcome, failing t when bash could not run it.
func (r *run) wait(t *testing.T) {
	t.Helper()
	<-r.done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("%s of CPU, %s of wall time", r.cpu.Round(10*time.Millisecond), r.wall.Round(10*time.Millisecond))
}

// Every scaled command quoted in a shell or console block of README.md and
// docs/ runs as written on the repository alone. A shell block runs whole (its
// variables and builds are the commands' context); in a console block each
// `$ ` command runs, exits 0 unless the output the doc shows is an error
// ("scaled: ..."), and prints every line the doc shows (a "..." line stands for
// lines left out). A block marked `<!-- needs: ... -->` is left to the suite
// that has what it needs. They run as many at once as there are cores, the
// longest first (a guess from the traces they read), so that the suite
// takes their CPU time over the cores rather than ends on a long block
// started last; each subtest, in the docs' order, checks its own.
func TestScaledCommandsInTheDocsRunAsWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scaled command the docs quote, on the full public traces (minutes)")
	}
	root, dir := repoRoot(t), workTree(t)
	type check struct {
		b   doctest.Block
		c   *doctest.Command
		run *run
	}
	var checks []check
	var runs []*run
	for _, b := range blocks(t) {
		if b.Needs != "" || !slices.ContainsFunc(b.Lines, doctest.RunsScaled) {
			continue
		}
		switch b.Lang {
		case "sh", "bash", "shell":
			r := newRun(root, strings.Join(b.Lines, "\n"))
			checks, runs = append(checks, check{b: b, run: r}), append(runs, r)
		case "console":
			for _, c := range doctest.Commands(b) {
				if !doctest.RunsScaled(c.Text) {
					continue
				}
				r := newRun(root, c.Text)
				checks, runs = append(checks, check{b: b, c: &c, run: r}), append(runs, r)
			}
		case "":
			checks = append(checks, check{b: b})
		}
	}
	// A script may take until a minute before the test's deadline (on a
	// loaded machine the longest takes minutes of CPU at a small share of
	// a core), and is stopped then, so that its output is shown.
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Hour)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-time.Minute))
	defer cancel()
	cores := max(1, runtime.GOMAXPROCS(0))
	runAll(ctx, dir, runs, cores, cores)
	for _, ch := range checks {
		b, c, r := ch.b, ch.c, ch.run
		switch {
		case r == nil:
			t.Errorf("%s: a block without a language runs scaled: fence it as sh or console so that it is run, as text if it is output, or mark it <!-- needs: ... -->", b.Where(0))
		case c == nil && r != nil:
			t.Run(b.Where(0), func(t *testing.T) {
				if r.wait(t); r.code != 0 {
					t.Errorf("%s: the block exits %d:\n%s\n--- output:\n%s", b.Where(0), r.code, r.script, tail(r.out))
				}
			})
		case c != nil:
			t.Run(c.Where(), func(t *testing.T) {
				r.wait(t)
				out, code := r.out, r.code
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
