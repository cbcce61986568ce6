// Package v1alpha1 is the Scaler object (scaled.dev/v1alpha1): a namespaced
// custom resource whose spec is one scaler of scaled's config file. Its Go
// types are what the CRD's schema is generated from (hack/crdgen); Spec
// turns an object into the scaler that runs, through the config's own
// decoder, validation and the namespace's confinement. It makes no call.
//
// +groupName=scaled.dev
package v1alpha1
