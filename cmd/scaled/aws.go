package main

import (
	"context"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/actuators"
)

// awsDeps are what the process's AWS targets share, one per region: the
// config loaded at first use from the default credential chain (IRSA,
// environment, shared config), the clients, the request budget of the aws
// block and the shared listing (actuators.AWSRegion).
type awsDeps struct {
	clock   clock.PassiveClock
	metrics *actuators.AWSMetrics

	mu      sync.Mutex
	limits  actuators.AWSLimits // resolved against the interval
	regions map[string]*actuators.AWSRegion
}

func newAWSDeps(clk clock.PassiveClock, metrics *actuators.AWSMetrics) *awsDeps {
	return &awsDeps{clock: clk, metrics: metrics, regions: map[string]*actuators.AWSRegion{},
		limits: actuators.DefaultAWSLimits().Resolved(15 * time.Second)}
}

// setLimits applies the aws block of a config (interval: its global tick)
// to every region, those made later included.
func (a *awsDeps) setLimits(l actuators.AWSLimits, interval time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.limits = l.Resolved(interval)
	for _, r := range a.regions {
		r.SetLimits(a.limits)
	}
}

// region is what the AWS targets of region share, made once.
func (a *awsDeps) region(region string) (*actuators.AWSRegion, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.regions[region]; ok {
		return r, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := actuators.LoadAWSConfig(ctx, region)
	if err != nil {
		return nil, err
	}
	r := actuators.NewAWSRegion(c, a.limits, a.metrics, a.clock)
	a.regions[region] = r
	return r, nil
}
