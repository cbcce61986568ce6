package sources

import (
	"fmt"
	"sync"

	"github.com/prometheus/prometheus/promql/parser"
)

// Bounds of a query. Checking a query costs more than its size: Prometheus'
// parser and the confinement of a Scaler's query to its namespace take time
// that grows faster than the query, so a query past these bounds is refused
// before it is parsed (its length, the nesting of its brackets) or before it
// is walked again (the depth of its syntax tree). Real queries stay far
// below both: a long one is a few hundred bytes and ten levels deep.
const (
	// MaxQueryBytes is the longest query, in bytes.
	MaxQueryBytes = 4096
	// MaxQueryDepth is the deepest nesting of a query: of its brackets as
	// written, and of its syntax tree (a chain of binary operators nests
	// one level per operator).
	MaxQueryDepth = 64
)

// promql is Prometheus' own parser, told to accept what a server may be
// configured to accept (experimental functions, fill modifiers, UTF-8 names),
// so that a query it refuses is one no Prometheus would run.
var promql = parser.NewParser(parser.Options{
	EnableExperimentalFunctions: true,
	EnableBinopFillModifiers:    true,
	EnableUnquotedUTF8Names:     true,
})

// CheckPromQL returns why expr is not valid PromQL, or is past the bounds
// of a query (CheckQueryBounds, CheckQueryTree), or nil.
func CheckPromQL(expr string) error {
	if err := CheckQueryBounds(expr); err != nil {
		return err
	}
	n, err := promql.ParseExpr(expr)
	if err != nil {
		return fmt.Errorf("not valid PromQL: %w", err)
	}
	return CheckQueryTree(n)
}

// CheckQueryBounds refuses, before it is parsed, a query longer than
// MaxQueryBytes or whose brackets nest deeper than MaxQueryDepth. It reads
// the query once, skipping string literals.
func CheckQueryBounds(expr string) error {
	if len(expr) > MaxQueryBytes {
		return fmt.Errorf("is %d bytes long: a query may be at most %d bytes", len(expr), MaxQueryBytes)
	}
	depth, deepest := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++ // an escaped character, perhaps the quote
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ')' || c == ']' || c == '}':
			depth--
		}
	}
	if deepest > MaxQueryDepth {
		return fmt.Errorf("nests brackets %d deep: a query may nest at most %d deep", deepest, MaxQueryDepth)
	}
	return nil
}

// CheckQueryTree refuses a parsed query whose syntax tree is deeper than
// MaxQueryDepth. It stops walking at the first node past the bound.
func CheckQueryTree(n parser.Node) error {
	return parser.Walk(depthVisitor{}, n, nil)
}

type depthVisitor struct{}

func (depthVisitor) Visit(node parser.Node, path []parser.Node) (parser.Visitor, error) {
	if node != nil && len(path) >= MaxQueryDepth {
		return nil, fmt.Errorf("nests %d operators or calls deep or more: a query may nest at most %d deep", len(path)+1, MaxQueryDepth)
	}
	return depthVisitor{}, nil
}

// IsSelector reports whether expr is a bare instant-vector selector
// (`queue_depth{queue="jobs"}`, in parentheses or not): the only kind of
// query whose timestamp() is the time of a scraped sample, which
// QueryMaxAge compares with a max age. Any computed expression answers with
// the evaluation time.
func IsSelector(expr string) bool {
	if CheckQueryBounds(expr) != nil {
		return false
	}
	n, err := promql.ParseExpr(expr)
	for err == nil {
		switch e := n.(type) {
		case *parser.ParenExpr:
			n = e.Expr
			continue
		case *parser.VectorSelector:
			return true
		}
		return false
	}
	return false
}

// selectorCache remembers IsSelector for the queries QueryMaxAge sees, which
// come from the config and repeat every tick: parsing one costs more than
// looking it up. It stops growing at maxSelectorCache queries.
var selectorCache struct {
	sync.Mutex
	m map[string]bool
}

const maxSelectorCache = 1 << 16

func isSelectorCached(expr string) bool {
	selectorCache.Lock()
	v, ok := selectorCache.m[expr]
	selectorCache.Unlock()
	if ok {
		return v
	}
	v = IsSelector(expr)
	selectorCache.Lock()
	if selectorCache.m == nil {
		selectorCache.m = map[string]bool{}
	}
	if len(selectorCache.m) < maxSelectorCache {
		selectorCache.m[expr] = v
	}
	selectorCache.Unlock()
	return v
}
