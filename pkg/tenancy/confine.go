package tenancy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// Confine holds sc, the spec of a Scaler object in namespace, to what rules
// allow, every problem under path (the object's spec), all at once:
//   - its target's kind must say what it reaches (actuators.Reacher); a
//     Kubernetes target must be in namespace, a target outside the cluster
//     must be listed for namespace in rules.AllowAWS, keep to the region,
//     account and reader options of a grant that lists it (pinTarget,
//     which then sets them), and no key that sends scaled's credentials
//     elsewhere may be set;
//   - each signal's source must be one scaled can confine
//     (sources.Confinable); with rules.ConfineQueries its PromQL is
//     rewritten to read only namespace's series (ConfineQuery).
//
// It rewrites sc's queries and its AWS target's pinned keys in place; a target or signal whose block is
// missing is left to validation.
func Confine(sc *config.Scaler, namespace string, rules *config.ScalerObjects, path *field.Path) field.ErrorList {
	errs := confineTarget(&sc.Target, sc.Name, namespace, rules, path.Child("target"))
	confine := func(expr string) (string, error) { return expr, nil }
	if rules.ConfineQueries {
		confine = func(expr string) (string, error) { return ConfineQuery(expr, rules.NamespaceLabel, namespace) }
	}
	for i := range sc.Signals {
		src := sc.Signals[i].Source
		if src.Spec == nil {
			continue
		}
		sp := path.Child("signals").Index(i).Child(string(src.Kind))
		c, ok := src.Spec.(sources.Confinable)
		if !ok {
			errs = append(errs, fielderr.Forbidden(sp, "must not be used in a Scaler object: scaled cannot confine what a %s source reads to the Scaler's namespace", src.Kind))
			continue
		}
		errs = append(errs, c.Confine(confine, sp)...)
	}
	return errs
}

func confineTarget(t *config.Target, scaler, namespace string, rules *config.ScalerObjects, path *field.Path) field.ErrorList {
	if t.Spec == nil {
		return nil
	}
	bp := path.Child(string(t.Kind))
	r, ok := t.Spec.(actuators.Reacher)
	if !ok {
		return field.ErrorList{fielderr.Invalid(path.Child("kind"), t.Kind,
			"cannot be used in a Scaler object: this kind does not say what it acts on (its block implements no actuators.Reacher), so scaled cannot hold it to the Scaler's namespace; only scaled's own config may use it")}
	}
	reach := r.Reach()
	var errs field.ErrorList
	if reach.Namespace != "" && reach.Namespace != namespace {
		errs = append(errs, fielderr.Invalid(bp.Child(reach.NamespaceKey), reach.Namespace,
			"must be the Scaler's own namespace, %q: a Scaler scales only workloads of its namespace", namespace))
	}
	if reach.Resource != "" {
		if grants := rules.AWSGrantsOf(namespace, reach.Resource); len(grants) == 0 {
			errs = append(errs, fielderr.Invalid(bp.Child(reach.ResourceKey), fielderr.Shown(fmt.Sprintf("%q", reach.Resource)),
				"is not allowed in namespace %q: scaled's config must list it under scaler_objects.allow_aws for this namespace", namespace))
		} else {
			errs = append(errs, pinTarget(reach, scaler, rules, grants, bp)...)
		}
	}
	for _, k := range reach.Privileged {
		errs = append(errs, fielderr.Forbidden(bp.Child(k), "must be unset in a Scaler object: it would send scaled's own credentials elsewhere"))
	}
	return errs
}
