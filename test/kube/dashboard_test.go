//go:build kube

package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/prometheus/common/model"

	"github.com/scaled-dev/scaled/internal/daemontest"
	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/internal/promtest"
)

// The Grafana dashboard's queries, against a real Prometheus scraping a
// running scaled (acting on a real API server, with leader election): every
// panel, and the scaler variable, returns data.
func TestDashboardPanelsReturnData(t *testing.T) {
	c := sharedCluster(t)
	admin := c.admin
	ns := c.namespace(t, "dashboard", 2, "web", "owned")
	ctx := context.Background()
	// An HPA owns "owned": scaled refuses to act on it, which fills the error panels.
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "owned"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "owned"},
			MinReplicas:    ptr.To(int32(1)), MaxReplicas: 5,
		},
	}
	if _, err := admin.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	listen := daemontest.FreeAddr(t)
	prom := promtest.Start(t, promtest.WithTarget("scaled", listen))
	prom.Gauge("app_load").WithLabelValues().Set(60)
	prom.WaitFor(t, "app_load", 60, 20*time.Second)
	scaler := func(name, query string) string {
		return fmt.Sprintf(`
- name: %[1]s
  target: {kind: kubernetes, kubernetes: {api_version: apps/v1, kind: Deployment, namespace: %[2]s, name: %[1]s}}
  signals: [{name: load, query: '%[3]s'}]
  policies: [{name: load, type: target_tracking, target_tracking: {signal: load, target_type: average_value, target: 10}}]
  bounds: {min: 1, max: 10}`, name, ns, query)
	}
	cfg := filepath.Join(t.TempDir(), "scaled.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
prometheus: {url: %s, query_timeout: 2s}
interval: 1s
log: {level: info, format: json}
metrics: {policy_series: true} # the per-policy panel
leader_election: {enabled: true, namespace: %s, lease_name: dashboard, lease_duration: 4s, renew_deadline: 3s, retry_period: 500ms}
scalers:%s%s%s
`, prom.URL(), ns, scaler("web", "app_load"), scaler("owned", "app_load"), scaler("missing", "app_missing"))), 0o600); err != nil {
		t.Fatal(err)
	}
	c.deploy(t, ns, "missing", 2)
	daemontest.Start(t, buildScaled(t), daemontest.Options{
		Addr: listen, Env: []string{"KUBECONFIG=" + c.WriteKubeconfig("dashboard-admin", c.AdminToken)}, Log: filepath.Join(t.TempDir(), "scaled.log"),
	}, "run", "--config", cfg, "--listen", listen)

	panels := dashboardQueries(t)
	var missing []string
	kubetest.Eventually(t, 90*time.Second, "every panel returns data", func() (bool, error) {
		missing = missing[:0]
		for _, q := range panels {
			if !hasData(t, prom, q.expr) {
				missing = append(missing, fmt.Sprintf("%s: %s", q.title, q.expr))
			}
		}
		return len(missing) == 0, nil
	})
	if len(missing) > 0 {
		t.Errorf("panels without data:\n%s", strings.Join(missing, "\n"))
	}
	t.Logf("%d panel queries return data", len(panels))
}

type panelQuery struct{ title, expr string }

// dashboardQueries are the expressions of deploy/grafana's dashboard, with
// its scaler variable set to every scaler, and the variable's own query.
func dashboardQueries(t *testing.T) []panelQuery {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "grafana", "scaled-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	var out []panelQuery
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			if tg.Expr != "" {
				out = append(out, panelQuery{p.Title, strings.ReplaceAll(tg.Expr, "$scaler", ".*")})
			}
		}
	}
	for _, v := range dash.Templating.List {
		// label_values(METRIC, LABEL): the variable has values when METRIC has series.
		if m, ok := strings.CutPrefix(v.Definition, "label_values("); ok {
			metric, _, _ := strings.Cut(m, ",")
			out = append(out, panelQuery{"variable " + v.Name, "count by (scaler) (" + strings.TrimSpace(metric) + ")"})
		}
	}
	if len(out) < 15 {
		t.Fatalf("read %d queries from the dashboard", len(out))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].title < out[j].title })
	return out
}

// hasData reports whether expr returns at least one sample that is a number.
func hasData(t *testing.T, prom *promtest.Server, expr string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, _, _, err := prom.API().Query(ctx, expr, time.Now())
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return false
	}
	for _, s := range vec {
		if !math.IsNaN(float64(s.Value)) {
			return true
		}
	}
	return false
}
