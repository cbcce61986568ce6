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
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.rdsBy[endpoint]; c != nil {
		return c
	}
	c := rds.NewFromConfig(r.config, func(o *rds.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	r.rdsBy[endpoint] = c
	return c
}

// lambdaClient is the region's Lambda client at endpoint ("" for AWS's own).
func (r *AWSRegion) lambdaClient(endpoint string) *lambda.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.lambdaBy[endpoint]; c != nil {
		return c
	}
	c := lambda.NewFromConfig(r.config, func(o *lambda.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	r.lambdaBy[endpoint] = c
	return c
}

// listing is the region's listing of DB clusters and instances at endpoint.
func (r *AWSRegion) listing(endpoint string) *rdsListing {
	client := r.rdsClient(endpoint)
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.listings[endpoint]; l != nil {
		return l
	}
	l := &rdsListing{client: client, clock: r.clock, maxAge: r.listingMaxAge, dirty: map[string]time.Time{}}
	r.listings[endpoint] = l
	return l
}
