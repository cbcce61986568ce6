package actuators

import (
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"k8s.io/utils/clock"
)

// AWSRegion is what every AWS target of one account and region shares: the
// config (credentials, the bounded retryer, and the request budget in its
// API options), one client per service and endpoint (so one retry quota
// too), and the account-wide listing of DB clusters and instances that
// Aurora and RDS targets read.
type AWSRegion struct {
	config aws.Config
	budget *awsBudget
	clock  clock.PassiveClock

	mu       sync.Mutex
	maxAge   time.Duration
	rdsBy    map[string]*rds.Client
	lambdaBy map[string]*lambda.Client
	listings map[string]*rdsListing
}

// NewAWSRegion shares cfg (LoadAWSConfig) among the targets of its region,
// within limits; metrics may be nil, clk nil for the real clock.
func NewAWSRegion(cfg aws.Config, limits AWSLimits, metrics *AWSMetrics, clk clock.PassiveClock) *AWSRegion {
	if clk == nil {
		clk = clock.RealClock{}
	}
	r := &AWSRegion{clock: clk, maxAge: limits.ListingMaxAge,
		rdsBy: map[string]*rds.Client{}, lambdaBy: map[string]*lambda.Client{}, listings: map[string]*rdsListing{}}
	r.budget = newAWSBudget(cfg.Region, limits, metrics)
	cfg.APIOptions = append(slices.Clone(cfg.APIOptions), r.budget.apiOption)
	r.config = cfg
	return r
}

// privateRegion is the region of a target built without a shared one (a
// test, a one-off check): no budget, no shared listing.
func privateRegion(cfg aws.Config, clk clock.PassiveClock) *AWSRegion {
	return &AWSRegion{config: cfg, clock: clk, rdsBy: map[string]*rds.Client{}, lambdaBy: map[string]*lambda.Client{},
		listings: map[string]*rdsListing{}, budget: &awsBudget{buckets: map[string]*serviceBucket{}}}
}

// SetLimits applies limits from now on (a reload).
func (r *AWSRegion) SetLimits(limits AWSLimits) {
	r.budget.set(limits)
	r.mu.Lock()
	r.maxAge = limits.ListingMaxAge
	r.mu.Unlock()
}

func (r *AWSRegion) listingMaxAge() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxAge
}

// rdsClient is the region's RDS client at endpoint ("" for AWS's own).
func (r *AWSRegion) rdsClient(endpoint string) *rds.Client {
	return shared(r, r.rdsBy, endpoint, func() *rds.Client {
		return rds.NewFromConfig(r.config, func(o *rds.Options) { overrideEndpoint(&o.BaseEndpoint, endpoint) })
	})
}

// lambdaClient is the region's Lambda client at endpoint ("" for AWS's own).
func (r *AWSRegion) lambdaClient(endpoint string) *lambda.Client {
	return shared(r, r.lambdaBy, endpoint, func() *lambda.Client {
		return lambda.NewFromConfig(r.config, func(o *lambda.Options) { overrideEndpoint(&o.BaseEndpoint, endpoint) })
	})
}

// listing is the region's listing of DB clusters and instances at endpoint.
func (r *AWSRegion) listing(endpoint string) *rdsListing {
	client := r.rdsClient(endpoint)
	return shared(r, r.listings, endpoint, func() *rdsListing {
		return &rdsListing{client: client, clock: r.clock, maxAge: r.listingMaxAge, dirty: map[string]time.Time{}}
	})
}

// shared is what the region keeps in by for endpoint, made by build the
// first time it is asked for: every target at one endpoint shares it.
func shared[T any](r *AWSRegion, by map[string]T, endpoint string, build func() T) T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := by[endpoint]; ok {
		return v
	}
	v := build()
	by[endpoint] = v
	return v
}

// overrideEndpoint sets a client's base endpoint to endpoint, unless it is
// "" (the config's, else AWS's own).
func overrideEndpoint(base **string, endpoint string) {
	if endpoint != "" {
		*base = aws.String(endpoint)
	}
}
