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
