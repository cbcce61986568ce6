//go:build integration

package actuators_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// An observed target reads the capacity a shadow compares with from a real
// Prometheus (kube-state-metrics' series of a Deployment another autoscaler
// scales), follows it when it changes, fails the read when a query has no
// answer or is not a count of replicas, and never sets anything.
func TestObservedTargetReadsPrometheus(t *testing.T) {
	srv := promtest.Start(t)
	spec := srv.Gauge("kube_deployment_spec_replicas", "namespace", "deployment")
	ready := srv.Gauge("kube_deployment_status_replicas_ready", "namespace", "deployment")
	spec.WithLabelValues("shop", "web").Set(9)
	ready.WithLabelValues("shop", "web").Set(7)
	srv.WaitFor(t, `kube_deployment_status_replicas_ready{deployment="web"}`, 7, 30*time.Second)

	prom, err := sources.NewPrometheus(config.Prometheus{URL: srv.URL(), QueryTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	build := func(t *testing.T, tgt actuators.ObservedTarget) actuators.Actuator {
		t.Helper()
		if errs := tgt.Validate("web", nil); len(errs) > 0 {
			t.Fatal(errs)
		}
		a, err := tgt.New(actuators.Deps{Scaler: "web", Prometheus: func() (actuators.InstantQuerier, error) { return prom, nil }})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ctx := context.Background()
	a := build(t, actuators.ObservedTarget{
		Current: `sum(kube_deployment_spec_replicas{namespace="shop",deployment="web"})`,
		Ready:   `sum(kube_deployment_status_replicas_ready{namespace="shop",deployment="web"})`,
	})
	if got, err := a.Read(ctx); err != nil || got != (scaling.Capacity{Current: 9, Ready: 7}) {
		t.Fatalf("Read = %+v, %v; want current 9, ready 7 as Prometheus has them", got, err)
	}

	// The other autoscaler scales: the next read follows.
	spec.WithLabelValues("shop", "web").Set(12)
	ready.WithLabelValues("shop", "web").Set(12)
	srv.WaitFor(t, `kube_deployment_status_replicas_ready{deployment="web"}`, 12, 30*time.Second)
	if got, err := a.Read(ctx); err != nil || got != (scaling.Capacity{Current: 12, Ready: 12}) {
		t.Fatalf("Read after the change = %+v, %v; want 12 and 12", got, err)
	}

	// Never written: Set says why and changes nothing.
	if err := a.Set(ctx, 3, "test"); !errors.Is(err, actuators.ErrReadOnly) || !strings.Contains(err.Error(), "dry_run: true") {
		t.Errorf("Set = %v, want ErrReadOnly naming dry_run: true", err)
	}
	if got, _ := a.Read(ctx); got.Current != 12 {
		t.Errorf("after Set, current %d: want 12 still", got.Current)
	}

	// Without a ready query every replica counts as ready.
	if got, err := build(t, actuators.ObservedTarget{Current: `sum(kube_deployment_spec_replicas{deployment="web"})`}).Read(ctx); err != nil || got.Ready != 12 {
		t.Errorf("Read without ready = %+v, %v; want ready = current 12", got, err)
	}

	for _, tc := range []struct {
		name, current, want string
	}{
		{"no such series", `sum(kube_deployment_spec_replicas{deployment="nope"})`, "current: "},
		{"not a count", `sum(kube_deployment_spec_replicas{deployment="web"}) / 5`, "must be a whole number of replicas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := build(t, actuators.ObservedTarget{Current: tc.current}).Read(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read = %+v, %v; want an error containing %q", got, err, tc.want)
			}
		})
	}
}
