// Command crdgen writes the Scaler CustomResourceDefinition from the Go
// types it serves: pkg/api/v1alpha1's Scaler, whose spec is the config
// file's scaler type, and the blocks that the target kinds, policy types
// and signal sources register. controller-tools' CRD parser makes the
// schema of each type from its fields and doc comments; crdgen composes the
// one-of blocks from the registries and adds the CEL rules that check a
// choice (a block set iff its kind says so), so that a new kind needs no
// change here. Run by `make generate`; hack/crdgen's test fails when the
// committed CRD differs from what it writes.
//
//	go run ./hack/crdgen deploy/base/crd-scalers.yaml deploy/helm/scaled/crds/scalers.yaml
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crdgen FILE...")
		os.Exit(2)
	}
	out, err := Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crdgen:", err)
		os.Exit(1)
	}
	for _, f := range os.Args[1:] {
		if err := os.WriteFile(f, out, 0o644); err != nil { //nolint:gosec // a manifest, read by everyone
			fmt.Fprintln(os.Stderr, "crdgen:", err)
			os.Exit(1)
		}
	}
}
