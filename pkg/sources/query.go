package sources

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// KindQuery reads a signal with a PromQL query from the configured
// Prometheus-compatible API (Prometheus).
const KindQuery SourceKind = "query"

func init() {
	Register(KindQuery, func() SourceSpec { return new(QuerySpec) })
}

// QuerySpec is a signal's query: PromQL that must return exactly one value.
type QuerySpec string

var (
	_ SourceSpec       = (*QuerySpec)(nil)
	_ PrometheusBacked = (*QuerySpec)(nil)
	_ Confinable       = (*QuerySpec)(nil)
)

// Confine implements Confinable: the query is what confine makes of it.
func (q *QuerySpec) Confine(confine func(string) (string, error), path *field.Path) field.ErrorList {
	out, err := confine(string(*q))
	if err != nil {
		return field.ErrorList{fielderr.Invalid(path, string(*q), "%v", err)}
	}
	*q = QuerySpec(out)
	return nil
}

// Default implements SourceSpec: a query has no default.
func (q *QuerySpec) Default() {}

// Validate implements SourceSpec.
func (q *QuerySpec) Validate(path *field.Path) field.ErrorList {
	if strings.TrimSpace(string(*q)) == "" {
		return field.ErrorList{fielderr.Required(path, string(*q), "must not be empty")}
	}
	if err := CheckPromQL(string(*q)); err != nil {
		return field.ErrorList{fielderr.Invalid(path, string(*q), "%v", err)}
	}
	return nil
}

// Expression implements SourceSpec: the query itself.
func (q *QuerySpec) Expression() string { return string(*q) }

// New implements SourceSpec: the shared Prometheus client.
func (q *QuerySpec) New(deps Deps) (Querier, error) { return deps.Prometheus() }

// PrometheusBacked implements PrometheusBacked.
func (q *QuerySpec) PrometheusBacked() {}
