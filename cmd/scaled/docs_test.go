package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Every kind the product registers is described in docs/configuration.md
// under a heading of its own (#### `kind: log`, #### `type: pid`,
// #### `query:`) followed by a config that the built scaled check accepts.
// The kinds this package's tests register (registry_test.go) are not the
// product's.
func TestEveryKindIsDocumentedWithAnExampleThatChecks(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	for _, k := range actuators.Kinds() {
		if k != fakeTargetKind {
			headings = append(headings, "#### `kind: "+string(k)+"`")
		}
	}
	for _, p := range policy.Types() {
		if p != fakePolicyType {
			headings = append(headings, "#### `type: "+string(p)+"`")
		}
	}
	for _, s := range sources.Kinds() {
		headings = append(headings, "#### `"+string(s)+":`")
	}
	if len(headings) < 11 {
		t.Fatalf("only %d kinds registered: %v", len(headings), headings)
	}
	for _, h := range headings {
		t.Run(h, func(t *testing.T) {
			example, err := exampleUnder(string(doc), h)
			if err != nil {
				t.Fatal(err)
			}
			out, stderr, code := runScaled(t, "check", "--config", writeConfig(t, example))
			if code != 0 || !strings.Contains(out, ": valid, 1 scaler(s)") {
				t.Errorf("scaled check on the example under %s: exit %d\n%s%s\n%s", h, code, out, stderr, example)
			}
		})
	}
}

// exampleUnder is the first yaml block after the heading line h, before the
// next heading.
func exampleUnder(doc, h string) (string, error) {
	lines := strings.Split(doc, "\n")
	at := -1
	for i, l := range lines {
		if l == h {
			if at >= 0 {
				return "", fmt.Errorf("%s appears twice", h)
			}
			at = i
		}
	}
	if at < 0 {
		return "", fmt.Errorf("no heading %s", h)
	}
	var block []string
	in := false
	for _, l := range lines[at+1:] {
		switch {
		case !in && strings.HasPrefix(l, "#"):
			return "", fmt.Errorf("no yaml example under %s", h)
		case !in && l == "```yaml":
			in = true
		case in && l == "```":
			return strings.Join(block, "\n") + "\n", nil
		case in:
			block = append(block, l)
		}
	}
	return "", fmt.Errorf("the example under %s is not closed", h)
}
