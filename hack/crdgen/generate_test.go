package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// The CRDs committed in deploy/ are what crdgen writes from the Go types
// and the registries as they are now.
func TestCommittedCRDsAreGenerated(t *testing.T) {
	want, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range committed {
		got, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what hack/crdgen writes: run make generate", f)
		}
	}
}

// generated is the CRD Generate writes, read back.
func generated(t *testing.T) apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	out, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	var c apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// committed are the CRD files make generate writes.
var committed = []string{"deploy/base/crd-scalers.yaml", "deploy/helm/scaled/crds/scalers.yaml"}

// kubectl explain documents every field of a Scaler: each has a
// description, from its Go doc comment.
func TestEveryFieldIsDescribed(t *testing.T) {
	c := generated(t)
	root := c.Spec.Versions[0].Schema.OpenAPIV3Schema
	var walk func(path string, s apiextensionsv1.JSONSchemaProps)
	n := 0
	walk = func(path string, s apiextensionsv1.JSONSchemaProps) {
		for k, p := range s.Properties {
			n++
			if p.Description == "" {
				t.Errorf("%s.%s has no description: give its Go field a doc comment", path, k)
			}
			walk(path+"."+k, p)
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(path+"[]", *s.Items.Schema)
		}
	}
	walk("spec", root.Properties["spec"])
	walk("status", root.Properties["status"])
	if n < 100 {
		t.Errorf("only %d fields: the blocks of the registered kinds are missing", n)
	}
}

// Every registered block is in the schema, beside the key that chooses it,
// with a rule that refuses it under another choice.
func TestEveryRegisteredBlockIsChosen(t *testing.T) {
	c := generated(t)
	spec := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	b := registered()
	for _, tc := range []struct {
		where string
		s     apiextensionsv1.JSONSchemaProps
		names map[string]bool
	}{
		{"target", spec.Properties["target"], keys(b.targets)},
		{"policies[]", *spec.Properties["policies"].Items.Schema, keys(b.policies)},
		{"signals[]", *spec.Properties["signals"].Items.Schema, keys(b.sources)},
	} {
		for name := range tc.names {
			if _, ok := tc.s.Properties[name]; !ok {
				t.Errorf("spec.%s has no %s block", tc.where, name)
			}
			found := false
			for _, r := range tc.s.XValidations {
				found = found || bytes.Contains([]byte(r.Rule), []byte("has(self."+name+")"))
			}
			if !found {
				t.Errorf("spec.%s: no rule checks the %s block", tc.where, name)
			}
		}
	}
	if _, ok := spec.Properties["name"]; ok {
		t.Error("spec.name is in the schema: a Scaler's name is its metadata.name")
	}
}

func keys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
