package main

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/scaled-dev/scaled/pkg/actuators"
)

// awsDeps are the AWS configs of the process, one per region, loaded at
// first use from the default credential chain (IRSA, environment, shared
// config) and shared by every AWS target.
type awsDeps struct {
	mu      sync.Mutex
	configs map[string]aws.Config
}

func newAWSDeps() *awsDeps {
	return &awsDeps{configs: map[string]aws.Config{}}
}

// config is the AWS config of region, loaded once.
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
