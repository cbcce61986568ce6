package sources

import (
	"github.com/prometheus/prometheus/promql/parser"
)

// promql is Prometheus' own parser, told to accept what a server may be
// configured to accept (experimental functions, fill modifiers, UTF-8 names),
// so that a query it refuses is one no Prometheus would run.
var promql = parser.NewParser(parser.Options{
	EnableExperimentalFunctions: true,
	EnableBinopFillModifiers:    true,
	EnableUnquotedUTF8Names:     true,
})

// CheckPromQL returns why expr is not valid PromQL, or nil.
func CheckPromQL(expr string) error {
	_, err := promql.ParseExpr(expr)
	return err
}

// IsSelector reports whether expr is a bare instant-vector selector
// (`queue_depth{queue="jobs"}`, in parentheses or not): the only kind of
// query whose timestamp() is the time of a scraped sample, which
// QueryMaxAge compares with a max age. Any computed expression answers with
// the evaluation time.
func IsSelector(expr string) bool {
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
