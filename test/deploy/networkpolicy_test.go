package deploy

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Both installs hold a NetworkPolicy by default that admits the
// monitoring namespace (Prometheus) to the port the probes and metrics
// use: the kustomize base lists it, and the chart turns it on unless told
// not to, with a place for the nodes' addresses (kubelet probes).
func TestNetworkPolicyIsOnByDefault(t *testing.T) {
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(read(t, "deploy/base/kustomization.yaml"), &kust); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range kust.Resources {
		if strings.HasPrefix(r, "..") || !strings.HasSuffix(r, ".yaml") {
			continue
		}
		var obj struct {
			Kind string `yaml:"kind"`
			Spec struct {
				PolicyTypes []string `yaml:"policyTypes"`
				Ingress     []struct {
					From []struct {
						NamespaceSelector struct {
							MatchLabels map[string]string `yaml:"matchLabels"`
						} `yaml:"namespaceSelector"`
					} `yaml:"from"`
					Ports []struct {
						Port string `yaml:"port"`
					} `yaml:"ports"`
				} `yaml:"ingress"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal(read(t, "deploy/base/"+r), &obj); err != nil || obj.Kind != "NetworkPolicy" {
			continue
		}
		found = true
		s := obj.Spec
		if !slices.Equal(s.PolicyTypes, []string{"Ingress"}) || len(s.Ingress) != 1 || len(s.Ingress[0].From) == 0 ||
			s.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" ||
			len(s.Ingress[0].Ports) != 1 || s.Ingress[0].Ports[0].Port != "metrics" {
			t.Errorf("%s does not admit the monitoring namespace to the metrics port alone: %+v", r, s)
		}
	}
	if !found {
		t.Errorf("deploy/base lists no NetworkPolicy among %v", kust.Resources)
	}
	if dep := string(read(t, "deploy/base/deployment.yaml")); !strings.Contains(dep, "- name: metrics") ||
		!strings.Contains(dep, "httpGet: {path: /healthz, port: metrics}") {
		t.Error("the base's probes are not on the port named metrics, which the NetworkPolicy admits")
	}

	var values struct {
		NetworkPolicy struct {
			Enabled     bool             `yaml:"enabled"`
			From        []map[string]any `yaml:"from"`
			KubeletFrom []map[string]any `yaml:"kubeletFrom"`
		} `yaml:"networkPolicy"`
	}
	if err := yaml.Unmarshal(read(t, "deploy/helm/scaled/values.yaml"), &values); err != nil {
		t.Fatal(err)
	}
	if np := values.NetworkPolicy; !np.Enabled || len(np.From) == 0 {
		t.Errorf("the chart's networkPolicy is not on by default with a peer: %+v", np)
	}
	if tpl := string(read(t, "deploy/helm/scaled/templates/networkpolicy.yaml")); !strings.Contains(tpl, ".Values.networkPolicy.kubeletFrom") {
		t.Error("the chart's NetworkPolicy does not admit networkPolicy.kubeletFrom (the nodes, for kubelet probes)")
	}
}
