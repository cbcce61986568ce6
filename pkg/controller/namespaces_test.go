package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/resolved"
)

// slowRunner holds every Set of the namespace slow until released, as a
// costly check of that namespace's Scalers would hold a worker; the rest
// it records at once.
type slowRunner struct {
	slow    string
	release chan struct{}

	mu      sync.Mutex
	holding int
	set     map[string]time.Time
}

func (r *slowRunner) Set(sc resolved.Scaler) error {
	if strings.HasPrefix(sc.Name, r.slow+"/") {
		r.mu.Lock()
		r.holding++
		r.mu.Unlock()
		<-r.release
		r.mu.Lock()
		r.holding--
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set[sc.Name] = time.Now()
	return nil
}

func (r *slowRunner) Remove(string) bool { return false }
func (r *slowRunner) Acting(string) bool { return false }

func (r *slowRunner) state() (holding int, set map[string]time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]time.Time{}
	for k, v := range r.set {
		out[k] = v
	}
	return r.holding, out
}

// Eight Scalers of one namespace that each hold a worker for as long as
// they like leave a worker to another namespace: its new Scaler starts at
// once, not after theirs.
func TestOneNamespaceCannotHoldEveryWorker(t *testing.T) {
	cfg := config.Defaults()
	cfg.Prometheus.URL = "http://prom:9090"
	cfg.ScalerObjects.Enabled = true
	var objs []runtime.Object
	for i := range 8 {
		objs = append(objs, scaler(t, "flood", fmt.Sprintf("s%d", i), 1, validSpec))
	}
	lists := map[schema.GroupVersionResource]string{v1alpha1.GroupVersionResource: "ScalerList"}
	watch := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
	r := &slowRunner{slow: "flood", release: make(chan struct{}), set: map[string]time.Time{}}
	defer func() {
		select {
		case <-r.release:
		default:
			close(r.release)
		}
	}()
	c, err := New(cfg, Options{Watch: watch, Write: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists),
		Core: kubefake.NewClientset(), Runner: r, Identity: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx, 4)

	waitFor(t, 10*time.Second, "the flood's Scalers to hold workers", func() bool {
		holding, _ := r.state()
		return holding >= 3
	})
	time.Sleep(200 * time.Millisecond) // a fourth worker would take a fourth flood Scaler now
	created := time.Now()
	calm := scaler(t, "calm", "web", 1, validSpec)
	if _, err := watch.Resource(v1alpha1.GroupVersionResource).Namespace("calm").Create(ctx, calm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the other namespace's Scaler to start while the flood holds its workers", func() bool {
		_, set := r.state()
		_, ok := set["calm/web"]
		return ok
	})
	holding, set := r.state()
	t.Logf("calm/web started %s after it was created, while %d flood Scalers held workers", set["calm/web"].Sub(created).Round(time.Millisecond), holding)
	if holding != 3 {
		t.Errorf("%d flood Scalers held workers, want 3 of 4", holding)
	}
	close(r.release)
	waitFor(t, 10*time.Second, "every flood Scaler to start once released", func() bool {
		_, set := r.state()
		return len(set) == 9
	})
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
