package actuators

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/scaled-dev/scaled/pkg/config"
)

// Every way a Kubernetes call fails is counted under a reason that says
// why; a 429 is throttling, not "other".
func TestKubernetesErrorsAreCountedByReason(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	m := NewKubeMetrics(prometheus.NewRegistry())
	k, err := NewKubernetes(config.KubernetesTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: "web"},
		KubernetesOptions{Clients: &KubeClients{}, Scaler: "web", Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		err    error
		reason string
	}{
		{"429", apierrors.NewTooManyRequests("the server has received too many requests", 2), reasonThrottled},
		{"server timeout", apierrors.NewServerTimeout(gr, "update", 1), reasonTimeout},
		{"gateway timeout", apierrors.NewTimeoutError("request did not complete", 1), reasonTimeout},
		{"the tick's deadline", fmt.Errorf("Get: %w", context.DeadlineExceeded), reasonTimeout},
		{"not found", apierrors.NewNotFound(gr, "web"), reasonNotFound},
		{"forbidden", apierrors.NewForbidden(gr, "web", errors.New("rbac")), reasonForbidden},
		{"anything else", errors.New("connection reset by peer"), reasonOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(m.errors.WithLabelValues("web", tc.reason))
			_ = k.fail("read scale", tc.err)
			if got := testutil.ToFloat64(m.errors.WithLabelValues("web", tc.reason)); got != before+1 {
				t.Errorf("scaled_kubernetes_target_errors_total{reason=%q} went from %v to %v, want one more", tc.reason, before, got)
			}
		})
	}
	before := testutil.CollectAndCount(m.errors)
	if err := k.fail("read scale", context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancellation became %v", err)
	}
	total := 0.0
	for _, r := range kubeErrorReasons {
		total += testutil.ToFloat64(m.errors.WithLabelValues("web", r))
	}
	if total != 7 || testutil.CollectAndCount(m.errors) != before {
		t.Errorf("a cancellation (shutdown) was counted: %v errors in all, want 7", total)
	}
}
