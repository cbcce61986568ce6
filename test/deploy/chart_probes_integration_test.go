//go:build integration

package deploy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/scaled-dev/scaled/internal/buildbin"
	"github.com/scaled-dev/scaled/internal/daemontest"
	"github.com/scaled-dev/scaled/internal/freeport"
	"github.com/scaled-dev/scaled/internal/testcert"
)

// helmBinary is the pinned helm hack/helm/install.sh built (SCALED_HELM
// names another). Missing, it skips, unless SCALED_REQUIRE_HELM is set.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SCALED_HELM"); p != "" {
		return p
	}
	cmd := exec.Command("bash", "hack/helm/install.sh", "--check")
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		if os.Getenv("SCALED_REQUIRE_HELM") != "" {
			t.Fatalf("helm is not built and SCALED_REQUIRE_HELM is set: run make helm (%v)", err)
		}
		t.Skip("helm is not built: make helm")
	}
	return strings.TrimSpace(string(out))
}

var scaled buildbin.Once

// builtScaled builds cmd/scaled once for the package's tests.
func builtScaled(t *testing.T) string {
	t.Helper()
	return scaled.Path(t, func() (string, error) {
		dir, err := os.MkdirTemp("", "scaled-chart-")
		return filepath.Join(dir, "scaled"), err
	})
}

// The parts of the rendered manifests the kubelet acts on.
type (
	renderedProbe struct {
		HTTPGet *struct {
			Path        string `yaml:"path"`
			Port        any    `yaml:"port"`
			Scheme      string `yaml:"scheme"`
			HTTPHeaders []struct {
				Name  string `yaml:"name"`
				Value string `yaml:"value"`
			} `yaml:"httpHeaders"`
		} `yaml:"httpGet"`
		InitialDelaySeconds int `yaml:"initialDelaySeconds"`
		PeriodSeconds       int `yaml:"periodSeconds"`
		TimeoutSeconds      int `yaml:"timeoutSeconds"`
		FailureThreshold    int `yaml:"failureThreshold"`
	}
	renderedContainer struct {
		Args []string `yaml:"args"`
		Env  []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		StartupProbe   *renderedProbe `yaml:"startupProbe"`
		ReadinessProbe *renderedProbe `yaml:"readinessProbe"`
		LivenessProbe  *renderedProbe `yaml:"livenessProbe"`
		VolumeMounts   []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	renderedObject struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name        string            `yaml:"name"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Data map[string]string `yaml:"data"`
		Spec struct {
			Replicas *int `yaml:"replicas"`
			Template struct {
				Spec struct {
					ServiceAccountName string              `yaml:"serviceAccountName"`
					Containers         []renderedContainer `yaml:"containers"`
					Volumes            []struct {
						Name      string `yaml:"name"`
						ConfigMap *struct {
							Name string `yaml:"name"`
						} `yaml:"configMap"`
						Secret *struct {
							SecretName string `yaml:"secretName"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
)

func helmTemplate(t *testing.T, args ...string) ([]renderedObject, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), append([]string{"template", "scaled", filepath.Join(root(t), "deploy", "helm", "scaled"), "--namespace", "scaled"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm template: %w: %s", err, stderr.String())
	}
	var objs []renderedObject
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o renderedObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("rendered manifests: %v", err)
		}
		if o.Kind != "" {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

func find(t *testing.T, objs []renderedObject, kind string) *renderedObject {
	t.Helper()
	for i := range objs {
		if objs[i].Kind == kind {
			return &objs[i]
		}
	}
	return nil
}

// pod starts the built binary as the rendered Deployment's container: its
// args and env, with every volume mount moved under a scratch folder, the
// ConfigMap's files from the rendering and the Secret's from secret. It
// returns the container, for its probes and ports.
func pod(t *testing.T, objs []renderedObject, secret map[string][]byte) renderedContainer {
	t.Helper()
	dep := find(t, objs, "Deployment")
	if dep == nil || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("the rendering has no Deployment with one container")
	}
	c := dep.Spec.Template.Spec.Containers[0]
	dir := t.TempDir()
	remap := map[string]string{}
	for _, m := range c.VolumeMounts {
		local := filepath.Join(dir, m.MountPath)
		if err := os.MkdirAll(local, 0o755); err != nil {
			t.Fatal(err)
		}
		remap[m.MountPath] = local
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			files := secret
			if v.ConfigMap != nil {
				var cm *renderedObject
				for i := range objs {
					if objs[i].Kind == "ConfigMap" && objs[i].Metadata.Name == v.ConfigMap.Name {
						cm = &objs[i]
					}
				}
				if cm == nil {
					t.Fatalf("volume %s: no ConfigMap %s in the rendering", v.Name, v.ConfigMap.Name)
				}
				files = map[string][]byte{}
				for k, s := range cm.Data {
					files[k] = []byte(s)
				}
			}
			for k, b := range files {
				if err := os.WriteFile(filepath.Join(local, k), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		for from, to := range remap {
			a = strings.ReplaceAll(a, from+"/", to+"/")
		}
		args[i] = a
	}
	// Outside a cluster there is no API server for the Lease: the rendered
	// config runs without leader election, its only change. The probes do
	// not depend on leadership (a standby is ready and live too).
	cfgPath := filepath.Join(remap["/etc/scaled"], "scaled.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["leader_election"] = map[string]any{"enabled": false}
	if b, err = yaml.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	env := []string{"POD_NAMESPACE=scaled", "KUBECONFIG=" + filepath.Join(dir, "no-kubeconfig")}
	for _, e := range c.Env {
		if e.Value != "" {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	daemontest.Start(t, builtScaled(t), daemontest.Options{Name: "scaled " + strings.Join(args, " "), Env: env}, args...)
	return c
}

// kubeletProbe performs one httpGet probe as the kubelet does: the pod's
// address, the named or numbered port, the scheme (HTTPS without verifying
// the certificate), the headers, timeoutSeconds (default 1); success is a
// status in 200..399.
func kubeletProbe(c renderedContainer, p *renderedProbe) (int, error) {
	port := 0
	switch v := p.HTTPGet.Port.(type) {
	case int:
		port = v
	case string:
		for _, cp := range c.Ports {
			if cp.Name == v {
				port = cp.ContainerPort
			}
		}
	}
	if port == 0 {
		return 0, fmt.Errorf("port %v: no such container port", p.HTTPGet.Port)
	}
	scheme := strings.ToLower(p.HTTPGet.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the kubelet does not verify a probe's certificate either
			DisableKeepAlives: true,
		},
	}
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, port, p.HTTPGet.Path), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "kube-probe/1.37")
	for _, h := range p.HTTPGet.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// probeLikeKubelet runs the container's startup probe (it must have one)
// until it succeeds within its failureThreshold x periodSeconds, then the readiness probe
// until the pod is ready within its own window, then the liveness probe
// failureThreshold times in a row, each of which must succeed.
func probeLikeKubelet(t *testing.T, c renderedContainer) {
	t.Helper()
	for _, p := range []struct {
		name  string
		probe *renderedProbe
	}{{"startupProbe", c.StartupProbe}, {"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no httpGet %s rendered", p.name)
		}
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil {
		t.FailNow()
	}
	until := func(name string, p *renderedProbe) {
		t.Helper()
		tries := max(p.FailureThreshold, 3)
		period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
		time.Sleep(time.Duration(p.InitialDelaySeconds) * time.Second)
		var last string
		for i := 0; i < tries; i++ {
			code, err := kubeletProbe(c, p)
			if err == nil && code >= 200 && code < 400 {
				return
			}
			last = fmt.Sprintf("status %d, error %v", code, err)
			time.Sleep(period)
		}
		t.Fatalf("%s %s://:%v%s never succeeded in %d tries: last %s", name, p.HTTPGet.Scheme, p.HTTPGet.Port, p.HTTPGet.Path, tries, last)
	}
	if c.StartupProbe != nil && c.StartupProbe.HTTPGet != nil {
		until("startupProbe", c.StartupProbe)
	}
	until("readinessProbe", c.ReadinessProbe)
	for i := 0; i < max(c.LivenessProbe.FailureThreshold, 1); i++ {
		if code, err := kubeletProbe(c, c.LivenessProbe); err != nil || code < 200 || code >= 400 {
			t.Fatalf("livenessProbe %s://:%v%s: status %d, error %v: the kubelet would restart the pod",
				c.LivenessProbe.HTTPGet.Scheme, c.LivenessProbe.HTTPGet.Port, c.LivenessProbe.HTTPGet.Path, code, err)
		}
	}
}

// freePorts returns n distinct ports nothing listens on now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := freeport.Ports(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// A config as a user gives it with --set-file config=FILE: its own listen
// port, one scaler whose Prometheus is unreachable (it ticks, with a failed
// signal, and changes nothing).
func userConfig(t *testing.T, listenPort int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "scaled.yaml")
	cfg := fmt.Sprintf(`dry_run: true
listen: :%d
interval: 2s
log: {level: info, format: json}
prometheus:
  url: http://127.0.0.1:9
scalers:
- name: web
  target:
    kind: log
    log: {initial: 2}
  signals:
  - name: rps
    query: sum(rate(http_requests_total{job="web"}[2m]))
  policies:
  - name: rps
    type: target_tracking
    target_tracking: {signal: rps, target_type: average_value, target: 50}
  bounds: {min: 2, max: 20}
`, listenPort)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// bcrypt of "s3cret" at the lowest cost (htpasswd -nbBC 4 alice s3cret).
const aliceBasicAuth = "basic_auth_users:\n  alice: $2a$04$j68owHmw/wxDdVMzdgqt7uWKm.lWFYRgmG6zAlhmR5yE7fFMWliPq\n"

// metricsStatus is GET /metrics on the metrics port with the given
// credentials ("" for none).
func metricsStatus(t *testing.T, c renderedContainer, scheme, user, pass string) int {
	t.Helper()
	port := 0
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			port = p.ContainerPort
		}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a self-signed test certificate
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s://127.0.0.1:%d/metrics", scheme, port), nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The chart with a web config that asks for basic auth, IRSA annotations
// and one replica renders a pod whose startup, readiness and liveness
// probes succeed when the kubelet runs them against the built binary
// started with the rendered arguments and files; the metrics port still
// asks for the password.
func TestChartProbesSucceedWithBasicAuth(t *testing.T) {
	ports := freePorts(t, 2)
	const role = "arn:aws:iam::123456789012:role/scaled"
	objs, err := helmTemplate(t, "--set-file", "config="+userConfig(t, ports[0]),
		"--set", fmt.Sprintf("probes.port=%d", ports[1]), "--set", "replicaCount=1",
		"--set", "web.configSecret=scaled-web", "--set", "scalerObjects.enabled=false",
		"--set", `serviceAccount.annotations.eks\.amazonaws\.com/role-arn=`+role)
	if err != nil {
		t.Fatal(err)
	}
	if sa := find(t, objs, "ServiceAccount"); sa == nil || sa.Metadata.Annotations["eks.amazonaws.com/role-arn"] != role {
		t.Errorf("ServiceAccount %+v: want the IRSA annotation %s", sa, role)
	}
	if pdb := find(t, objs, "PodDisruptionBudget"); pdb != nil {
		t.Error("a PodDisruptionBudget is rendered with one replica: it would hold every drain of its node")
	}
	c := pod(t, objs, map[string][]byte{"web.yml": []byte(aliceBasicAuth)})
	probeLikeKubelet(t, c)
	if code := metricsStatus(t, c, "http", "", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials = %d, want 401: the web config is not in force", code)
	}
	if code := metricsStatus(t, c, "http", "alice", "s3cret"); code != http.StatusOK {
		t.Errorf("/metrics as alice = %d, want 200", code)
	}
}

// With TLS and basic auth the probes go to the probe listener and succeed;
// with TLS alone they may go to the metrics port (probes.port=0) over HTTPS,
// on the port of the config's listen.
func TestChartProbesSucceedWithTLS(t *testing.T) {
	certPEM, keyPEM, err := testcert.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	tlsOnly := "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
	for _, tc := range []struct {
		name    string
		web     string
		set     []string
		scheme  string
		metrics int // /metrics without credentials
	}{
		{"TLS and basic auth on the probe listener", tlsOnly + aliceBasicAuth, []string{"web.tls=true"}, "HTTP", http.StatusUnauthorized},
		{"TLS alone on the metrics port", tlsOnly, []string{"web.tls=true", "probes.port=0"}, "HTTPS", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports := freePorts(t, 2)
			args := []string{"--set-file", "config=" + userConfig(t, ports[0]), "--set", "web.configSecret=scaled-web",
				"--set", "scalerObjects.enabled=false", "--set", fmt.Sprintf("probes.port=%d", ports[1])}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			objs, err := helmTemplate(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			c := pod(t, objs, map[string][]byte{"web.yml": []byte(tc.web), "cert.pem": certPEM, "key.pem": keyPEM})
			if got := c.LivenessProbe.HTTPGet.Scheme; got != tc.scheme {
				t.Errorf("liveness probe scheme %s, want %s", got, tc.scheme)
			}
			probeLikeKubelet(t, c)
			if code := metricsStatus(t, c, "https", "", ""); code != tc.metrics {
				t.Errorf("/metrics over HTTPS without credentials = %d, want %d", code, tc.metrics)
			}
		})
	}
}

// Renderings whose probes could never succeed, or whose PodDisruptionBudget
// would hold a drain, fail with a message naming the value.
func TestChartRefusesProbesThatCannotSucceed(t *testing.T) {
	ports := freePorts(t, 1)
	cfg := userConfig(t, ports[0])
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"basic auth on the probed port", []string{"--set", "web.configSecret=scaled-web", "--set", "probes.port=0"}, "probes.port: 0"},
		{"probe port is the listen port", []string{"--set", fmt.Sprintf("probes.port=%d", ports[0])}, "probes.port"},
		{"loopback listen", []string{"--set", "config.listen=127.0.0.1:9464"}, "config.listen"},
		{"minAvailable holds every replica", []string{"--set", "replicaCount=2", "--set", "podDisruptionBudget.minAvailable=2"}, "podDisruptionBudget.minAvailable"},
		{"unknown value", []string{"--set", "nodeSelectr.disk=ssd"}, "nodeSelectr"},
		{"wrong type", []string{"--set", "replicaCount=two"}, "replicaCount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.name != "loopback listen" {
				args = append([]string{"--set-file", "config=" + cfg}, args...)
			}
			_, err := helmTemplate(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template %v: %v, want an error naming %s", args, err, tc.want)
			}
		})
	}
}

// helmTemplateMaps renders the chart and returns the objects of a kind as
// plain maps.
func helmTemplateMaps(t *testing.T, kind string, args ...string) []map[string]any {
	t.Helper()
	cmd := exec.Command(helmBinary(t), append([]string{"template", "scaled", filepath.Join(root(t), "deploy", "helm", "scaled"), "--namespace", "scaled"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	var objs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if o["kind"] == kind {
			objs = append(objs, o)
		}
	}
	return objs
}

// dig follows keys through nested maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// A PodDisruptionBudget only where it cannot hold a drain: none with one
// replica; with more, one that lets one go and never counts a pod that is
// not ready.
func TestChartPodDisruptionBudget(t *testing.T) {
	if got := helmTemplateMaps(t, "PodDisruptionBudget", "--set", "replicaCount=1"); len(got) != 0 {
		t.Errorf("one replica: %d PodDisruptionBudgets, want none", len(got))
	}
	got := helmTemplateMaps(t, "PodDisruptionBudget")
	if len(got) != 1 {
		t.Fatalf("two replicas: %d PodDisruptionBudgets, want 1", len(got))
	}
	spec := dig(got[0], "spec")
	if dig(spec, "maxUnavailable") != 1 || dig(spec, "minAvailable") != nil || dig(spec, "unhealthyPodEvictionPolicy") != "AlwaysAllow" {
		t.Errorf("PodDisruptionBudget spec %v, want maxUnavailable 1 and unhealthyPodEvictionPolicy AlwaysAllow", spec)
	}
}

// The common values reach the pod: scheduling, pull secrets, annotations and
// labels, extra args and env, security contexts.
func TestChartCommonValues(t *testing.T) {
	def := helmTemplateMaps(t, "Deployment")
	if len(def) != 1 || dig(def[0], "spec", "template", "spec", "affinity", "podAntiAffinity") == nil {
		t.Error("by default the replicas are not spread over nodes (pod anti-affinity), as the kustomize base's are")
	}
	deps := helmTemplateMaps(t, "Deployment",
		"--set", "nodeSelector.disk=ssd",
		"--set", "tolerations[0].key=dedicated", "--set", "tolerations[0].operator=Exists",
		"--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=zone",
		"--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
		"--set", "topologySpreadConstraints[0].maxSkew=1", "--set", "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
		"--set", "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
		"--set", "priorityClassName=system-cluster-critical",
		"--set", "imagePullSecrets[0].name=regcred",
		"--set", "podAnnotations.team=platform", "--set", "podLabels.tier=control",
		"--set", "extraArgs[0]=--web.max-connections=256",
		"--set", "extraEnv[0].name=AWS_REGION", "--set", "extraEnv[0].value=eu-west-1",
		"--set", "podSecurityContext.fsGroup=65532", "--set", "securityContext.readOnlyRootFilesystem=true")
	if len(deps) != 1 {
		t.Fatalf("%d Deployments", len(deps))
	}
	pod := dig(deps[0], "spec", "template")
	spec := dig(pod, "spec")
	c := dig(spec, "containers").([]any)[0]
	for name, ok := range map[string]bool{
		"nodeSelector":              dig(spec, "nodeSelector", "disk") == "ssd",
		"tolerations":               fmt.Sprint(dig(spec, "tolerations")) == "[map[key:dedicated operator:Exists]]",
		"affinity":                  dig(spec, "affinity", "nodeAffinity") != nil && dig(spec, "affinity", "podAntiAffinity") == nil,
		"topologySpreadConstraints": len(dig(spec, "topologySpreadConstraints").([]any)) == 1,
		"priorityClassName":         dig(spec, "priorityClassName") == "system-cluster-critical",
		"imagePullSecrets":          fmt.Sprint(dig(spec, "imagePullSecrets")) == "[map[name:regcred]]",
		"podAnnotations":            dig(pod, "metadata", "annotations", "team") == "platform",
		"podLabels":                 dig(pod, "metadata", "labels", "tier") == "control" && dig(pod, "metadata", "labels", "app.kubernetes.io/name") == "scaled",
		"extraArgs":                 strings.Contains(fmt.Sprint(dig(c, "args")), "--web.max-connections=256"),
		"extraEnv":                  strings.Contains(fmt.Sprint(dig(c, "env")), "AWS_REGION"),
		"podSecurityContext":        dig(spec, "securityContext", "fsGroup") == 65532 && dig(spec, "securityContext", "runAsNonRoot") == true,
		"securityContext":           dig(c, "securityContext", "readOnlyRootFilesystem") == true,
	} {
		if !ok {
			t.Errorf("%s did not reach the pod: %v", name, pod)
		}
	}
}

// With TLS on, the ServiceMonitor scrapes over https, with what the web
// config asks of a scraper from monitoring.endpoint.
func TestChartServiceMonitorFollowsTheWebConfig(t *testing.T) {
	for _, tc := range []struct {
		tls    string
		scheme string
	}{{"false", "http"}, {"true", "https"}} {
		sms := helmTemplateMaps(t, "ServiceMonitor", "--set", "monitoring.enabled=true", "--set", "web.tls="+tc.tls,
			"--set", "web.configSecret=scaled-web", "--set", "monitoring.endpoint.basicAuth.username.name=scrape",
			"--set", "monitoring.endpoint.basicAuth.username.key=user")
		if len(sms) != 1 {
			t.Fatalf("%d ServiceMonitors", len(sms))
		}
		ep := dig(sms[0], "spec", "endpoints").([]any)[0]
		if dig(ep, "scheme") != tc.scheme || dig(ep, "port") != "metrics" || dig(ep, "basicAuth", "username", "key") != "user" {
			t.Errorf("web.tls=%s: endpoint %v, want scheme %s on port metrics with the basicAuth given", tc.tls, ep, tc.scheme)
		}
	}
}
