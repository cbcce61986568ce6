package v1alpha1

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/tenancy"
)

// specPath is where every problem of a Scaler's spec is reported.
var specPath = field.NewPath("spec")

// Spec returns the scaler obj declares, as it runs beside cfg's own: named
// Key(namespace, name), decoded by the config's decoder with every problem
// under spec (the same `path: value: what is allowed` that scaled check
// prints), validated as cfg's scalers are, on the tick and the Prometheus
// it takes from cfg, and confined to its namespace by cfg.ScalerObjects
// (tenancy.Confine). Every problem comes back at once; a scaler with a
// problem must not run.
func Spec(obj *unstructured.Unstructured, cfg *config.Config) (config.Scaler, field.ErrorList) {
	ns, name := obj.GetNamespace(), obj.GetName()
	raw, ok := obj.Object["spec"].(map[string]any)
	if !ok {
		return config.Scaler{Name: Key(ns, name)}, field.ErrorList{fielderr.Required(specPath, nil, "must be a mapping holding the scaler")}
	}
	sc, errs := config.DecodeScalerObject(raw, Key(ns, name), ns, specPath)
	return sc, check(&sc, ns, cfg, errs)
}

// check validates and confines sc, a Scaler object's scaler in namespace,
// after its decode found decoded. A problem at or under a field that
// already has one is left out: it would say the same again.
func check(sc *config.Scaler, namespace string, cfg *config.Config, decoded field.ErrorList) field.ErrorList {
	errs := append(decoded, fielderr.Without(cfg.ValidateScaler(sc, specPath), decoded)...)
	return append(errs, fielderr.Without(tenancy.Confine(sc, namespace, &cfg.ScalerObjects, specPath), errs)...)
}
