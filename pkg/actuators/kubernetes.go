package actuators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/internal/promvec"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// KindKubernetes is any object with a /scale subresource: Deployment,
// StatefulSet, ReplicaSet, or a custom resource that declares one.
const KindKubernetes TargetKind = "kubernetes"

func init() {
	Register(KindKubernetes, func() TargetSpec { return &KubernetesTarget{} })
}

// DefaultNamespace is the namespace of a target that names none.
const DefaultNamespace = "default"

// KubernetesTarget is the kubernetes block of a target.
type KubernetesTarget struct {
	// APIVersion of the object: apps/v1, argoproj.io/v1alpha1.
	APIVersion string `json:"api_version,omitempty"`
	// Kind of the object: Deployment, StatefulSet, Rollout; any kind with
	// a /scale subresource.
	Kind string `json:"kind,omitempty"`
	// Namespace of the object (default: default; in a Scaler object, the
	// Scaler's own, and no other).
	Namespace string `json:"namespace,omitempty"`
	// Name of the object.
	Name string `json:"name,omitempty"`
	// TakeOver lets scaled act on an object an HPA or ScaledObject also targets.
	TakeOver bool `json:"take_over,omitempty"`
}

var (
	_ TargetSpec = (*KubernetesTarget)(nil)
	_ Reacher    = (*KubernetesTarget)(nil)
	_ Namespaced = (*KubernetesTarget)(nil)
)

// DefaultNamespace implements Namespaced.
func (t *KubernetesTarget) DefaultNamespace(ns string) {
	if t.Namespace == "" {
		t.Namespace = ns
	}
}

// Reach implements Reacher: the object's namespace.
func (t *KubernetesTarget) Reach() Reach {
	return Reach{Namespace: t.Namespace, NamespaceKey: "namespace"}
}

// String names the object as kubectl does: Deployment/web.
func (t *KubernetesTarget) String() string { return t.Kind + "/" + t.Name }

// Default implements TargetSpec: the namespace default.
func (t *KubernetesTarget) Default(string) {
	if t.Namespace == "" {
		t.Namespace = DefaultNamespace
	}
}

// Validate implements TargetSpec.
func (t *KubernetesTarget) Validate(_ string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if gv := t.APIVersion; gv == "" || strings.Count(gv, "/") > 1 || strings.HasPrefix(gv, "/") || strings.HasSuffix(gv, "/") {
		errs = append(errs, fielderr.Invalid(path.Child("api_version"), gv, "must be version or group/version, e.g. apps/v1"))
	}
	if t.Kind == "" {
		errs = append(errs, fielderr.Required(path.Child("kind"), t.Kind, "must not be empty"))
	}
	errs = append(errs, objectName(path.Child("namespace"), t.Namespace, validation.IsDNS1123Label,
		"a DNS label: at most 63 lower-case letters, digits or '-'")...)
	return append(errs, objectName(path.Child("name"), t.Name, validation.IsDNS1123Subdomain,
		"a DNS subdomain name: at most 253 lower-case letters, digits, '-' or '.'")...)
}

// objectName checks the Kubernetes name at path: set, and valid by valid,
// whose rule what states.
func objectName(path *field.Path, name string, valid func(string) []string, what string) field.ErrorList {
	switch {
	case name == "":
		return field.ErrorList{fielderr.Required(path, name, "must not be empty")}
	case len(valid(name)) > 0:
		return field.ErrorList{fielderr.Invalid(path, name, "must be %s, starting and ending with a letter or digit", what)}
	}
	return nil
}

// DefaultBehavior implements TargetSpec: the HPA's.
func (t *KubernetesTarget) DefaultBehavior() policy.Behavior { return policy.DefaultBehavior() }

// New implements TargetSpec: the target on the process's shared clients.
func (t *KubernetesTarget) New(deps Deps) (Actuator, error) {
	if deps.Kube == nil {
		return nil, errors.New("kubernetes target: no API clients")
	}
	clients, err := deps.Kube()
	if err != nil {
		return nil, err
	}
	return NewKubernetes(*t, KubernetesOptions{Clients: clients, Scaler: deps.Scaler, Logger: deps.Logger,
		Metrics: deps.KubeMetrics, Clock: deps.Clock, Identity: deps.Identity})
}

// ErrOtherAutoscaler is returned by Set when a HorizontalPodAutoscaler or a
// KEDA ScaledObject scales the same object and the target does not say
// take_over: two autoscalers on one object fight.
var ErrOtherAutoscaler = errors.New("another autoscaler scales this object")

// Event reasons recorded on targets.
const (
	EventReasonScaled   = "Scaled"
	EventReasonRefused  = "ScaleRefused"
	EventReasonPaused   = "ScalingPaused"
	EventReasonResumed  = "ScalingResumed"
	eventComponent      = "scaled"
	defaultEventBurst   = 5
	defaultEventRefill  = time.Minute
	eventCreateDeadline = 5 * time.Second
)

// The reasons of Kubernetes errors (KubernetesError.Kind): the reason
// label of scaled_target_errors_total for Kubernetes targets, with the
// timeout and other every target has.
const (
	KubeNotFound        = "not_found"        // the object is not there
	KubeForbidden       = "forbidden"        // RBAC refused: see deploy/ for scaled's role
	KubeConflict        = "conflict"         // another writer won, and still did after the retries
	KubeThrottled       = "throttled"        // the API server answered 429 (priority and fairness)
	KubeInvalid         = "invalid"          // the API server refused the request as invalid
	KubeOtherAutoscaler = "other_autoscaler" // an HPA or ScaledObject scales the object (ErrOtherAutoscaler)
	KubeUnknownKind     = "unknown_kind"     // the API server does not serve the kind
)

// KubernetesError is a failed call of a Kubernetes target, named by kind.
// Its message names the target and what was being done.
type KubernetesError struct {
	Kind string // one of the Kube* reasons, ReasonTimeout or ReasonOther
	Err  error
}

func (e *KubernetesError) Error() string { return e.Err.Error() }
func (e *KubernetesError) Unwrap() error { return e.Err }

// Reason is the error's kind (ErrorReason).
func (e *KubernetesError) Reason() string { return e.Kind }

// kubeReason names an error of client-go by what the API server said.
func kubeReason(err error) string {
	switch {
	case apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || isTimeout(err):
		return ReasonTimeout
	case apierrors.IsNotFound(err):
		return KubeNotFound
	case apierrors.IsForbidden(err):
		return KubeForbidden
	case apierrors.IsConflict(err):
		return KubeConflict
	case apierrors.IsTooManyRequests(err):
		return KubeThrottled
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return KubeInvalid
	case errors.Is(err, ErrOtherAutoscaler):
		return KubeOtherAutoscaler
	}
	return ReasonOther
}

// KubeRESTConfig is the client configuration: the kubeconfig file when one
// is named (argument, then $KUBECONFIG), in-cluster config inside a pod, and
// the default kubeconfig (~/.kube/config) otherwise.
func KubeRESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" && os.Getenv("KUBECONFIG") == "" {
		if c, err := rest.InClusterConfig(); err == nil {
			return c, nil
		} else if !errors.Is(err, rest.ErrNotInCluster) {
			return nil, fmt.Errorf("in-cluster config: %w", err)
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return c, nil
}

// KubeClients are the API clients every Kubernetes target of a process
// shares: one discovery cache, one REST mapper, one scale client.
type KubeClients struct {
	Core    kubernetes.Interface
	Dynamic dynamic.Interface
	Scales  scale.ScalesGetter
	Mapper  meta.ResettableRESTMapper
}

// NewKubeClients builds the clients from cfg. Kinds are resolved through
// discovery, cached in memory and refreshed when a kind is not found (a CRD
// installed after scaled started).
func NewKubeClients(cfg *rest.Config) (*KubeClients, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "scaled"
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(disc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	scales, err := scale.NewForConfig(cfg, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(cached))
	if err != nil {
		return nil, err
	}
	return &KubeClients{Core: core, Dynamic: dyn, Scales: scales, Mapper: mapper}, nil
}

// KubeMetrics counts the Events Kubernetes targets left unrecorded by the
// rate limit. Their errors are counted by Instrument, as every target's.
type KubeMetrics struct {
	suppressed *prometheus.CounterVec
}

// NewKubeMetrics registers the metrics on reg (nil: not registered).
func NewKubeMetrics(reg prometheus.Registerer) *KubeMetrics {
	m := &KubeMetrics{
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaled_kubernetes_events_suppressed_total",
			Help: "Events not recorded on a target because its event rate limit was reached.",
		}, []string{"scaler"}),
	}
	if reg != nil {
		reg.MustRegister(m.suppressed)
	}
	return m
}

func (m *KubeMetrics) suppress(scaler string) {
	if m != nil {
		m.suppressed.WithLabelValues(scaler).Inc()
	}
}

func (m *KubeMetrics) start(scaler string) {
	if m != nil {
		m.suppressed.WithLabelValues(scaler)
	}
}

// Forget deletes every series of scaler.
func (m *KubeMetrics) Forget(scaler string) {
	if m != nil {
		m.suppressed.DeletePartialMatch(prometheus.Labels{"scaler": scaler})
	}
}

// ForgetScaler is Forget (engine.Forgetter).
func (m *KubeMetrics) ForgetScaler(scaler string) { m.Forget(scaler) }

// ForgetScalers deletes every series of scalers, in one pass.
func (m *KubeMetrics) ForgetScalers(scalers []string) {
	if m == nil || len(scalers) == 0 {
		return
	}
	set := make(map[string]bool, len(scalers))
	for _, s := range scalers {
		set[s] = true
	}
	promvec.DeleteWhere(m.suppressed.MetricVec, "scaler", set)
}

// KubernetesOptions are a Kubernetes target's dependencies.
type KubernetesOptions struct {
	Clients *KubeClients
	Scaler  string      // label of its metrics, field of its logs
	Logger  *zap.Logger // nil: no logs
	Metrics *KubeMetrics
	Clock   clock.PassiveClock // nil: the real clock; paces Events
	// Identity names this process in the Events it records (their source host).
	Identity string
	// EventBurst Events may be recorded at once on the target, then one per
	// EventRefill (defaults 5 and 1m), so that a flapping signal cannot
	// flood the API server.
	EventBurst  int
	EventRefill time.Duration
}

// Kubernetes is a target with a /scale subresource: Deployment, StatefulSet,
// ReplicaSet, or a custom resource that declares one (Argo Rollout).
//
// Read takes Current from the scale's spec.replicas and Ready from the
// object's status.readyReplicas (absent counts as 0 for kinds that omit it
// when no replica is ready: the apps group and Argo Rollouts); for kinds that
// have no readyReplicas, from the scale's status.replicas.
//
// Set writes spec.replicas through /scale with optimistic concurrency: on a
// conflict it reads the object again and retries. It refuses to act when an
// HPA or a KEDA ScaledObject targets the same object, unless take_over is set.
// A change applied, and a refusal, are recorded as Events on the object.
type Kubernetes struct {
	t      KubernetesTarget
	gk     schema.GroupKind
	ver    string
	o      KubernetesOptions
	events *EventRecorder

	mu      sync.Mutex
	mapping *meta.RESTMapping
	// exported makes the scaler's series at its first Read, not when it is
	// built: a replica builds the scalers of shards it does not hold only
	// to check them, and must not export them.
	exported sync.Once

	// beforeUpdate, when set, runs between reading the scale and writing it
	// (tests make another writer win there).
	beforeUpdate func()
}

var (
	_ Actuator      = (*Kubernetes)(nil)
	_ PauseRecorder = (*Kubernetes)(nil)
)

// NewKubernetes returns the target t. The kind is resolved at the first Read,
// so that scaled starts while the API server or a CRD is not there yet.
func NewKubernetes(t KubernetesTarget, o KubernetesOptions) (*Kubernetes, error) {
	if o.Clients == nil {
		return nil, errors.New("kubernetes target: no API clients")
	}
	gv, err := schema.ParseGroupVersion(t.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("api_version: %q: %w", t.APIVersion, err)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.EventBurst <= 0 {
		o.EventBurst = defaultEventBurst
	}
	if o.EventRefill <= 0 {
		o.EventRefill = defaultEventRefill
	}
	return &Kubernetes{
		t: t, gk: schema.GroupKind{Group: gv.Group, Kind: t.Kind}, ver: gv.Version, o: o,
		events: NewEventRecorder(o.Clients.Core,
			corev1.ObjectReference{APIVersion: t.APIVersion, Kind: t.Kind, Namespace: t.Namespace, Name: t.Name},
			EventOptions{Identity: o.Identity, Clock: o.Clock, Logger: o.Logger, Burst: o.EventBurst, Refill: o.EventRefill,
				Suppressed: func() { o.Metrics.suppress(o.Scaler) }}),
	}, nil
}

func (k *Kubernetes) String() string {
	return fmt.Sprintf("%s %s/%s", k.t.Kind, k.t.Namespace, k.t.Name)
}

// resolve maps the configured kind to its resource through discovery, once;
// an unknown kind refreshes discovery before it is refused.
func (k *Kubernetes) resolve() (*meta.RESTMapping, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mapping != nil {
		return k.mapping, nil
	}
	m, err := k.o.Clients.Mapper.RESTMapping(k.gk, k.ver)
	if meta.IsNoMatchError(err) {
		k.o.Clients.Mapper.Reset()
		m, err = k.o.Clients.Mapper.RESTMapping(k.gk, k.ver)
	}
	if err != nil {
		return nil, &KubernetesError{Kind: KubeUnknownKind,
			Err: fmt.Errorf("kind %s in api_version %s is not served by the API server: %w", k.t.Kind, k.t.APIVersion, err)}
	}
	k.mapping = m
	return m, nil
}

// fail names the target in err and gives it its reason.
func (k *Kubernetes) fail(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %s: %w", op, k, err) // shutdown: not a failure of the target
	}
	reason := kubeReason(err)
	switch reason {
	case KubeNotFound:
		err = fmt.Errorf("%s: %s not found: %w", op, k, err)
	case KubeForbidden:
		err = fmt.Errorf("%s: %s: forbidden (check scaled's RBAC): %w", op, k, err)
	case KubeConflict:
		err = fmt.Errorf("%s: %s: still conflicting after retries: %w", op, k, err)
	case KubeThrottled:
		// client-go already waited as Retry-After asked, up to its retries.
		err = fmt.Errorf("%s: %s: the API server is throttling scaled (HTTP 429): %w", op, k, err)
	case ReasonTimeout:
		err = fmt.Errorf("%s: %s: timed out: %w", op, k, err)
	case KubeOtherAutoscaler:
	default:
		err = fmt.Errorf("%s: %s: %w", op, k, err)
	}
	return &KubernetesError{Kind: reason, Err: err}
}

// isTimeout reports whether err is a deadline that passed: the context's
// (the tick's), or a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Read returns spec.replicas and the ready replicas.
func (k *Kubernetes) Read(ctx context.Context) (scaling.Capacity, error) {
	k.exported.Do(func() { k.o.Metrics.start(k.o.Scaler) })
	m, err := k.resolve()
	if err != nil {
		return scaling.Capacity{}, err
	}
	s, err := k.o.Clients.Scales.Scales(k.t.Namespace).Get(ctx, m.Resource.GroupResource(), k.t.Name, metav1.GetOptions{})
	if err != nil {
		return scaling.Capacity{}, k.fail("read scale", err)
	}
	obj, err := k.o.Clients.Dynamic.Resource(m.Resource).Namespace(k.t.Namespace).Get(ctx, k.t.Name, metav1.GetOptions{})
	if err != nil {
		return scaling.Capacity{}, k.fail("read status", err)
	}
	return scaling.Capacity{Current: s.Spec.Replicas, Ready: readyOf(obj, s), Pause: pauseOf(obj.GetAnnotations())}, nil
}

// The annotations that pause a target, as KEDA's do a ScaledObject
// (autoscaling.keda.sh/paused, autoscaling.keda.sh/paused-replicas).
const (
	AnnotationPaused         = "scaled.dev/paused"
	AnnotationPausedReplicas = "scaled.dev/paused-replicas"
)

// pauseOf reads the pause a workload asks for: its annotations, and the
// HPA's reading of 0 replicas. A value that is not what the annotation
// takes still pauses (whoever wrote it meant to), and the reason says so.
func pauseOf(ann map[string]string) scaling.Pause {
	p := scaling.Pause{ZeroPauses: true}
	if v, ok := ann[AnnotationPausedReplicas]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n < 0 {
			p.Reason = fmt.Sprintf("annotation %s is %q, not a whole number >= 0: left where it is", AnnotationPausedReplicas, v)
			return p
		}
		p.Reason, p.Hold, p.HoldSet = fmt.Sprintf("annotation %s is %q", AnnotationPausedReplicas, v), int32(n), true
		return p
	}
	if v, ok := ann[AnnotationPaused]; ok {
		switch b, err := strconv.ParseBool(strings.TrimSpace(v)); {
		case err != nil:
			p.Reason = fmt.Sprintf("annotation %s is %q, neither true nor false", AnnotationPaused, v)
		case b:
			p.Reason = fmt.Sprintf("annotation %s is %q", AnnotationPaused, v)
		}
	}
	return p
}

// PauseChanged implements PauseRecorder: an Event on the object.
func (k *Kubernetes) PauseChanged(ctx context.Context, why string) {
	if why == "" {
		k.event(ctx, nil, corev1.EventTypeNormal, EventReasonResumed, "scaled scales this object again")
		return
	}
	k.event(ctx, nil, corev1.EventTypeNormal, EventReasonPaused, "scaled leaves this object alone: "+why)
}

// readyOf is status.readyReplicas, or what stands for it.
func readyOf(obj *unstructured.Unstructured, s *autoscalingv1.Scale) int32 {
	if n, ok, err := unstructured.NestedInt64(obj.Object, "status", "readyReplicas"); ok && err == nil {
		return int32(n)
	}
	// These kinds omit readyReplicas when it is 0.
	gv, _ := schema.ParseGroupVersion(obj.GetAPIVersion())
	if gv.Group == "apps" || gv.Group == "argoproj.io" {
		return 0
	}
	return s.Status.Replicas
}

// Set asks for n replicas.
func (k *Kubernetes) Set(ctx context.Context, n int32, reason string) error {
	m, err := k.resolve()
	if err != nil {
		return err
	}
	if !k.t.TakeOver {
		if by, err := k.otherAutoscaler(ctx); err != nil {
			return k.fail("check for other autoscalers", err)
		} else if by != "" {
			err := fmt.Errorf("%s is scaled by %s: %w; scaled leaves it alone (set take_over: true to act anyway)", k, by, ErrOtherAutoscaler)
			k.o.Logger.Warn("refusing to scale a target another autoscaler scales", zap.String("target", k.String()), zap.String("autoscaler", by))
			k.event(ctx, nil, corev1.EventTypeWarning, EventReasonRefused,
				fmt.Sprintf("scaled did not set replicas to %d: %s scales this object (take_over is false)", n, by))
			return k.fail("set", err)
		}
	}
	gr := m.Resource.GroupResource()
	scales := k.o.Clients.Scales.Scales(k.t.Namespace)
	var from int32
	var applied *autoscalingv1.Scale
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := scales.Get(ctx, gr, k.t.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s.Spec.Replicas == n {
			applied = nil
			return nil
		}
		if k.beforeUpdate != nil {
			k.beforeUpdate()
		}
		from = s.Spec.Replicas
		s.Spec.Replicas = n
		applied, err = scales.Update(ctx, gr, s, metav1.UpdateOptions{FieldManager: eventComponent})
		if apierrors.IsConflict(err) {
			k.o.Logger.Info("scale conflicted with another writer; retrying on the fresh object", zap.String("target", k.String()))
		}
		return err
	})
	if err != nil {
		return k.fail("set scale", err)
	}
	if applied == nil {
		return nil // already at n
	}
	k.o.Logger.Info("kubernetes target scaled", zap.String("target", k.String()), zap.Int32("from", from),
		zap.Int32("to", n), zap.String("reason", reason), zap.String("identity", k.o.Identity))
	k.event(ctx, &applied.ObjectMeta, corev1.EventTypeNormal, EventReasonScaled,
		fmt.Sprintf("Scaled %s from %d to %d: %s", k.t.Kind, from, n, reason))
	return nil
}

// otherAutoscaler names the HPA or ScaledObject that targets the same
// object, or returns "".
func (k *Kubernetes) otherAutoscaler(ctx context.Context) (string, error) {
	hpas, err := k.o.Clients.Core.AutoscalingV2().HorizontalPodAutoscalers(k.t.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, h := range hpas.Items {
		ref := h.Spec.ScaleTargetRef
		if k.targets(ref.APIVersion, ref.Kind, ref.Name) {
			return "HorizontalPodAutoscaler " + h.Name, nil
		}
	}
	keda := schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}
	sos, err := k.o.Clients.Dynamic.Resource(keda).Namespace(k.t.Namespace).List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return "", nil // KEDA is not installed
	case err != nil:
		return "", fmt.Errorf("list KEDA ScaledObjects: %w", err)
	}
	for _, so := range sos.Items {
		av, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "apiVersion")
		kind, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
		if av == "" {
			av = "apps/v1" // KEDA's defaults
		}
		if kind == "" {
			kind = "Deployment"
		}
		if k.targets(av, kind, name) {
			return "ScaledObject " + so.GetName(), nil
		}
	}
	return "", nil
}

// targets says whether a scaleTargetRef names this target; versions of one
// group name the same object.
func (k *Kubernetes) targets(apiVersion, kind, name string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && gv.Group == k.gk.Group && strings.EqualFold(kind, k.t.Kind) && name == k.t.Name
}

// event records an Event on the target, within the rate limit. A failure to
// record is logged, never returned: the change itself was made.
func (k *Kubernetes) event(ctx context.Context, om *metav1.ObjectMeta, typ, reason, msg string) {
	k.events.Event(ctx, om, typ, reason, "Scale", msg)
}
