package v1alpha1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/config"
)

// DefaultNamespace is the namespace of a manifest that names none, as
// kubectl apply sends it without --namespace.
const DefaultNamespace = "default"

// Manifest is one Scaler object of a YAML file, as scaled check and scaled
// simulate read them.
type Manifest struct {
	Namespace, Name string
	// Line is where the object's document starts.
	Line int
	// Scaler is what the object runs; with Problems, it must not run.
	Scaler   config.Scaler
	Problems field.ErrorList
}

// Key is the object's namespace/name.
func (m Manifest) Key() string { return Key(m.Namespace, m.Name) }

// topKeys are the keys a Scaler object may hold.
var topKeys = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// ReadManifests reads the Scaler objects of a YAML file (documents apart
// by ---), each checked as Spec checks an object from the API server,
// beside cfg, with the file's line numbers in its problems. Documents of
// other kinds are skipped, as a file that kubectl applies may hold a
// Deployment too. It returns no manifest when the file holds no Scaler: a
// config file. The error is a YAML syntax error.
func ReadManifests(data []byte, cfg *config.Config) ([]Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Manifest
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if m, ok := readManifest(&doc, cfg); ok {
			out = append(out, m)
		}
	}
}

// readManifest reads one document, and false when it is not a Scaler.
func readManifest(doc *yaml.Node, cfg *config.Config) (Manifest, bool) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return Manifest{}, false
	}
	keys := map[string]*yaml.Node{}
	var errs field.ErrorList
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		keys[k.Value] = root.Content[i+1]
		if !slices.Contains(topKeys, k.Value) {
			errs = append(errs, fielderr.Invalid(field.NewPath(k.Value), fielderr.Shown(fmt.Sprintf("unknown key on line %d", k.Line)), "%s", fielderr.OneOf(topKeys)))
		}
	}
	apiVersion, kind := scalarOf(keys["apiVersion"]), scalarOf(keys["kind"])
	if kind != Kind || (apiVersion != APIVersion && !strings.HasPrefix(apiVersion, Group+"/")) {
		return Manifest{}, false
	}
	m := Manifest{Line: root.Line, Namespace: DefaultNamespace}
	if apiVersion != APIVersion {
		errs = append(errs, fielderr.Invalid(field.NewPath("apiVersion"), apiVersion, "must be %s", APIVersion))
	}
	if md := keys["metadata"]; md != nil && md.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(md.Content); i += 2 {
			switch md.Content[i].Value {
			case "name":
				m.Name = md.Content[i+1].Value
			case "namespace":
				m.Namespace = md.Content[i+1].Value
			}
		}
	}
	mp := field.NewPath("metadata")
	if msgs := validation.IsDNS1123Subdomain(m.Name); len(msgs) > 0 {
		errs = append(errs, fielderr.Invalid(mp.Child("name"), m.Name, "must be a DNS subdomain name: at most 253 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit"))
	}
	if msgs := validation.IsDNS1123Label(m.Namespace); len(msgs) > 0 {
		errs = append(errs, fielderr.Invalid(mp.Child("namespace"), m.Namespace, "must be a DNS label: at most 63 lower-case letters, digits or '-'"))
	}
	spec := keys["spec"]
	if spec == nil {
		m.Scaler.Name = m.Key()
		m.Problems = append(errs, fielderr.Required(specPath, nil, "must be a mapping holding the scaler"))
		return m, true
	}
	sc, decoded := config.DecodeScalerNode(spec, m.Key(), m.Namespace, specPath)
	m.Scaler = sc
	m.Problems = append(errs, check(&m.Scaler, m.Namespace, cfg, decoded)...)
	return m, true
}

func scalarOf(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
