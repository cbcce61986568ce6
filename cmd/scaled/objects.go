package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/api/v1alpha1"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/controller"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// objectWorkers take Scaler objects in at once.
const objectWorkers = 4

// decisionSinks hands every decision to each sink in turn: the decisions
// API, and the status of Scaler objects.
type decisionSinks []engine.DecisionSink

func (s decisionSinks) Add(d scaling.Decision) {
	for _, k := range s {
		k.Add(d)
	}
}

// targetObservers tells each observer of a target in turn.
type targetObservers []actuators.TargetObserver

func (o targetObservers) ObserveTarget(op string, took time.Duration, reason string) {
	for _, x := range o {
		x.ObserveTarget(op, took, reason)
	}
}

// ObserveWarning tells each observer that takes warnings.
func (o targetObservers) ObserveWarning(reason, message string) {
	for _, x := range o {
		if w, ok := x.(actuators.WarningObserver); ok {
			w.ObserveWarning(reason, message)
		}
	}
}

// isObject says whether a scaler comes from a Scaler object: only those
// are called namespace/name.
func isObject(scaler string) bool { return strings.Contains(scaler, "/") }

// scalerObjects runs the Scaler objects of the API server beside the
// file's scalers, when the config enables them.
type scalerObjects struct {
	ctrl *controller.Controller
	stop func()
}

// newScalerObjects makes the controller of Scaler objects, or nothing when
// cfg does not enable them. Its status writer gets a client of its own,
// limited to scaler_objects.status_qps.
func newScalerObjects(cfg *config.Config, k *kubeDeps, mgr *engine.Manager, reg prometheus.Registerer, logger *zap.Logger) (*scalerObjects, error) {
	if !cfg.ScalerObjects.Enabled {
		return &scalerObjects{}, nil
	}
	clients, err := k.get()
	if err != nil {
		return nil, fmt.Errorf("scaler_objects: %w", err)
	}
	rc, err := actuators.KubeRESTConfig("")
	if err != nil {
		return nil, fmt.Errorf("scaler_objects: %w", err)
	}
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "scaled-status"
	rc.QPS, rc.Burst = float32(cfg.ScalerObjects.StatusQPS), cfg.ScalerObjects.StatusBurst
	write, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	core, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	ctrl, err := controller.New(cfg, controller.Options{Watch: clients.Dynamic, Write: write, Core: core, Runner: mgr,
		Identity: k.identity, Logger: logger, Registerer: reg})
	if err != nil {
		return nil, err
	}
	return &scalerObjects{ctrl: ctrl}, nil
}

// sink is where decisions of Scaler objects go, or nil.
func (o *scalerObjects) sink() engine.DecisionSink {
	if o.ctrl == nil {
		return nil
	}
	return o.ctrl
}

// targetObserver adds the controller's observer to a Scaler object's.
func (o *scalerObjects) targetObserver(scaler string, obs actuators.TargetObserver) actuators.TargetObserver {
	if o.ctrl == nil || !isObject(scaler) {
		return obs
	}
	return targetObservers{obs, o.ctrl.TargetObserver(scaler)}
}

// start watches Scaler objects until stop, after the file's scalers run.
func (o *scalerObjects) start() {
	if o.ctrl == nil {
		o.stop = func() {}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.ctrl.Run(ctx, objectWorkers) }()
	o.stop = func() { cancel(); <-done }
}

// setConfig hands a reloaded config to the controller.
func (o *scalerObjects) setConfig(cfg *config.Config) {
	if o.ctrl != nil {
		o.ctrl.SetConfig(cfg)
	}
}

// ready is nil once every Scaler object was listed.
func (o *scalerObjects) ready() error {
	if o.ctrl == nil {
		return nil
	}
	return o.ctrl.Ready()
}

// readConfigFile reads the file at path once: it may be a pipe or a process
// substitution, which a second read finds empty.
func readConfigFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return data, nil
}

// readManifests reads the Scaler objects of data, the file at path,
// checked beside daemon (the config of the scaled that would run them), or
// none when the file is a config file.
func readManifests(path string, data []byte, daemon *config.Config) ([]v1alpha1.Manifest, error) {
	ms, err := v1alpha1.ReadManifests(data, daemon)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ms, nil
}

// daemonConfig is the config of the scaled a Scaler manifest would run
// beside: the file at path (none: the defaults), the environment and flags
// bound into v, with Scaler objects enabled. An unset prometheus.url takes
// placeholder, when not empty.
func daemonConfig(path string, v *viper.Viper, placeholder string) (*config.Config, error) {
	cfg, err := config.Load(path, v, func(c *config.Config) {
		c.ScalerObjects.Enabled = true
		if c.Prometheus.URL == "" {
			c.Prometheus.URL = placeholder
		}
	})
	if err != nil && path != "" {
		return nil, fmt.Errorf("--daemon-config %s: %w", path, err)
	}
	return cfg, err
}
