package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/simulate"
)

// defaultTuneTemplate is the template tune fills when --config is not
// given: the signals of examples/simulate/recommended.yaml, which read the
// model's load and share of the SLO capacity in use.
const defaultTuneTemplate = `prometheus:
  url: http://prometheus.monitoring.svc:9090
interval: 15s
scalers:
  - name: web
    target:
      kind: kubernetes
      kubernetes:
        api_version: apps/v1
        kind: Deployment
        namespace: shop
        name: web
    signals:
      # The request rate over the capacity per replica (7 req/s): the
      # replicas the load needs at the SLO (what a forecast learns).
      - name: load
        query: sum(rate(http_requests_total{namespace="shop",service="web"}[1m])) / 7
      # Requests per ready replica over the capacity per replica: 1 is the SLO.
      - name: slo_utilisation
        query: |
          sum(rate(http_requests_total{namespace="shop",service="web"}[1m]))
          /
          (7 * sum(kube_deployment_status_replicas_ready{namespace="shop",deployment="web"}))
    policies:
      - name: capacity
        type: target_tracking
        target_tracking: {signal: slo_utilisation, target_type: utilization, target: 0.8566}
    bounds:
      min: 1
      max: 1000
`

// tuneTemplate is a config whose one scaler tune fills with candidates:
// everything but the scaler's policies and behavior is kept as written.
type tuneTemplate struct {
	path   string
	doc    yaml.Node // the parsed file
	scaler *yaml.Node
	name   string
	roles  tuneRoles
	cfg    *config.Config
	max    int32 // bounds.max
}

func loadTuneTemplate(path, scaler string, binds map[string]string, p simulate.Params) (*tuneTemplate, error) {
	data := []byte(defaultTuneTemplate)
	if path != "" {
		var err error
		if data, err = readConfigFile(path); err != nil {
			return nil, err
		}
	} else {
		path = "the default template"
	}
	cfg, err := loadSimulationData(path, data)
	if err != nil {
		return nil, err
	}
	sc, err := simulate.SelectScaler(cfg, scaler)
	if err != nil {
		return nil, fmt.Errorf("--scaler: %w", err)
	}
	t := &tuneTemplate{path: path, name: sc.Name, cfg: cfg, max: sc.Bounds.Max}
	if err := yaml.Unmarshal(data, &t.doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if t.scaler = findScalerNode(&t.doc, sc.Name); t.scaler == nil {
		return nil, fmt.Errorf("--config %s: a Scaler manifest as the template: give a config file (scalers: [...]); --scaler-object writes the result as a manifest", path)
	}
	bound, err := simulate.BindSignals(sc, binds)
	if err != nil {
		return nil, err
	}
	for _, s := range sc.Signals {
		switch bound[s.Name] {
		case simulate.ObserveLoad:
			if t.roles.load == "" {
				t.roles.load = s.Name
			}
		case simulate.ObserveSLOUtilisation:
			t.roles.util, t.roles.utilScale = s.Name, 1
		case simulate.ObserveUtilisation:
			if t.roles.util == "" {
				t.roles.util, t.roles.utilScale = s.Name, p.C()/p.Mu
			}
		}
	}
	if t.roles.util == "" {
		return nil, fmt.Errorf("--config %s: scaler %s has no signal bound to slo_utilisation or utilisation: "+
			"tune needs one for target tracking and the HPA-equivalent config (name a signal so, or --bind SIGNAL=slo_utilisation)", path, sc.Name)
	}
	return t, nil
}

// findScalerNode is the mapping of the scaler named name in a config file.
func findScalerNode(doc *yaml.Node, name string) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	scalers := mapValue(doc.Content[0], "scalers")
	if scalers == nil || scalers.Kind != yaml.SequenceNode {
		return nil
	}
	for _, s := range scalers.Content {
		if n := mapValue(s, "name"); n != nil && n.Value == name {
			return s
		}
	}
	return nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setMapValue sets key to v in m, in place when it is there, after the
// key after (or at the end) when it is not; a nil v removes it.
func setMapValue(m *yaml.Node, key string, v *yaml.Node, after string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if v == nil {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
			} else {
				m.Content[i+1] = v
			}
			return
		}
	}
	if v == nil {
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	at := len(m.Content)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == after {
			at = i + 2
		}
	}
	m.Content = append(m.Content[:at], append([]*yaml.Node{k, v}, m.Content[at:]...)...)
}

// render is the template with the scaler's policies and behavior replaced,
// and header as the file's leading comment. A nil behavior leaves every
// guard at its default.
func (t *tuneTemplate) render(header string, policies []any, behavior map[string]any) ([]byte, error) {
	doc := deepCopyNode(&t.doc)
	sc := findScalerNode(doc, t.name)
	var pn yaml.Node
	if err := pn.Encode(policies); err != nil {
		return nil, err
	}
	// A policy reads as the docs write one: its name and type first.
	for _, p := range pn.Content {
		for _, key := range []string{"type", "name"} {
			if v := mapValue(p, key); v != nil {
				setMapValue(p, key, nil, "")
				p.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v}, p.Content...)
			}
		}
	}
	setMapValue(sc, "policies", &pn, "signals")
	var bn *yaml.Node
	if behavior != nil {
		bn = &yaml.Node{}
		if err := bn.Encode(behavior); err != nil {
			return nil, err
		}
	}
	setMapValue(sc, "behavior", bn, "bounds")
	root := doc.Content[0]
	doc.HeadComment = ""
	if len(root.Content) > 0 {
		root.Content[0].HeadComment = ""
	}
	root.HeadComment = header
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// manifest is a rendered config's scaler as a Scaler object
// NAMESPACE/NAME: its spec is the scaler without its name.
func (t *tuneTemplate) manifest(rendered []byte, object string) ([]byte, error) {
	ns, name, ok := strings.Cut(object, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("--scaler-object: %q: must be NAMESPACE/NAME", object)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(rendered, &doc); err != nil {
		return nil, err
	}
	sc := findScalerNode(&doc, t.name)
	if sc == nil {
		return nil, errors.New("the rendered config lost its scaler")
	}
	spec := deepCopyNode(sc)
	setMapValue(spec, "name", nil, "")
	// The object's namespace is the target's: scaled adds it.
	if k := mapValue(mapValue(spec, "target"), "kubernetes"); k != nil {
		setMapValue(k, "namespace", nil, "")
	}
	spec.HeadComment = ""
	obj := map[string]any{
		"apiVersion": "scaled.dev/v1alpha1",
		"kind":       "Scaler",
		"metadata":   map[string]any{"namespace": ns, "name": name},
	}
	var on yaml.Node
	if err := on.Encode(obj); err != nil {
		return nil, err
	}
	setMapValue(&on, "spec", spec, "metadata")
	on.HeadComment = doc.Content[0].HeadComment
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&on); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

func deepCopyNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = deepCopyNode(k)
	}
	c.Alias = deepCopyNode(n.Alias)
	return &c
}
