package controller

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Runner runs scalers one by one, by name (engine.Manager).
type Runner interface {
	// Set starts or rebuilds sc; on an error the previous one keeps running.
	Set(sc resolved.Scaler) error
	// Remove stops and forgets the scaler name.
	Remove(name string) bool
	// Acting says whether this process acts for the scaler name (leader
	// election): only then does it write the scaler's status.
	Acting(name string) bool
}

// Options are the controller's dependencies.
type Options struct {
	// Watch lists and watches Scaler objects.
	Watch dynamic.Interface
	// Write writes their status and Core their Events: a client of their
	// own, limited to scaler_objects.status_qps, so that status never
	// delays a scale.
	Write dynamic.Interface
	Core  kubernetes.Interface
	// Runner runs what the objects declare.
	Runner Runner
	// Identity names this process in Events.
	Identity string
	Clock    clock.WithTicker // nil: the real clock
	Logger   *zap.Logger      // nil: no logs
	// Registerer gets the controller's metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// Controller keeps one scaler running per Scaler object it watches: a
// created object starts one, a changed spec rebuilds it (the reload's
// rule: what did not change keeps its state), a deleted object stops it
// and leaves the target's capacity as it is. A spec with a problem is not
// run: its status says why (Ready=False, InvalidSpec) and the object's
// previous valid spec, if any, keeps running.
type Controller struct {
	o         Options
	log       *zap.Logger
	cfg       atomic.Pointer[config.Config]
	informers map[string]cache.SharedIndexInformer // by namespace; "" for all
	queue     *fairQueue
	status    *statusWriter
	metrics   *metrics
}

// resync lists every Scaler again this often, in case a change was missed.
const resync = 10 * time.Minute

// New returns a controller of the Scaler objects cfg.ScalerObjects selects
// (its namespaces and label selector, which hold until the process
// restarts). Run starts it.
func New(cfg *config.Config, o Options) (*Controller, error) {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	c := &Controller{
		o: o, log: o.Logger, informers: map[string]cache.SharedIndexInformer{},
		queue: newFairQueue(1, workqueue.DefaultTypedControllerRateLimiter[string](), o.Clock),
	}
	c.cfg.Store(cfg)
	c.status = newStatusWriter(c, cfg.ScalerObjects)
	m, err := newMetrics(o.Registerer, c.status)
	if err != nil {
		return nil, err
	}
	c.metrics = m
	selector := cfg.ScalerObjects.LabelSelector
	tweak := func(lo *metav1.ListOptions) { lo.LabelSelector = selector }
	namespaces := cfg.ScalerObjects.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(o.Watch, resync, ns, tweak)
		inf := f.ForResource(v1alpha1.GroupVersionResource).Informer()
		if err := inf.SetTransform(trim); err != nil {
			return nil, err
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: c.enqueue,
			UpdateFunc: func(old, obj any) {
				// Status writes (scaled's own) do not change the spec.
				if o, n := old.(metav1.Object), obj.(metav1.Object); o.GetGeneration() != n.GetGeneration() {
					c.enqueue(obj)
				}
			},
			DeleteFunc: c.enqueue,
		}); err != nil {
			return nil, err
		}
		c.informers[ns] = inf
	}
	return c, nil
}

// lastApplied is the annotation kubectl apply keeps a whole copy of the
// object in.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// trim drops from a Scaler what scaled never reads and that would weigh
// more than the rest of it in the informer's cache, multiplied by every
// Scaler: its managedFields and kubectl's copy of the last applied object.
func trim(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil // a tombstone
	}
	u.SetManagedFields(nil)
	if a := u.GetAnnotations(); a[lastApplied] != "" {
		delete(a, lastApplied)
		u.SetAnnotations(a)
	}
	return u, nil
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		c.log.Warn("a Scaler without a key", zap.Error(err))
		return
	}
	c.queue.Add(key)
}

// SetConfig makes cfg the global config every Scaler runs beside (call it
// after the manager applied it): each object is checked again against its
// tenancy rules and rebuilt if what it runs changed. The watch itself
// (namespaces, label selector) changes only on restart.
func (c *Controller) SetConfig(cfg *config.Config) {
	prev := c.cfg.Swap(cfg)
	p, n := prev.ScalerObjects, cfg.ScalerObjects
	if p.LabelSelector != n.LabelSelector || fmt.Sprint(p.Namespaces) != fmt.Sprint(n.Namespaces) {
		c.log.Warn("scaler_objects.namespaces and label_selector change only on restart")
	}
	c.status.setRules(n)
	for _, inf := range c.informers {
		for _, key := range inf.GetStore().ListKeys() {
			c.queue.Add(key)
		}
	}
}

// Run watches until ctx ends. workers objects are taken in at once, and
// the objects of one namespace hold at most all workers but one: another
// namespace's object is taken in next, whatever the first one's cost.
func (c *Controller) Run(ctx context.Context, workers int) {
	workers = max(workers, 1)
	c.queue.setPerNamespace(workers - 1)
	defer c.queue.ShutDown()
	defer c.status.shutdown()
	for _, inf := range c.informers {
		go inf.RunWithContext(ctx)
	}
	go c.status.run(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.log.Info("watching Scaler objects", zap.Int("objects", c.objects()))
	for range workers {
		go func() {
			for c.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
}

func (c *Controller) synced() bool {
	for _, inf := range c.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// Ready is nil once every Scaler the watch selects has been listed.
func (c *Controller) Ready() error {
	if !c.synced() {
		return errors.New("the Scaler objects are not listed yet")
	}
	return nil
}

func (c *Controller) objects() int {
	n := 0
	for _, inf := range c.informers {
		n += len(inf.GetStore().ListKeys())
	}
	return n
}

// object is the Scaler called key in the informer's cache, or nil.
func (c *Controller) object(key string) *unstructured.Unstructured {
	ns, _, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	inf, ok := c.informers[ns]
	if !ok {
		inf = c.informers[metav1.NamespaceAll]
	}
	if inf == nil {
		return nil
	}
	obj, exists, err := inf.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return nil
	}
	u, _ := obj.(*unstructured.Unstructured)
	return u
}

func (c *Controller) next(ctx context.Context) bool {
	return work(ctx, c.queue, c.sync, func(key string, err error) bool {
		c.log.Warn("Scaler not started; retrying", zap.String("scaler", key), zap.Error(err))
		return true
	})
}

// keyQueue is what a worker needs of a queue of Scaler keys: the
// controller's fairQueue and the status writer's workqueue both are one.
type keyQueue interface {
	Get() (key string, quit bool)
	Done(key string)
	Forget(key string)
	AddRateLimited(key string)
}

// work hands the next key of q to do, and reports false once q is shut
// down. A key do fails on is added again, rate limited, if retry says so;
// otherwise, as after success, q forgets its failures.
func work(ctx context.Context, q keyQueue, do func(context.Context, string) error, retry func(key string, err error) bool) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := do(ctx, key); err != nil && retry(key, err) {
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}

// sync makes what runs for key what its object declares.
func (c *Controller) sync(_ context.Context, key string) error {
	obj := c.object(key)
	if obj == nil {
		if c.o.Runner.Remove(key) {
			c.log.Info("Scaler deleted: its scaler stopped, its target keeps its capacity", zap.String("scaler", key))
		}
		c.status.forget(key)
		return nil
	}
	cfg := c.cfg.Load()
	sc, problems := v1alpha1.Spec(obj, cfg)
	if len(problems) > 0 {
		c.status.invalid(obj, problems)
		c.log.Warn("Scaler spec refused; the previous spec, if any, keeps running",
			zap.String("scaler", key), zap.Int64("generation", obj.GetGeneration()), zap.Int("problems", len(problems)))
		return nil
	}
	r, err := cfg.Resolve(sc)
	if err == nil {
		err = c.o.Runner.Set(r)
	}
	if err != nil {
		c.status.notStarted(obj, err)
		return err
	}
	c.status.running(obj, &r)
	return nil
}

// acting says whether this process writes key's status.
func (c *Controller) acting(key string) bool { return c.o.Runner.Acting(key) }

// Add takes every decision of every scaler (engine.DecisionSink) and keeps
// those of Scaler objects for their status. It never blocks.
func (c *Controller) Add(d scaling.Decision) { c.status.add(d) }

// TargetObserver returns what to observe the target of the scaler named
// key with (actuators.Instrument): the status of a Scaler says whether its
// last read found the target. It is also an actuators.WarningObserver: a
// target's warnings are Warning Events on the Scaler.
func (c *Controller) TargetObserver(key string) actuators.TargetObserver {
	return targetObserver{w: c.status, key: key}
}

type targetObserver struct {
	w   *statusWriter
	key string
}

func (o targetObserver) ObserveTarget(op string, _ time.Duration, reason string) {
	o.w.observeTarget(o.key, op, reason)
}

// ObserveWarning records a Warning Event on the Scaler (actuators.WarningObserver).
func (o targetObserver) ObserveWarning(reason, message string) {
	o.w.warn(o.key, reason, message)
}
