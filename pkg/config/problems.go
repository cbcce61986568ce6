package config

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// Problems is every problem found in a config, each with its field path:
// what Load, Parse and Validate return for a config that is not valid. Its
// Error prints them one per line as `path: value: what is allowed`
// (fielderr.Format); Unwrap gives each as an error of its own.
type Problems field.ErrorList

func (p Problems) Error() string {
	if len(p) <= maxProblemsShown {
		return strings.Join(fielderr.Lines(field.ErrorList(p)), "\n")
	}
	lines := fielderr.Lines(field.ErrorList(p[:maxProblemsShown]))
	return strings.Join(lines, "\n") + fmt.Sprintf("\nand %d more problems", len(p)-maxProblemsShown)
}

// maxProblemsShown is the most problems Error prints, one line each; the
// rest are counted, so that a config with thousands of problems is still
// a message a log line can hold. Unwrap gives every one.
const maxProblemsShown = 50

// Unwrap returns each problem as an error printing its one line.
func (p Problems) Unwrap() []error {
	out := make([]error, len(p))
	for i, e := range p {
		out[i] = problem{e}
	}
	return out
}

// problem is one field error printed as fielderr.Format does.
type problem struct{ err *field.Error }

func (p problem) Error() string { return fielderr.Format(p.err) }
func (p problem) Unwrap() error { return p.err }
