//go:build kube

package kube

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/internal/promtest"
)

// A Scaler, written by a team in its namespace, scales its Deployment on
// a real Prometheus signal read only from its namespace's series; its
// status, printer columns and Events say what scaled decided; an edit
// changes the decision, an invalid edit is refused while the last valid
// spec keeps running, and deleting it stops it and leaves the Deployment
// as it is. scaled runs as deploy/base's service account.
func TestScalerObjectsScaleAndReport(t *testing.T) {
	c := scalersCluster(t)
	admin, dyn := c.admin, c.dyn
	ctx := context.Background()
	shop, bank := c.namespace(t, "shop", 1, "web"), c.namespace(t, "bank", 1, "web")
	prom := promtest.Start(t)
	rps := prom.Gauge("app_rps", "namespace", "deployment")
	rps.WithLabelValues(shop, "web").Set(30)
	rps.WithLabelValues(bank, "web").Set(1000) // what a query that is not confined would add
	prom.WaitFor(t, fmt.Sprintf(`sum(app_rps{namespace=%q})`, shop), 30, 30*time.Second)

	d := c.objectsDaemon(t, "scaled-objects", prom.URL(), time.Second, fmt.Sprintf(`status_refresh: 1m
  allow_aws: [{namespace: %s, resources: ["aurora:orders-db"]}]`, bank), shop, bank)

	spec := func(target int, signal string) string {
		return fmt.Sprintf(`target: {kind: kubernetes, kubernetes: {api_version: apps/v1, kind: Deployment, name: web}}
signals: [{name: rps, query: 'sum(app_rps{deployment="web"})'}]
policies: [{name: rps, type: target_tracking, target_tracking: {signal: %s, target_type: average_value, target: %d}}]
bounds: {min: 1, max: 8}
behavior: {scale_down: {stabilization_window: 0s}}
`, signal, target)
	}
	apply := func(name, spec string) {
		t.Helper()
		if out, err := kubectl(t, scalerManifest(shop, name, spec), "apply", "-f", "-"); err != nil {
			t.Fatalf("apply %s: %v\n%s", name, err, out)
		}
	}
	replicas := func(ns string) int32 { return c.replicas(t, ns, "web") }

	apply("web", spec(10, "rps"))
	kubetest.Eventually(t, 30*time.Second, "30 req/s at 10 per replica: 3 replicas (the other namespace's 1000 unseen)",
		func() (bool, error) { return replicas(shop) == 3, nil })

	t.Run("status, columns and events", func(t *testing.T) {
		kubetest.Eventually(t, 60*time.Second, "status: 3 current, desired and ready; Ready, Active", func() (bool, error) {
			_, s := scalerObject(t, dyn, shop, "web")
			ready, _ := condition(s, "Ready")
			active, _ := condition(s, "Active")
			ok := s.ObservedGeneration == 1 && s.Current != nil && *s.Current == 3 && *s.Desired == 3 && *s.Ready == 3 &&
				ready == "True TargetFound" && active == "True Acting" && len(s.Signals) == 1 && s.Signals[0].Value == "30"
			return ok, fmt.Errorf("status %+v", s)
		})
		_, s := scalerObject(t, dyn, shop, "web")
		for typ, want := range map[string]string{"Limited": "False WithinLimits", "SignalFailing": "False SignalsOK"} {
			if got, msg := condition(s, typ); got != want {
				t.Errorf("%s = %s (%s), want %s", typ, got, msg, want)
			}
		}
		out, err := kubectl(t, nil, "get", "scalers", "-n", shop)
		if err != nil {
			t.Fatal(err)
		}
		rows := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(rows) != 2 || strings.Join(strings.Fields(rows[1])[:8], " ") != "web Deployment/web 1 8 3 3 3 unchanged" {
			t.Errorf("kubectl get scalers:\n%s\nwant the row: web Deployment/web 1 8 3 3 3 unchanged <age>", out)
		}
		evs, err := admin.CoreV1().Events(shop).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Scaler,involvedObject.name=web,reason=Scaled"})
		if err != nil || len(evs.Items) == 0 || !strings.HasPrefix(evs.Items[0].Message, "Scaled Deployment/web from 1 to 3: ") {
			t.Errorf("events on the Scaler = %+v, %v; want Scaled Deployment/web from 1 to 3", evs, err)
		}
	})

	t.Run("an edit changes the decision", func(t *testing.T) {
		apply("web", spec(5, "rps"))
		kubetest.Eventually(t, 30*time.Second, "5 per replica: 6 replicas, generation 2 observed", func() (bool, error) {
			_, s := scalerObject(t, dyn, shop, "web")
			return replicas(shop) == 6 && s.ObservedGeneration == 2, nil
		})
	})

	t.Run("bounds hold and say so", func(t *testing.T) {
		rps.WithLabelValues(shop, "web").Set(500)
		kubetest.Eventually(t, 30*time.Second, "500 req/s wants 100: held at 8, Limited", func() (bool, error) {
			_, s := scalerObject(t, dyn, shop, "web")
			limited, _ := condition(s, "Limited")
			return replicas(shop) == 8 && limited == "True Bounds", fmt.Errorf("limited %s", limited)
		})
	})

	t.Run("a failed signal holds and says so", func(t *testing.T) {
		rps.DeleteLabelValues(shop, "web")
		kubetest.Eventually(t, 30*time.Second, "SignalFailing", func() (bool, error) {
			_, s := scalerObject(t, dyn, shop, "web")
			failing, msg := condition(s, "SignalFailing")
			return failing == "True Empty", fmt.Errorf("%s: %s", failing, msg)
		})
		if n := replicas(shop); n != 8 {
			t.Errorf("replicas = %d while the signal failed, want 8 held", n)
		}
		rps.WithLabelValues(shop, "web").Set(30)
		kubetest.Eventually(t, 30*time.Second, "back to 6 at 30 req/s", func() (bool, error) { return replicas(shop) == 6, nil })
	})

	t.Run("an invalid edit is refused and the last valid spec keeps running", func(t *testing.T) {
		apply("web", spec(5, "latency"))
		kubetest.Eventually(t, 30*time.Second, "Ready=False InvalidSpec", func() (bool, error) {
			_, s := scalerObject(t, dyn, shop, "web")
			ready, msg := condition(s, "Ready")
			return ready == "False InvalidSpec" && s.ObservedGeneration == 3 &&
				strings.Contains(msg, `spec.policies[0].target_tracking.signal: "latency": must name one of the scaler's signals: rps`), fmt.Errorf("%s: %s", ready, msg)
		})
		rps.WithLabelValues(shop, "web").Set(40)
		kubetest.Eventually(t, 30*time.Second, "the last valid spec (5 per replica) scales to 8", func() (bool, error) { return replicas(shop) == 8, nil })
	})

	t.Run("tenancy", func(t *testing.T) {
		dev := userWithRole(t, admin, shop, "dev", "edit")
		own := "target: {kind: log}\nsignals: [{name: rps, query: 'sum(app_rps)'}]\n" +
			"policies: [{name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: value, target: 10}}]\nbounds: {max: 3}\n"
		if _, err := kubectlAs(t, "dev", dev, scalerManifest(shop, "dev-web", own), "apply", "-f", "-"); err != nil {
			t.Errorf("a user with edit in %s cannot create a Scaler there: %v", shop, err)
		}
		if _, err := kubectlAs(t, "dev", dev, scalerManifest(bank, "dev-web", own), "apply", "-f", "-"); err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Errorf("a user with edit in %s created a Scaler in %s: %v", shop, bank, err)
		}
		viewer := userWithRole(t, admin, shop, "viewer", "view")
		if out, err := kubectlAs(t, "viewer", viewer, nil, "get", "scalers", "-n", shop); err != nil || !strings.Contains(string(out), "dev-web") {
			t.Errorf("a user with view cannot list Scalers: %v\n%s", err, out)
		}
		if _, err := kubectlAs(t, "viewer", viewer, nil, "delete", "scaler", "dev-web", "-n", shop); err == nil {
			t.Error("a user with view deleted a Scaler")
		}

		steal := strings.Replace(spec(1, "rps"), "name: web}", fmt.Sprintf("namespace: %s, name: web}", bank), 1)
		peek := strings.Replace(spec(10, "rps"), `sum(app_rps{deployment="web"})`, fmt.Sprintf(`sum(app_rps{namespace="%s"})`, bank), 1)
		aws := "target: {kind: aurora, aurora: {cluster_identifier: orders-db}}\nsignals: [{name: rps, query: 'sum(app_rps)'}]\n" +
			"policies: [{name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: value, target: 10}}]\nbounds: {max: 3}\n"
		for name, tc := range map[string]struct{ spec, want string }{
			"steal": {steal, fmt.Sprintf(`spec.target.kubernetes.namespace: %q: must be the Scaler's own namespace, %q`, bank, shop)},
			"peek":  {peek, fmt.Sprintf(`reads series outside the Scaler's namespace: its matcher namespace=%q conflicts with namespace=%q`, bank, shop)},
			"aws":   {aws, fmt.Sprintf(`spec.target.aurora.cluster_identifier: "aurora:orders-db": is not allowed in namespace %q`, shop)},
		} {
			if out, err := kubectlAs(t, "dev", dev, scalerManifest(shop, name, tc.spec), "apply", "-f", "-"); err != nil {
				t.Fatalf("apply %s: %v\n%s", name, err, out)
			}
			kubetest.Eventually(t, 30*time.Second, name+" refused", func() (bool, error) {
				_, s := scalerObject(t, dyn, shop, name)
				ready, msg := condition(s, "Ready")
				return ready == "False InvalidSpec" && strings.Contains(msg, tc.want), fmt.Errorf("%s: %s", ready, msg)
			})
		}
		// bank's grant of aurora:orders-db fixes the owner tag, which decides
		// the readers scaled may delete: a Scaler of bank may not name shop's.
		owner := strings.Replace(aws, "cluster_identifier: orders-db}", "cluster_identifier: orders-db, owner: "+shop+"/web}", 1)
		if out, err := kubectl(t, scalerManifest(bank, "owner", owner), "apply", "-f", "-"); err != nil {
			t.Fatalf("apply owner: %v\n%s", err, out)
		}
		wantOwner := fmt.Sprintf(`spec.target.aurora.owner: "%s/web": must be unset: scaler_objects.allow_aws[0] fixes it`, shop)
		kubetest.Eventually(t, 30*time.Second, "a grant's owner refused", func() (bool, error) {
			_, s := scalerObject(t, dyn, bank, "owner")
			ready, msg := condition(s, "Ready")
			return ready == "False InvalidSpec" && strings.Contains(msg, wantOwner), fmt.Errorf("%s: %s", ready, msg)
		})
		time.Sleep(3 * time.Second) // three ticks in which a Scaler that ran could have acted
		if n := replicas(bank); n != 1 {
			t.Errorf("%s's Deployment has %d replicas, want its own 1", bank, n)
		}
	})

	t.Run("deleting a Scaler stops it and leaves the Deployment alone", func(t *testing.T) {
		if _, err := kubectl(t, nil, "delete", "scaler", "web", "-n", shop); err != nil {
			t.Fatal(err)
		}
		kubetest.Eventually(t, 30*time.Second, "the scaler stopped", func() (bool, error) {
			return d.logHas(t, "scaler removed", shop+"/web"), nil
		})
		rps.WithLabelValues(shop, "web").Set(10)
		time.Sleep(3 * time.Second)
		if n := replicas(shop); n != 8 {
			t.Errorf("replicas = %d after the Scaler was deleted, want 8 left as they were", n)
		}
	})
}

// scalersCluster is the start of a test of Scaler objects: the shared
// control plane, with the Scaler kind served.
func scalersCluster(t *testing.T) *cluster {
	t.Helper()
	scalersServed(t)
	return sharedCluster(t)
}
