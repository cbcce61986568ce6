package sources

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// KindGrouped reads a signal as one series of a query many signals share:
// the query is sent once per interval whatever the number of scalers that
// select from it (see Sharing).
const KindGrouped SourceKind = "grouped"

func init() {
	Register(KindGrouped, func() SourceSpec { return new(GroupedSpec) })
}

// GroupedSpec is a grouped signal: a query that returns one series per
// workload (`sum by (namespace, deployment) (rate(http_requests_total[2m]))`)
// and the selection of this signal's series. No series matching is the
// signal's failure empty, several multiple_series; the other signals that
// read the query are not affected.
type GroupedSpec struct {
	// Query is PromQL that returns one series per workload, sent once per
	// interval for every signal that reads it.
	Query string `json:"query,omitempty"`
	// Select is this signal's series: a mapping of label names to values,
	// all equal (`{namespace: shop, deployment: web}`), or a string of
	// PromQL matchers (`{namespace="shop", deployment=~"web|api"}`).
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	Select Selection `json:"select,omitempty"`
}

var (
	_ SourceSpec       = (*GroupedSpec)(nil)
	_ PrometheusBacked = (*GroupedSpec)(nil)
)

// Default implements SourceSpec: nothing to default.
func (g *GroupedSpec) Default() {}

// Validate implements SourceSpec.
func (g *GroupedSpec) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.TrimSpace(g.Query) == "" {
		errs = append(errs, fielderr.Required(path.Child("query"), g.Query, "must not be empty"))
	} else if err := CheckPromQL(g.Query); err != nil {
		errs = append(errs, fielderr.Invalid(path.Child("query"), g.Query, "%v", err))
	}
	return append(errs, g.Select.Validate(path.Child("select"))...)
}

// Expression implements SourceSpec: the shared query.
func (g *GroupedSpec) Expression() string { return g.Query }

// New implements SourceSpec: the signal's view of the shared answer.
func (g *GroupedSpec) New(deps Deps) (Querier, error) {
	q, err := deps.Prometheus()
	if err != nil {
		return nil, err
	}
	gq, ok := q.(GroupQuerier)
	if !ok {
		return nil, fmt.Errorf("grouped: the configured source (%T) cannot answer grouped queries", q)
	}
	sel := g.Select
	if err := sel.compile(); err != nil {
		return nil, fmt.Errorf("grouped.select: %w", err)
	}
	return &groupedQuerier{src: gq, sel: &sel}, nil
}

// PrometheusBacked implements PrometheusBacked.
func (g *GroupedSpec) PrometheusBacked() {}
