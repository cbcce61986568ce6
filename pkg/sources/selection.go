package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Selection says which series of a grouped query's answer a signal takes.
// It is written as a mapping of label names to values, every one of which
// must be equal (`{namespace: shop, deployment: web}`), or as a string of
// matchers in PromQL's notation (`{namespace="shop", deployment=~"web|api"}`,
// with =, !=, =~ and !~; a regular expression matches the whole value). As
// in PromQL, a label the series lacks has the value "".
type Selection struct {
	// Labels is the mapping form.
	Labels map[string]string `json:"-"`
	// Matchers is the string form, as written.
	Matchers string `json:"-"`

	parsed []labelMatcher
	// eqNames and eqValues are the selection as an index lookup, when
	// every matcher is an equality.
	eqNames  []string
	eqValues string
	eq       bool
}

type matchOp string

const (
	matchEqual     matchOp = "="
	matchNotEqual  matchOp = "!="
	matchRegexp    matchOp = "=~"
	matchNotRegexp matchOp = "!~"
)

type labelMatcher struct {
	name  string
	op    matchOp
	value string
	re    *regexp.Regexp
}

func (m labelMatcher) matches(v string) bool {
	switch m.op {
	case matchEqual:
		return v == m.value
	case matchNotEqual:
		return v != m.value
	case matchRegexp:
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// UnmarshalYAML reads either form.
func (s *Selection) UnmarshalYAML(n *yaml.Node) error {
	*s = Selection{}
	switch n.Kind {
	case yaml.MappingNode:
		return n.Decode(&s.Labels)
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		s.Matchers = n.Value
		return nil
	}
	return errors.New("must be a mapping of label names to values, or a string of matchers such as '{deployment=\"web\"}'")
}

// UnmarshalJSON reads either form.
func (s *Selection) UnmarshalJSON(b []byte) error {
	*s = Selection{}
	if err := json.Unmarshal(b, &s.Matchers); err == nil {
		return nil
	}
	if err := json.Unmarshal(b, &s.Labels); err != nil {
		return errors.New("must be a mapping of label names to values, or a string of matchers such as '{deployment=\"web\"}'")
	}
	return nil
}

// MarshalJSON writes the form it was read in.
func (s Selection) MarshalJSON() ([]byte, error) {
	if s.Labels != nil {
		return json.Marshal(s.Labels)
	}
	return json.Marshal(s.Matchers)
}

// MarshalYAML writes the form it was read in.
func (s Selection) MarshalYAML() (any, error) {
	if s.Labels != nil {
		return s.Labels, nil
	}
	return s.Matchers, nil
}

// IsZero says that nothing is selected (the key was left out).
func (s *Selection) IsZero() bool { return len(s.Labels) == 0 && strings.TrimSpace(s.Matchers) == "" }

// String is the selection in PromQL's notation.
func (s *Selection) String() string {
	ms := s.parsed
	if ms == nil {
		var errs field.ErrorList
		if ms, errs = s.parse(); len(errs) > 0 {
			return scaling.Clip(s.Matchers, maxSeriesText)
		}
	}
	return formatMatchers(ms)
}

func formatMatchers(ms []labelMatcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.name + string(m.op) + strconv.Quote(m.value)
	}
	return scaling.Clip("{"+strings.Join(parts, ", ")+"}", maxSeriesText)
}

// Validate checks the selection, every problem under path.
func (s *Selection) Validate(path *field.Path) field.ErrorList {
	if s.Labels != nil && s.Matchers != "" {
		return field.ErrorList{fielderr.Problem(path, "must be either a mapping or a string, not both")}
	}
	if s.IsZero() {
		return field.ErrorList{fielderr.Required(path, s.Matchers, "must select the signal's series: a mapping such as {deployment: web} or a string such as '{deployment=\"web\"}'")}
	}
	_, errs := s.parseAt(path)
	return errs
}

// compile parses the selection for Select.
func (s *Selection) compile() error {
	ms, errs := s.parseAt(field.NewPath("select"))
	if len(errs) > 0 {
		return errs.ToAggregate()
	}
	s.parsed = ms
	s.eq = true
	var values []string
	for _, m := range ms {
		if m.op != matchEqual {
			s.eq = false
			break
		}
		s.eqNames = append(s.eqNames, m.name)
		values = append(values, m.value)
	}
	s.eqValues = strings.Join(values, "\xff")
	return nil
}

func (s *Selection) parse() ([]labelMatcher, field.ErrorList) {
	return s.parseAt(field.NewPath("select"))
}

// parseAt reads either form into matchers sorted by label name, an
// equality first.
func (s *Selection) parseAt(path *field.Path) ([]labelMatcher, field.ErrorList) {
	var out []labelMatcher
	var errs field.ErrorList
	if s.Labels != nil {
		for _, n := range selectionNames(s.Labels) {
			if !labelNameRE.MatchString(n) {
				errs = append(errs, fielderr.Invalid(path.Key(n), n, "must be a label name: letters, digits and '_', not starting with a digit"))
				continue
			}
			out = append(out, labelMatcher{name: n, op: matchEqual, value: s.Labels[n]})
		}
	} else {
		var perrs []string
		out, perrs = parseMatchers(s.Matchers)
		for _, e := range perrs {
			errs = append(errs, fielderr.Invalid(path, s.Matchers, "%s", e))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	slices.SortStableFunc(out, func(a, b labelMatcher) int { return strings.Compare(a.name, b.name) })
	seen := map[string]bool{}
	for _, m := range out {
		if m.op == matchEqual && seen[m.name] {
			errs = append(errs, fielderr.Invalid(path, formatMatchers(out), "label %s: set twice", m.name))
		}
		seen[m.name] = seen[m.name] || m.op == matchEqual
	}
	if len(out) > 0 && !slices.ContainsFunc(out, func(m labelMatcher) bool { return !m.matches("") }) {
		errs = append(errs, fielderr.Invalid(path, formatMatchers(out), "must have a matcher that does not match the empty value (such as deployment=\"web\"): this one takes the series without those labels"))
	}
	return out, errs
}

// equalities returns the selection as an index lookup, when every matcher
// is an equality.
func (s *Selection) equalities() ([]string, string, bool) {
	return s.eqNames, s.eqValues, s.eq
}

func (s *Selection) matches(labels map[string]string) bool {
	for _, m := range s.parsed {
		if !m.matches(labels[m.name]) {
			return false
		}
	}
	return true
}

// parseMatchers reads `{a="x", b=~"y|z"}` (the braces may be left out). It
// returns every problem it can tell apart.
func parseMatchers(text string) ([]labelMatcher, []string) {
	in := strings.TrimSpace(text)
	if strings.HasPrefix(in, "{") {
		if !strings.HasSuffix(in, "}") {
			return nil, []string{"must end with '}'"}
		}
		in = strings.TrimSpace(in[1 : len(in)-1])
	}
	var out []labelMatcher
	var errs []string
	for in != "" {
		i := 0
		for i < len(in) && (in[i] == '_' || in[i] >= 'a' && in[i] <= 'z' || in[i] >= 'A' && in[i] <= 'Z' || in[i] >= '0' && in[i] <= '9') {
			i++
		}
		name := in[:i]
		if !labelNameRE.MatchString(name) {
			return out, append(errs, fmt.Sprintf("at %q: want a label name", clipText(in)))
		}
		in = strings.TrimSpace(in[i:])
		var op matchOp
		for _, o := range []matchOp{matchRegexp, matchNotRegexp, matchNotEqual, matchEqual} {
			if strings.HasPrefix(in, string(o)) {
				op = o
				break
			}
		}
		if op == "" {
			return out, append(errs, fmt.Sprintf("after %s: want one of =, !=, =~, !~", name))
		}
		in = strings.TrimSpace(in[len(op):])
		value, rest, err := readQuoted(in)
		if err != nil {
			return out, append(errs, fmt.Sprintf("value of %s: %v", name, err))
		}
		m := labelMatcher{name: name, op: op, value: value}
		if op == matchRegexp || op == matchNotRegexp {
			if m.re, err = regexp.Compile("^(?s:" + value + ")$"); err != nil {
				errs = append(errs, fmt.Sprintf("regular expression of %s: %v", name, err))
			}
		}
		out = append(out, m)
		in = strings.TrimSpace(rest)
		if in == "" {
			break
		}
		if in[0] != ',' {
			return out, append(errs, fmt.Sprintf("at %q: want ',' between matchers", clipText(in)))
		}
		in = strings.TrimSpace(in[1:])
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, "must hold at least one matcher")
	}
	return out, errs
}

// readQuoted reads a PromQL string literal ("...", '...' or `...`) at the
// start of in.
func readQuoted(in string) (value, rest string, err error) {
	if in == "" {
		return "", "", errors.New("want a quoted string")
	}
	q := in[0]
	if q != '"' && q != '\'' && q != '`' {
		return "", "", fmt.Errorf("at %q: want a quoted string", clipText(in))
	}
	for i := 1; i < len(in); i++ {
		switch {
		case in[i] == '\\' && q != '`':
			i++
		case in[i] == q:
			lit := in[:i+1]
			if q == '\'' {
				lit = `"` + strings.ReplaceAll(strings.ReplaceAll(in[1:i], `\'`, `'`), `"`, `\"`) + `"`
			}
			v, err := strconv.Unquote(lit)
			if err != nil {
				return "", "", fmt.Errorf("%s: not a valid string", clipText(in[:i+1]))
			}
			return v, in[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("%s: unterminated string", clipText(in))
}

func clipText(s string) string { return scaling.Clip(s, maxLabelText) }
