// Package deploy tests what deploy/ ships without a cluster: the alert rules
// (one source, each rule unit-tested with promtool) and the pinned image
// tag. The suites that apply the manifests to a real API server are in
// test/kube.
package deploy
