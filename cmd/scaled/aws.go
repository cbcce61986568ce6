package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
)

// awsDeps are the AWS configs of the process, one per region, loaded at
// first use from the default credential chain (IRSA, environment, shared
// config), and the metrics shared by every AWS target.
type awsDeps struct {
	metrics *actuators.AWSMetrics

	mu      sync.Mutex
	configs map[string]aws.Config
}

func newAWSDeps(reg prometheus.Registerer) *awsDeps {
	return &awsDeps{metrics: actuators.NewAWSMetrics(reg), configs: map[string]aws.Config{}}
}

// withAWS hands the process's AWS dependencies to the factories.
func withAWS(a *awsDeps) func(*factories) {
	return func(f *factories) { f.aws = a }
}

func (a *awsDeps) config(region string) (aws.Config, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.configs[region]; ok {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := actuators.LoadAWSConfig(ctx, region)
	if err != nil {
		return aws.Config{}, err
	}
	a.configs[region] = c
	return c, nil
}

// awsTarget builds an aurora, rds or lambda target.
func (f *factories) awsTarget(sc config.Scaler) (actuators.Actuator, error) {
	f.mu.Lock()
	if f.aws == nil {
		f.aws = newAWSDeps(nil)
	}
	a := f.aws
	f.mu.Unlock()
	region := ""
	switch t := sc.Target; {
	case t.Aurora != nil:
		region = t.Aurora.Region
	case t.RDS != nil:
		region = t.RDS.Region
	case t.Lambda != nil:
		region = t.Lambda.Region
	}
	cfg, err := a.config(region)
	if err != nil {
		return nil, err
	}
	o := actuators.AWSOptions{Config: cfg, Scaler: sc.Name, Logger: f.logger.With(zap.String("scaler", sc.Name)),
		Metrics: a.metrics, Clock: f.clock}
	switch sc.Target.Kind {
	case "aurora":
		return actuators.NewAurora(*sc.Target.Aurora, o)
	case "rds":
		return actuators.NewRDS(*sc.Target.RDS, o)
	case "lambda":
		return actuators.NewLambda(*sc.Target.Lambda, o)
	}
	return nil, fmt.Errorf("target kind %q is not an AWS kind", sc.Target.Kind)
}
