package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
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
