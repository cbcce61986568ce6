package actuators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"
)

// timeoutError is a network error that timed out, as net/http returns.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var _ net.Error = timeoutError{}

// Every way a Kubernetes call fails is counted under a reason that says
// why; a 429 is throttling, not "other".
func TestKubernetesErrorsAreCountedByReason(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	k := &Kubernetes{}
	for _, tc := range []struct {
		name   string
		err    error
		reason string
	}{
		{"429", apierrors.NewTooManyRequests("the server has received too many requests", 2), KubeThrottled},
		{"server timeout", apierrors.NewServerTimeout(gr, "update", 1), ReasonTimeout},
		{"gateway timeout", apierrors.NewTimeoutError("request did not complete", 1), ReasonTimeout},
		{"the tick's deadline", fmt.Errorf("Get: %w", context.DeadlineExceeded), ReasonTimeout},
		{"a network timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}, ReasonTimeout},
		{"not found", apierrors.NewNotFound(gr, "web"), KubeNotFound},
		{"forbidden", apierrors.NewForbidden(gr, "web", errors.New("rbac")), KubeForbidden},
		{"anything else", errors.New("connection reset by peer"), ReasonOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorReason(k.fail("read scale", tc.err)); got != tc.reason {
				t.Errorf("reason %q, want %q", got, tc.reason)
			}
		})
	}
}

// A cancellation (shutdown, a removed scaler) is not a failure of the
// target: it is neither counted nor timed.
func TestCancellationIsNotCounted(t *testing.T) {
	canceled := (&Kubernetes{}).fail("read scale", context.Canceled)
	if !errors.Is(canceled, context.Canceled) {
		t.Fatalf("a cancellation became %v", canceled)
	}
	target := &scriptedTarget{clk: clocktesting.NewFakePassiveClock(time.Unix(0, 0)), errs: []error{canceled, fmt.Errorf("set: %w", context.Canceled), errors.New("refused")}}
	obs := &observedTarget{}
	a := Instrument(target, obs)
	ctx := context.Background()
	_, _ = a.Read(ctx)
	_ = a.Set(ctx, 3, "down")
	_, _ = a.Read(ctx)
	if diff := cmp.Diff([]string{"read other"}, obs.calls); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}
