package tenancy

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/scaled-dev/scaled/pkg/sources"
)

// promql parses as Prometheus does by default: no experimental functions
// or modifiers, whose reach (info() reads target_info series the query
// does not name) a matcher cannot confine.
var promql = parser.NewParser(parser.Options{})

// ConfineQuery returns expr with label="value" enforced on every series
// selector, the way prom-label-proxy enforces a tenant's label with
// --error-on-replace: a selector that already matches label keeps its
// matcher replaced by the enforced one when the two can select the same
// series, and the query is refused when they cannot (namespace="other",
// namespace!="value", or a regular expression that does not match value).
// A query that does not parse, or holds a node it does not know, cannot be
// confined and is refused; so is one past the bounds of a query
// (sources.MaxQueryBytes, sources.MaxQueryDepth), before it is parsed or
// walked, so that what confining costs stays bounded.
func ConfineQuery(expr, label, value string) (string, error) {
	if err := sources.CheckQueryBounds(expr); err != nil {
		return "", fmt.Errorf("cannot be confined to %s=%q: %w", label, value, err)
	}
	node, err := promql.ParseExpr(expr)
	if err != nil {
		return "", fmt.Errorf("cannot be confined to %s=%q: not valid PromQL: %w", label, value, err)
	}
	if err := sources.CheckQueryTree(node); err != nil {
		return "", fmt.Errorf("cannot be confined to %s=%q: %w", label, value, err)
	}
	enforced, err := labels.NewMatcher(labels.MatchEqual, label, value)
	if err != nil {
		return "", err
	}
	if err := parser.Walk(confiner{enforced}, node, nil); err != nil {
		return "", err
	}
	return node.String(), nil
}

// confiner is the parser.Visitor that enforces its matcher.
type confiner struct {
	enforced *labels.Matcher
}

func (c confiner) Visit(node parser.Node, _ []parser.Node) (parser.Visitor, error) {
	switch n := node.(type) {
	case nil:
	case *parser.VectorSelector:
		ms, err := c.enforce(n.LabelMatchers)
		if err != nil {
			return nil, err
		}
		n.LabelMatchers = ms
	// Nodes that select nothing themselves; their children are walked.
	case *parser.EvalStmt, parser.Expressions, *parser.AggregateExpr, *parser.BinaryExpr, *parser.Call,
		*parser.MatrixSelector, *parser.SubqueryExpr, *parser.ParenExpr, *parser.UnaryExpr,
		*parser.StepInvariantExpr, *parser.NumberLiteral, *parser.StringLiteral, *parser.DurationExpr:
	default:
		return nil, fmt.Errorf("cannot be confined to %s: it holds a %T, which scaled cannot confine", c.enforced, n)
	}
	return c, nil
}

// errConflict is a selector whose own matcher on the enforced label rules
// the enforced value out.
var errConflict = errors.New("reads series outside the Scaler's namespace")

// enforce returns ms without its matchers on the enforced label, the
// enforced matcher added, or an error when one of those matchers excludes
// the enforced value.
func (c confiner) enforce(ms []*labels.Matcher) ([]*labels.Matcher, error) {
	out := make([]*labels.Matcher, 0, len(ms)+1)
	for _, m := range ms {
		if m.Name != c.enforced.Name {
			out = append(out, m)
			continue
		}
		if !m.Matches(c.enforced.Value) {
			return nil, fmt.Errorf("%w: its matcher %s conflicts with %s", errConflict, m, c.enforced)
		}
	}
	return append(out, c.enforced), nil
}
