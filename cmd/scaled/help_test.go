package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
)

// help is what `scaled <args> --help` prints.
func help(t *testing.T, args ...string) string {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--help"))
	if err := root.Execute(); err != nil {
		t.Fatalf("scaled %s --help: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// flagLine is the --help line of a flag.
func flagLine(text, flag string) string {
	m := regexp.MustCompile(`(?m)^\s+(-\w, )?--` + regexp.QuoteMeta(flag) + `[ =].*$`).FindString(text)
	return m
}

// Every command says what it does, shows examples where it takes more
// than a config, and no flag shows two defaults.
func TestEveryCommandsHelp(t *testing.T) {
	for _, c := range newRootCommand().Commands() {
		name := c.Name()
		if name == "help" || name == "completion" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			text := help(t, name)
			if c.Short == "" || (c.Long == "" && name != "version") {
				t.Errorf("scaled %s does not say what it does (Short, Long)", name)
			}
			if name != "version" && name != "run" && !strings.Contains(text, "Examples:") {
				t.Errorf("scaled %s --help shows no example", name)
			}
			for _, line := range strings.Split(text, "\n") {
				if strings.Count(line, "(default") > 1 {
					t.Errorf("scaled %s --help shows two defaults: %s", name, strings.TrimSpace(line))
				}
			}
		})
	}
}

// What each command's --help must say, as a first user looks for it.
func TestHelpSaysWhatAFirstUserLooksFor(t *testing.T) {
	check := help(t, "check")
	if q, p := strings.Index(check, "--query"), strings.Index(check, "--prometheus.url"); q < 0 || q > p {
		t.Errorf("scaled check --help lists --query after the config's overrides:\n%s", check)
	}
	if !strings.Contains(check, "scaled check --config scaled.yaml --query") {
		t.Errorf("scaled check --help has no example with --query:\n%s", check)
	}

	simulate := help(t, "simulate")
	if l := flagLine(simulate, "initial"); !strings.Contains(l, "(default: the oracle's count") || strings.Contains(l, "-1") {
		t.Errorf("simulate --initial: %q: want the oracle's count as its one default", l)
	}
	if l := flagLine(simulate, "startup-delay"); !strings.Contains(l, "startup_delay") {
		t.Errorf("simulate --startup-delay: %q: want it to name the config key it stands in for", l)
	}
	if l := flagLine(simulate, "tick"); !strings.Contains(l, "not the scaler's") {
		t.Errorf("simulate --tick: %q: want it told apart from the scaler's interval", l)
	}

	forecast := help(t, "forecast")
	for flag, key := range map[string]string{"min-history": "min_history", "history": "history", "refit-every": "refit_every"} {
		if l := flagLine(forecast, flag); !strings.Contains(l, key) {
			t.Errorf("forecast --%s: %q: want the predictive key %s named", flag, l, key)
		}
	}
	for _, old := range []string{"warmup", "window", "refit"} {
		if l := flagLine(forecast, old); l != "" {
			t.Errorf("forecast --help still shows the old name: %s", l)
		}
	}
	for _, flag := range []string{"config", "scaler"} {
		if flagLine(forecast, flag) == "" {
			t.Errorf("forecast --help has no --%s", flag)
		}
	}

	run := help(t, "run")
	for _, want := range []string{"SIGHUP", "--web.config.file", "--config"} {
		if !strings.Contains(run, want) {
			t.Errorf("scaled run --help does not mention %s", want)
		}
	}
}

// check --help lists its own flags and the overrides a check acts on, not
// the daemon's listener, logs and leases; those are still taken and
// checked, so that a check of run's command line says what run would.
func TestCheckHelpListsOnlyWhatACheckUses(t *testing.T) {
	text := help(t, "check")
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([\w.-]+)`).FindAllStringSubmatch(text, -1) {
		listed = append(listed, m[1])
	}
	want := []string{"config", "query", "daemon-config", "prometheus.url", "prometheus.query-timeout", "interval", "help"}
	if strings.Join(listed, " ") != strings.Join(want, " ") {
		t.Errorf("check --help lists %v, want %v", listed, want)
	}
	tr := "../../examples/simulate/hpa.yaml"
	out, _, code := runScaled(t, "check", "-c", tr, "--log.level", "loud")
	if code != 2 || !strings.Contains(out, `log.level: "loud": must be one of`) {
		t.Errorf("check --log.level loud: exit %d, want it checked as run would:\n%s", code, out)
	}
}

// Every command writes a duration one way, Go's without its zero units,
// which the config, a Scaler and every flag take; every duration flag
// takes Prometheus' 14d and 2w too.
func TestDurationsReadAndPrintOneWay(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {500 * time.Millisecond, "500ms"}, {15 * time.Second, "15s"}, {90 * time.Second, "1m30s"},
		{time.Minute, "1m"}, {time.Hour, "1h"}, {90 * time.Minute, "1h30m"}, {time.Hour + 30*time.Second, "1h30s"},
		{14 * 24 * time.Hour, "336h"}, {1500 * time.Millisecond, "1.5s"}, {-time.Minute, "-1m"},
	} {
		got := durfmt.Format(tc.d)
		if got != tc.want {
			t.Errorf("durfmt.Format(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != tc.d {
			t.Errorf("durfmt.Format(%v) = %q, which Go reads as %v, %v", tc.d, got, back, err)
		}
	}
	longForm := regexp.MustCompile(`\(default [^)]*(\dm0s|\dh0m|\d+[wdy])\b`)
	for _, c := range newRootCommand().Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		for _, line := range strings.Split(help(t, c.Name()), "\n") {
			if longForm.MatchString(line) {
				t.Errorf("scaled %s --help: %s", c.Name(), strings.TrimSpace(line))
			}
		}
	}
	tr := smallTrace(t)
	for _, d := range []string{"2d", "48h", "1.5h"} {
		if _, stderr, code := runScaled(t, "forecast", "--trace", tr, "--history", d, "--min-history", "1h", "--horizon", "1m", "--out", filepath.Join(t.TempDir(), "f.csv")); code != 0 {
			t.Errorf("forecast --history %s: exit %d: %s", d, code, stderr)
		}
	}
	if _, stderr, code := runScaled(t, "forecast", "--trace", tr, "--history", "2x"); code == 0 || !strings.Contains(stderr, `invalid argument "2x" for "--history" flag: must be a duration such as 90s, 15m, 36h or 14d`) {
		t.Errorf("forecast --history 2x: exit %d, stderr %q", code, stderr)
	}
}

// The spellings of earlier releases still work, each with a hint naming
// the flag every command now takes.
func TestOldFlagSpellingsHint(t *testing.T) {
	tr := smallTrace(t)
	out, stderr, code := runScaled(t, "simulate", "-c", "../../examples/simulate/hpa.yaml", "--trace", tr, "--startup", "90s", "--format", "json")
	if code != 0 || !strings.Contains(stderr, "Flag --startup has been deprecated, use --startup-delay") || !strings.Contains(out, `"startup_seconds": 90`) {
		t.Errorf("simulate --startup 90s: exit %d, stderr %q: want it run at 90s with a hint", code, stderr)
	}
	if l := flagLine(help(t, "simulate"), "startup"); l != "" {
		t.Errorf("simulate --help still lists --startup: %s", l)
	}
}
