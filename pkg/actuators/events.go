package actuators

import (
	"context"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
)

// EventRecorder records Events on one Kubernetes object: at most burst at
// once, then one per refill, so that a flapping signal cannot flood the API
// server with them. What the limit holds back is counted, never queued. A
// Kubernetes target records on the object it scales; scaled records on a
// Scaler object with its own.
type EventRecorder struct {
	core     kubernetes.Interface
	ref      corev1.ObjectReference
	identity string
	clock    clock.PassiveClock
	logger   *zap.Logger
	limit    flowcontrol.PassiveRateLimiter
	// suppressed counts an Event the limit held back (nil: not counted).
	suppressed func()
}

// EventOptions shape an EventRecorder; zero values take the defaults.
type EventOptions struct {
	Identity string             // this process, the Events' source host
	Clock    clock.PassiveClock // nil: the real clock
	Logger   *zap.Logger        // nil: failures are not logged
	Burst    int                // default 5
	Refill   time.Duration      // default 1m
	// Suppressed is called for each Event the limit holds back.
	Suppressed func()
}

// NewEventRecorder returns the recorder of Events on ref's object.
func NewEventRecorder(core kubernetes.Interface, ref corev1.ObjectReference, o EventOptions) *EventRecorder {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Burst <= 0 {
		o.Burst = defaultEventBurst
	}
	if o.Refill <= 0 {
		o.Refill = defaultEventRefill
	}
	return &EventRecorder{core: core, ref: ref, identity: o.Identity, clock: o.Clock, logger: o.Logger, suppressed: o.Suppressed,
		limit: flowcontrol.NewTokenBucketPassiveRateLimiterWithClock(float32(1/o.Refill.Seconds()), o.Burst, o.Clock)}
}

// Allow takes a token for one Event, and reports false (and counts it)
// when the limit holds the Event back. It never blocks: a caller that must
// not wait for the API server takes the token now and Records later.
func (r *EventRecorder) Allow() bool {
	if r.limit.TryAccept() {
		return true
	}
	if r.suppressed != nil {
		r.suppressed()
	}
	return false
}

// Event records an Event if the limit allows it (Allow, then Record).
func (r *EventRecorder) Event(ctx context.Context, om *metav1.ObjectMeta, typ, reason, action, msg string) {
	if r.Allow() {
		r.Record(ctx, om, typ, reason, action, msg)
	}
}

// Record creates an Event whose token Allow took. om, when known, pins the
// object's UID and resource version. A failure is logged, never returned:
// what the Event tells has happened anyway.
func (r *EventRecorder) Record(ctx context.Context, om *metav1.ObjectMeta, typ, reason, action, msg string) {
	ref := r.ref
	if om != nil {
		ref.UID, ref.ResourceVersion = om.UID, om.ResourceVersion
	}
	if len(msg) > maxEventMessage {
		msg = msg[:maxEventMessage-3] + "..."
	}
	now := metav1.NewTime(r.clock.Now())
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: ref.Name + ".", Namespace: ref.Namespace},
		InvolvedObject:      ref,
		Reason:              reason,
		Message:             msg,
		Type:                typ,
		Source:              corev1.EventSource{Component: eventComponent, Host: r.identity},
		ReportingController: eventComponent,
		ReportingInstance:   r.identity,
		Action:              action,
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
	}
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventCreateDeadline)
	defer cancel()
	if _, err := r.core.CoreV1().Events(ref.Namespace).Create(ectx, ev, metav1.CreateOptions{}); err != nil {
		r.logger.Warn("could not record an event", zap.String("object", ref.Kind+" "+ref.Namespace+"/"+ref.Name),
			zap.String("reason", reason), zap.Error(err))
	}
}

// maxEventMessage is the longest message events.k8s.io/v1 (note) keeps.
const maxEventMessage = 1024
