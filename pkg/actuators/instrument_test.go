package actuators

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// observedTarget records what Instrument reports, as "op reason".
type observedTarget struct {
	mu    sync.Mutex
	calls []string
	took  []time.Duration
}

func (o *observedTarget) ObserveTarget(op string, took time.Duration, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, op+" "+reason)
	o.took = append(o.took, took)
}

// scriptedTarget answers each call with the next error, advancing a clock.
type scriptedTarget struct {
	clk    *clocktesting.FakePassiveClock
	errs   []error
	status string
}

func (s *scriptedTarget) next() error {
	s.clk.SetTime(s.clk.Now().Add(time.Second))
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

func (s *scriptedTarget) Read(context.Context) (scaling.Capacity, error) {
	return scaling.Capacity{}, s.next()
}
func (s *scriptedTarget) Set(context.Context, int32, string) error { return s.next() }
func (s *scriptedTarget) Status() string                           { return s.status }

func TestInstrumentTimesAndNamesEveryCall(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(0, 0))
	gone := apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web")
	target := &scriptedTarget{clk: clk, status: "readers 1 creating", errs: []error{
		nil,
		&LimitedError{Asked: 20, Got: 15, Reason: "aurora allows at most 15 readers"},
		&AWSError{Kind: AWSThrottled, Op: "DescribeDBClusters", Err: errors.New("rate exceeded")},
		fmt.Errorf("set: %w", context.DeadlineExceeded),
		(&Kubernetes{}).fail("read scale", gone),
		&KubernetesError{Kind: KubeConflict, Err: errors.New("conflict")},
		errors.New("connection refused"),
	}}
	obs := &observedTarget{}
	a := Instrument(target, obs)
	a.(*instrumented).clock = clk
	ctx := context.Background()
	_, _ = a.Read(ctx)
	_ = a.Set(ctx, 20, "up")
	_, _ = a.Read(ctx)
	_ = a.Set(ctx, 3, "down")
	_, _ = a.Read(ctx)
	_ = a.Set(ctx, 3, "down")
	_, _ = a.Read(ctx)
	want := []string{"read ", "set ", "read throttled", "set timeout", "read not_found", "set conflict", "read other"}
	if diff := cmp.Diff(want, obs.calls); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
	for i, d := range obs.took {
		if d != time.Second {
			t.Errorf("call %d took %s, want the second the target took", i, d)
		}
	}
	if s := a.(StatusReporter).Status(); s != "readers 1 creating" {
		t.Errorf("status %q, want the target's", s)
	}
	if s := Instrument(NewLog(1, nil), obs).(StatusReporter).Status(); s != "" {
		t.Errorf("status of a target without one: %q", s)
	}
}

func TestErrorReason(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&LimitedError{Asked: 2, Got: 1}, ""},
		{classifyAWS("PutProvisionedConcurrencyConfig", throttled), AWSThrottled},
		{fmt.Errorf("wrapped: %w", &AWSError{Kind: AWSAccessDenied}), AWSAccessDenied},
		{classifyAWS("GetAccountSettings", context.DeadlineExceeded), ReasonTimeout},
		{&KubernetesError{Kind: kubeReason(apierrors.NewForbidden(schema.GroupResource{}, "web", errors.New("no"))), Err: errors.New("x")}, KubeForbidden},
		{&KubernetesError{Kind: kubeReason(apierrors.NewTooManyRequests("slow down", 1)), Err: errors.New("x")}, KubeThrottled},
		{&KubernetesError{Kind: kubeReason(apierrors.NewBadRequest("bad")), Err: errors.New("x")}, KubeInvalid},
		{&KubernetesError{Kind: kubeReason(apierrors.NewServerTimeout(schema.GroupResource{}, "get", 1)), Err: errors.New("x")}, ReasonTimeout},
		{&KubernetesError{Kind: kubeReason(fmt.Errorf("x: %w", ErrOtherAutoscaler)), Err: errors.New("x")}, KubeOtherAutoscaler},
		{errors.New("anything"), ReasonOther},
	} {
		if got := ErrorReason(tc.err); got != tc.want {
			t.Errorf("ErrorReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
