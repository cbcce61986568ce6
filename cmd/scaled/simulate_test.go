package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/pkg/simulate"
)

// runScaled runs the binary and returns stdout, stderr and the exit code.
func runScaled(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(scaledBin, args...) // built by TestMain (main_test.go)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// smallTrace writes two hours of per-minute counts with a morning ramp and a
// spike, and returns its path.
func smallTrace(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := range 120 {
		v := 600 + 10*i
		if i >= 70 && i < 80 {
			v *= 3
		}
		fmt.Fprintf(&b, "%d,%d\n", 1700000000+60*i, v)
	}
	path := filepath.Join(t.TempDir(), "small.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const exampleHPA = "../../examples/simulate/hpa.yaml"

func TestSimulateJSONAndText(t *testing.T) {
	tr := smallTrace(t)
	out, stderr, code := runScaled(t, "simulate", "--config", exampleHPA, "--trace", tr, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep simulateReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if rep.Model.Ticks != 480 || rep.Scaled.Ticks != 480 {
		t.Errorf("ticks = %d (model) and %d (scaled), want 480: two hours at 15 s", rep.Model.Ticks, rep.Scaled.Ticks)
	}
	var targets []float64
	for _, h := range rep.HPA {
		targets = append(targets, h.Target)
		if h.Score.Ticks != 480 {
			t.Errorf("HPA u=%v scored %d ticks, want 480", h.Target, h.Score.Ticks)
		}
	}
	if diff := cmp.Diff([]float64{0.5, 0.6, 0.7}, targets); diff != "" {
		t.Errorf("HPA reference targets (-want +got):\n%s", diff)
	}
	if rep.Oracle.CostVsOracle != 1 || rep.Oracle.ViolatingRequestFraction != 0 {
		t.Errorf("oracle scored %+v, want cost 1 and no violation", rep.Oracle)
	}
	s := rep.Scaled
	if !(s.CostVsOracle > 1 && s.CostVsOracle < 3) || s.ScaleActions < 2 || s.ViolatingRequestFraction <= 0 {
		t.Errorf("scaled scored %+v: want a cost above the oracle's, scale actions for the spike, and some violation (S = 60 s)", s)
	}
	if math.Abs(s.CostReplicaHours-s.CostVsOracle*rep.Oracle.CostReplicaHours) > 1e-9 {
		t.Errorf("cost %v replica-h is not %v x the oracle's %v", s.CostReplicaHours, s.CostVsOracle, rep.Oracle.CostReplicaHours)
	}

	text, stderr, code := runScaled(t, "simulate", "--config", exampleHPA, "--trace", tr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 {
			rows[strings.Join(f[:len(f)-4], " ")] = f[len(f)-4:]
		}
	}
	want := map[string]simulate.Score{"scaled: web": rep.Scaled, "oracle": rep.Oracle}
	for _, h := range rep.HPA {
		want[fmt.Sprintf("HPA reference u=%g", h.Target)] = h.Score
	}
	for name, sc := range want {
		got, ok := rows[name]
		if !ok {
			t.Errorf("text output has no row %q:\n%s", name, text)
			continue
		}
		w := []string{fmt.Sprintf("%.4f", sc.ViolatingRequestFraction), fmt.Sprintf("%.1f", sc.CostReplicaHours),
			fmt.Sprintf("%.2f", sc.CostVsOracle), strconv.Itoa(sc.ScaleActions)}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("row %q disagrees with the JSON (-json +text):\n%s", name, diff)
		}
	}
}

func TestSimulateWritesTimelineAndPlots(t *testing.T) {
	tr := smallTrace(t)
	dir := t.TempDir()
	timeline := filepath.Join(dir, "timeline.csv")
	pngPath, svgPath := filepath.Join(dir, "run.png"), filepath.Join(dir, "run.svg")
	for _, plot := range []string{pngPath, svgPath} {
		if _, stderr, code := runScaled(t, "simulate", "-c", exampleHPA, "--trace", tr, "--out", timeline, "--plot", plot); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}

	fh, err := os.Open(timeline)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Scan()
	if sc.Text() != "time,demand,observed,ready,replicas,p95_seconds,violating" {
		t.Fatalf("timeline header %q", sc.Text())
	}
	n, prev := 0, int64(0)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) != 7 {
			t.Fatalf("row %d: %q: want 7 fields", n, sc.Text())
		}
		ts, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || (n > 0 && ts != prev+15) || (n == 0 && ts != 1700000000) {
			t.Fatalf("row %d: time %q after %d: want a 15 s grid from 1700000000", n, f[0], prev)
		}
		prev = ts
		if _, err := strconv.Atoi(f[4]); err != nil {
			t.Fatalf("row %d: replicas %q: %v", n, f[4], err)
		}
		if (n == 0) != (f[2] == "") {
			t.Fatalf("row %d: observed %q: want empty exactly at the first tick", n, f[2])
		}
		n++
	}
	if n != 480 {
		t.Errorf("timeline has %d rows, want 480", n)
	}

	pf, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatalf("--plot run.png: not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("PNG is %dx%d, want at least 800x600 to be readable", b.Dx(), b.Dy())
	}

	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("--plot run.svg: not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("SVG root element %q, want svg", root)
	}
	for _, label := range []string{"demand", "capacity (ready x c)", "requested", "requests over the SLO"} {
		if !bytes.Contains(svg, []byte(label)) {
			t.Errorf("SVG has no %q label", label)
		}
	}
}

func TestSimulateBindsSignals(t *testing.T) {
	tr := smallTrace(t)
	cfg := filepath.Join(t.TempDir(), "cpu.yaml")
	// A production config whose signal is named after its query, not after an
	// observation, and whose Prometheus URL comes from the environment.
	err := os.WriteFile(cfg, []byte(`
scalers:
  - name: web
    target: {kind: log}
    signals:
      - name: cpu
        query: avg(rate(container_cpu_usage_seconds_total[1m]))
    policies:
      - {name: cpu, type: target_tracking, target_tracking: {signal: cpu, target_type: utilization, target: 0.6}}
    bounds: {min: 1, max: 1000}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runScaled(t, "simulate", "-c", cfg, "--trace", tr)
	if code != 2 {
		t.Errorf("unbound signal: exit %d, want 2", code)
	}
	for _, want := range []string{`signals[0].name: "cpu": binds to no observation`, "--bind cpu=OBSERVATION",
		"demand, utilisation (or utilization), p95_seconds (or latency), ready, replicas (or requested)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q\nwant it to contain %q", stderr, want)
		}
	}
	_, stderr, code = runScaled(t, "simulate", "-c", cfg, "--trace", tr, "--bind", "cpu=cpu")
	if code != 2 || !strings.Contains(stderr, `bind cpu=cpu: "cpu" is not an observation`) {
		t.Errorf("bad observation: exit %d, stderr %q", code, stderr)
	}

	bound, stderr, code := runScaled(t, "simulate", "-c", cfg, "--trace", tr, "--bind", "cpu=utilization", "--format", "json")
	if code != 0 {
		t.Fatalf("bound: exit %d: %s", code, stderr)
	}
	byName, _, _ := runScaled(t, "simulate", "-c", exampleHPA, "--trace", tr, "--format", "json")
	var a, b simulateReport
	if err := json.Unmarshal([]byte(bound), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(byName), &b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.Scaled, a.Scaled); diff != "" {
		t.Errorf("--bind cpu=utilization scores differently from the same policy bound by name (-by name +bound):\n%s", diff)
	}
}

func TestSimulateRefusesBadFlags(t *testing.T) {
	tr := smallTrace(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"format", []string{"--format", "yaml"}, `--format: "yaml": must be text or json`},
		{"plot extension", []string{"--plot", "out.gif"}, `--plot: "out.gif": the file name must end in .png or .svg`},
		{"bind syntax", []string{"--bind", "cpu"}, `--bind: "cpu": must be SIGNAL=OBSERVATION`},
		{"model", []string{"--mu", "0"}, "model: mu: 0: must be a finite number > 0"},
		{"scaler", []string{"--scaler", "api"}, `--scaler: scaler: "api": no such scaler: must be one of web`},
		{"capacity and mu", []string{"--capacity-per-replica", "8", "--mu", "20"}, "--capacity-per-replica: 8: give either it or --mu, not both"},
		{"capacity", []string{"--capacity-per-replica", "-3"}, "--capacity-per-replica: -3: must be a finite number > 0"},
		{"hpa targets", []string{"--hpa-targets", "0.4,1.5,x"}, `--hpa-targets: "1.5": each target must be a number in (0, 1)` + "\n" + `--hpa-targets: "x": each target`},
		{"trace and query", []string{"--query", "up"}, "--trace " + tr + ", --query: both set: give one"},
		{"no trace", []string{"--trace", ""}, "--trace, --query: both empty: give a trace file or a query"},
		{"history flags", []string{"--trace", "", "--query", "x", "--range", "1m", "--end", "yesterday"},
			"--end: \"yesterday\": must be RFC 3339"},
		{"history range", []string{"--trace", "", "--query", "x", "--range", "1m"}, "--range: 1m: must be at least two steps (2m)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"simulate", "-c", exampleHPA, "--trace", tr}, tc.args...)
			_, stderr, code := runScaled(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

// A service stated in its own terms (requests per replica at the SLO, the
// SLO) is the same model as the M/M/1 rate those terms imply, and the HPA
// reference runs at the targets asked for.
func TestSimulateTakesTheServiceInItsOwnTerms(t *testing.T) {
	tr := smallTrace(t)
	report := func(args ...string) simulateReport {
		t.Helper()
		out, stderr, code := runScaled(t, append([]string{"simulate", "-c", exampleHPA, "--trace", tr, "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var rep simulateReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	own := report("--slo", "0.25", "--capacity-per-replica", "8", "--startup-delay", "90s", "--hpa-targets", "0.3,0.34")
	mu := 8 + math.Log(20)/0.25
	if math.Abs(own.Model.Mu-mu) > 1e-12 || math.Abs(own.Model.C-8) > 1e-12 || own.Model.SLOSeconds != 0.25 || own.Model.StartupSeconds != 90 {
		t.Errorf("model %+v: want mu %v, c 8, slo 0.25, startup 90", own.Model, mu)
	}
	var targets []float64
	for _, h := range own.HPA {
		targets = append(targets, h.Target)
	}
	if diff := cmp.Diff([]float64{0.3, 0.34}, targets); diff != "" {
		t.Errorf("HPA reference targets (-want +got):\n%s", diff)
	}
	byMu := report("--slo", "0.25", "--mu", strconv.FormatFloat(mu, 'g', -1, 64), "--startup-delay", "90s", "--hpa-targets", "0.3,0.34")
	if diff := cmp.Diff(byMu.Scaled, own.Scaled); diff != "" {
		t.Errorf("--capacity-per-replica 8 scores differently from --mu %v (-mu +capacity):\n%s", mu, diff)
	}
}

// --query needs a Prometheus to read: the config's or --prometheus.url.
func TestSimulateQueryNeedsAPrometheus(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "noprom.yaml")
	data, err := os.ReadFile(exampleHPA)
	if err != nil {
		t.Fatal(err)
	}
	noURL := strings.Replace(string(data), "url: http://prometheus.monitoring.svc:9090", "query_timeout: 5s", 1)
	if err := os.WriteFile(cfg, []byte(noURL), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runScaled(t, "simulate", "-c", cfg, "--query", "sum(rate(http_requests_total[1m]))")
	if want := "--prometheus.url: empty: set it, or prometheus.url in the config, to read --query"; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
}

// The shipped examples run with --config and --trace and no other flag.
func TestSimulateExamplesNeedNoFlags(t *testing.T) {
	tr := smallTrace(t)
	cfgs, err := filepath.Glob("../../examples/simulate/*.yaml")
	if err != nil || len(cfgs) < 2 {
		t.Fatalf("examples/simulate: %v, %d configs; want the shipped ones", err, len(cfgs))
	}
	for _, cfg := range cfgs {
		out, stderr, code := runScaled(t, "simulate", "--config", cfg, "--trace", tr)
		if code != 0 || !strings.Contains(out, "scaled: web") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", cfg, code, out, stderr)
		}
	}
}

// A config handed over a pipe, as `--config <(sed ... hpa.yaml)` does, is
// read once: simulate and check both take it as the file itself.
func TestConfigFromAPipe(t *testing.T) {
	tr := smallTrace(t)
	data, err := os.ReadFile(exampleHPA)
	if err != nil {
		t.Fatal(err)
	}
	want, _, code := runScaled(t, "simulate", "--config", exampleHPA, "--trace", tr)
	if code != 0 {
		t.Fatalf("simulate of the file: exit %d", code)
	}
	for _, args := range [][]string{{"simulate", "--trace", tr}, {"check"}} {
		cmd := exec.Command(scaledBin, append(args, "--config", "/dev/stdin")...)
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s from a pipe: %v\n%s", args[0], err, out)
			continue
		}
		if got := strings.ReplaceAll(string(out), "/dev/stdin", exampleHPA); args[0] == "simulate" && got != want {
			t.Errorf("simulate from a pipe differs from the file's:\n%s\nwant:\n%s", out, want)
		}
	}
}

func TestSimulateScoreFrom(t *testing.T) {
	tr := smallTrace(t) // 1700000000 + 60 s x 120
	score := func(args ...string) simulateReport {
		t.Helper()
		out, stderr, code := runScaled(t, append([]string{"simulate", "--config", exampleHPA, "--trace", tr, "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rep simulateReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("json: %v\n%s", err, out)
		}
		return rep
	}
	all := score()
	fromStart := score("--score-from", "2023-11-14T22:13:20Z") // the first tick
	if diff := cmp.Diff(all.Scaled, fromStart.Scaled); diff != "" {
		t.Errorf("scored from the first tick differs from scoring every tick (-all +from):\n%s", diff)
	}
	late := score("--score-from", "2023-11-14T23:13:20Z") // an hour in: 240 of 480 ticks left
	if late.Scaled.Ticks != 240 || late.Oracle.Ticks != 240 {
		t.Errorf("ticks scored from an hour in = %d (scaled), %d (oracle), want 240", late.Scaled.Ticks, late.Oracle.Ticks)
	}
	for _, h := range late.HPA {
		if h.Score.Ticks != 240 {
			t.Errorf("HPA u=%g scored %d ticks, want 240", h.Target, h.Score.Ticks)
		}
	}
	if !(late.Scaled.CostReplicaHours < all.Scaled.CostReplicaHours) {
		t.Errorf("cost of the last hour %.3f not below that of both hours %.3f", late.Scaled.CostReplicaHours, all.Scaled.CostReplicaHours)
	}
	for _, bad := range []string{"yesterday", "2023-11-14T00:00:00Z", "2030-01-01T00:00:00Z"} {
		_, stderr, code := runScaled(t, "simulate", "--config", exampleHPA, "--trace", tr, "--score-from", bad)
		if code != 2 || !strings.Contains(stderr, "--score-from") || !strings.Contains(stderr, bad) {
			t.Errorf("--score-from %s: exit %d, stderr %q; want exit 2 naming the flag and the value", bad, code, stderr)
		}
	}
}

// A model no service has is refused, or, where it may be the service's,
// run with a warning that names the values and what to set: an SLO given
// without the capacity that goes with it left every run, the HPA
// reference's too, at 0.9992 violating without a word.
func TestSimulateRefusesOrWarnsOnAModelThatCannotBeRight(t *testing.T) {
	tr := smallTrace(t)
	sim := func(args ...string) (simulateReport, string, int) {
		t.Helper()
		out, stderr, code := runScaled(t, append([]string{"simulate", "--config", exampleHPA, "--trace", tr, "--format", "json"}, args...)...)
		var rep simulateReport
		if code == 0 {
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("json: %v\n%s", err, out)
			}
		}
		return rep, stderr, code
	}

	_, stderr, code := sim("--slo", "0.3")
	for _, want := range []string{"c 0.0142 req/s per replica is 0.14% of mu 10 req/s", "the default --mu 10, meant for --slo 1", "--slo 0.3",
		"give --capacity-per-replica", "--allow-implausible-model"} {
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("--slo 0.3 alone: exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
	if _, stderr, code := sim("--slo", "0.3", "--mu", "10.5"); code != 2 || !strings.Contains(stderr, "with --mu 10.5 and --slo 0.3") {
		t.Errorf("--mu 10.5 --slo 0.3: exit %d, want a refusal naming --mu:\n%s", code, stderr)
	}
	rep, stderr, code := sim("--slo", "0.3", "--allow-implausible-model")
	if code != 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "every HPA reference target is above 0.00142") ||
		!strings.Contains(stderr, "warning: every HPA reference target") {
		t.Errorf("--allow-implausible-model: exit %d, warnings %q, stderr %q: want it run, with a warning", code, rep.Warnings, stderr)
	}
	for _, h := range rep.HPA {
		if h.Score.ViolatingRequestFraction < 0.9 {
			t.Errorf("HPA u=%g violates %g: the model was meant to break every reference", h.Target, h.Score.ViolatingRequestFraction)
		}
	}

	// A measured capacity at a tight SLO is the service's own: it runs,
	// and the warning offers the targets that stand to it as 0.5, 0.6 and
	// 0.7 stand to the reference model.
	rep, _, code = sim("--slo", "0.25", "--capacity-per-replica", "8")
	if code != 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "above 0.4, the utilisation up to which") ||
		!strings.Contains(rep.Warnings[0], "--hpa-targets 0.286,0.343,0.4") {
		t.Errorf("c 8 at 0.25 s: exit %d, warnings %q: want the targets below 0.4 offered", code, rep.Warnings)
	}
	if rep, _, code = sim("--slo", "0.25", "--capacity-per-replica", "8", "--hpa-targets", "0.286,0.343,0.4"); code != 0 || len(rep.Warnings) != 0 {
		t.Errorf("c 8 at 0.25 s, targets below 0.4: exit %d, warnings %q: want none", code, rep.Warnings)
	}

	// Demand beyond the cap every run shares.
	text, _, code := runScaled(t, "simulate", "--config", exampleHPA, "--trace", tr, "--median-replicas", "2000")
	if code != 0 || !strings.Contains(text, "WARNING: every HPA reference run violates the SLO for more than half of the requests") ||
		!strings.Contains(text, "and they run under the scaler's bounds.max 1000; raise bounds.max, or lower --median-replicas (2000)") {
		t.Errorf("--median-replicas 2000 under bounds.max 1000: exit %d, want a warning naming both:\n%s", code, text)
	}
	if rep, _, _ := sim(); len(rep.Warnings) != 0 {
		t.Errorf("the reference model: warnings %q, want none", rep.Warnings)
	}
}

// --plot draws each HPA reference's requested replicas beside the run's,
// and --from/--to zoom into a window of the trace, checked against it.
func TestSimulatePlotsTheHPAReferenceAndAWindow(t *testing.T) {
	tr := smallTrace(t) // 2023-11-14T22:13:20Z, two hours
	svgPath := filepath.Join(t.TempDir(), "run.svg")
	sim := func(args ...string) (string, int) {
		t.Helper()
		_, stderr, code := runScaled(t, append([]string{"simulate", "-c", exampleHPA, "--trace", tr}, args...)...)
		return stderr, code
	}
	if stderr, code := sim("--plot", svgPath, "--hpa-targets", "0.5,0.7"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	whole, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"HPA u=0.5 requested", "HPA u=0.7 requested"} {
		if !bytes.Contains(whole, []byte(label)) {
			t.Errorf("the plot has no %q line", label)
		}
	}
	if stderr, code := sim("--plot", svgPath, "--from", "2023-11-14T23:00:00Z", "--to", "2023-11-14T23:30:00Z"); code != 0 {
		t.Fatalf("--from/--to: exit %d: %s", code, stderr)
	}
	zoomed, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	// The time axis is labelled within the window only.
	labels := regexp.MustCompile(`Nov 1[45] \d\d:\d\d`)
	for _, l := range labels.FindAllString(string(zoomed), -1) {
		if l < "Nov 14 23:00" || l > "Nov 14 23:30" {
			t.Errorf("the zoomed plot labels %s, outside 23:00 to 23:30", l)
		}
	}
	if n := len(labels.FindAllString(string(zoomed), -1)); n == 0 || bytes.Equal(whole, zoomed) {
		t.Errorf("the zoomed plot has %d time labels, or is the whole one", n)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--plot", svgPath, "--from", "2023-11-14T23:30:00Z", "--to", "2023-11-14T23:00:00Z"}, "--from 2023-11-14T23:30:00Z, --to 2023-11-14T23:00:00Z: --from must be before --to"},
		{[]string{"--plot", svgPath, "--from", "2023-11-13T23:00:00Z"}, "--from: 2023-11-13T23:00:00Z: outside the trace's ticks (2023-11-14T22:13:20Z to 2023-11-15T00:13:05Z)"},
		{[]string{"--plot", svgPath, "--to", "2023-11-16T00:00:00Z"}, "--to: 2023-11-16T00:00:00Z: outside the trace's ticks"},
		{[]string{"--plot", svgPath, "--from", "2023-11-14T23:00:06Z", "--to", "2023-11-14T23:00:14Z"}, "hold 0 tick(s) of 15s: want at least 2"},
		{[]string{"--plot", svgPath, "--to", "noon"}, `--to: "noon": must be RFC 3339`},
		{[]string{"--from", "2023-11-14T23:00:00Z"}, "--from 2023-11-14T23:00:00Z: needs --plot"},
	} {
		if stderr, code := sim(tc.args...); code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q: want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
