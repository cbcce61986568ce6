package actuators

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
)

// AWSLimits bound the AWS API requests scaled makes, per service, for every
// target of one account and region together: AWS limits each account and
// region for every caller together (Terraform, deploys, the console, AWS's
// own autoscaling), so scaled keeps well under the limit and leaves the rest
// to them. They are the aws block of the file.
type AWSLimits struct {
	// RDS bounds the Amazon RDS API requests (Aurora and RDS targets). AWS
	// allows 300 requests of burst and 12 per second sustained per account
	// and region ("Request throttling for the Amazon RDS API").
	RDS AWSServiceLimit `json:"rds,omitempty"`
	// Lambda bounds the Lambda control-plane requests (Lambda targets).
	// AWS allows 15 per second ("Lambda quotas": control plane API
	// requests, excluding invocation, GetFunction and GetPolicy).
	Lambda AWSServiceLimit `json:"lambda,omitempty"`
	// ListingMaxAge is how long one account-wide listing of DB clusters and
	// DB instances (DescribeDBClusters and DescribeDBInstances, every page)
	// serves every Aurora and RDS target of the region, so that the RDS
	// requests of a tick do not grow with the number of targets. A target
	// that scaled just changed reads its own cluster or source until a
	// listing started after the change. Default (0): half the interval.
	ListingMaxAge time.Duration `json:"listing_max_age,omitempty"`
}

// AWSServiceLimit is a token bucket: at most Burst requests at once, refilled
// at RequestsPerSecond. Every attempt takes a token, retries included.
type AWSServiceLimit struct {
	RequestsPerSecond float64 `json:"requests_per_second,omitempty"`
	Burst             int     `json:"burst,omitempty"`
}

// Defaults of AWSLimits: well under AWS's documented limits (RDS 12 per
// second and 300 of burst, Lambda 15 per second), so that the account's
// other callers keep most of them.
const (
	DefaultRDSRequestsPerSecond    = 5
	DefaultRDSBurst                = 50
	DefaultLambdaRequestsPerSecond = 5
	DefaultLambdaBurst             = 20
	// AWS's documented limits, which validation messages quote.
	AWSRDSRequestsPerSecond    = 12
	AWSLambdaRequestsPerSecond = 15
)

// DefaultAWSLimits returns the defaults of the aws block.
func DefaultAWSLimits() AWSLimits {
	return AWSLimits{
		RDS:    AWSServiceLimit{RequestsPerSecond: DefaultRDSRequestsPerSecond, Burst: DefaultRDSBurst},
		Lambda: AWSServiceLimit{RequestsPerSecond: DefaultLambdaRequestsPerSecond, Burst: DefaultLambdaBurst},
	}
}

// Resolved fills what depends on the global interval: a listing_max_age
// left out is half of it.
func (l AWSLimits) Resolved(interval time.Duration) AWSLimits {
	if l.ListingMaxAge == 0 {
		l.ListingMaxAge = interval / 2
	}
	return l
}

// Validate checks the block under path; interval is the global tick, which
// a shared listing must be younger than.
func (l AWSLimits) Validate(path *field.Path, interval time.Duration) field.ErrorList {
	var errs field.ErrorList
	for _, s := range []struct {
		name      string
		limit     AWSServiceLimit
		awsPerSec float64
	}{{"rds", l.RDS, AWSRDSRequestsPerSecond}, {"lambda", l.Lambda, AWSLambdaRequestsPerSecond}} {
		p := path.Child(s.name)
		if r := s.limit.RequestsPerSecond; !(r > 0) || math.IsInf(r, 0) {
			errs = append(errs, fielderr.Invalid(p.Child("requests_per_second"), r,
				"must be a number > 0 (AWS allows %g per second per account and region, for every caller together)", s.awsPerSec))
		}
		if b := s.limit.Burst; b < 1 {
			errs = append(errs, fielderr.Invalid(p.Child("burst"), b, "must be >= 1"))
		}
	}
	if a := l.ListingMaxAge; a < 0 || (a > 0 && a >= interval) {
		errs = append(errs, fielderr.Invalid(path.Child("listing_max_age"), a,
			"must be less than interval (%s), so that each tick reads a listing made since the last one (or left out: half the interval)", interval))
	}
	return errs
}

// Outcomes of an AWS API request (scaled_aws_api_requests_total).
const (
	AWSOutcomeSuccess   = "success"
	AWSOutcomeThrottled = "throttled" // AWS answered with a throttling error
	AWSOutcomeError     = "error"     // any other error, transport errors included
	AWSOutcomeNotSent   = "not_sent"  // no token before the call's deadline
)

// Services of AWSLimits: the service label of the metrics.
const (
	awsServiceRDS    = "rds"
	awsServiceLambda = "lambda"
)

// serviceOf names the budget of an SDK service ID.
func serviceOf(id string) string {
	switch id {
	case "RDS":
		return awsServiceRDS
	case "Lambda":
		return awsServiceLambda
	}
	return ""
}

// ErrNoAWSToken is the error of a request that did not get a token of its
// service's budget before its deadline: the tick fails (throttled), and
// nothing is changed on a read that did not happen.
var ErrNoAWSToken = errors.New("no AWS API token before the deadline")

// awsBudget holds the token buckets of one account and region.
type awsBudget struct {
	region  string
	metrics *AWSMetrics
	mu      sync.Mutex
	buckets map[string]*serviceBucket
}

type serviceBucket struct {
	limiter *rate.Limiter
	limit   AWSServiceLimit
}

func newAWSBudget(region string, l AWSLimits, m *AWSMetrics) *awsBudget {
	b := &awsBudget{region: region, metrics: m, buckets: map[string]*serviceBucket{}}
	b.set(l)
	m.add(b)
	return b
}

// set applies new limits; the tokens already in a bucket stay, up to its new burst.
func (b *awsBudget) set(l AWSLimits) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for svc, lim := range map[string]AWSServiceLimit{awsServiceRDS: l.RDS, awsServiceLambda: l.Lambda} {
		if lim.RequestsPerSecond <= 0 || lim.Burst < 1 {
			delete(b.buckets, svc)
			continue
		}
		if sb := b.buckets[svc]; sb != nil {
			sb.limiter.SetLimit(rate.Limit(lim.RequestsPerSecond))
			sb.limiter.SetBurst(lim.Burst)
			sb.limit = lim
			continue
		}
		b.buckets[svc] = &serviceBucket{limiter: rate.NewLimiter(rate.Limit(lim.RequestsPerSecond), lim.Burst), limit: lim}
	}
}

func (b *awsBudget) bucket(svc string) *serviceBucket {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buckets[svc]
}

// wait takes a token of svc's bucket, waiting for one as long as ctx allows;
// a wait that would outlast ctx's deadline fails at once.
func (b *awsBudget) wait(ctx context.Context, svc, op string) error {
	sb := b.bucket(svc)
	if sb == nil {
		return nil
	}
	if err := sb.limiter.Wait(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("%w: %s %s not sent: scaled's %s budget in %s is %g requests per second with a burst of %d (aws.%s), shared by every target of the region",
			ErrNoAWSToken, svc, op, svc, b.region, sb.limit.RequestsPerSecond, sb.limit.Burst, svc)
	}
	return nil
}

// apiOption adds the budget to every client made from a config: after the
// SDK's retry step, so that each attempt, a retry included, takes a token.
func (b *awsBudget) apiOption(stack *middleware.Stack) error {
	return stack.Finalize.Insert(budgetMiddleware{b}, "Retry", middleware.After)
}

type budgetMiddleware struct{ b *awsBudget }

func (budgetMiddleware) ID() string { return "scaled.AWSBudget" }

func (m budgetMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error) {
	svc, op := serviceOf(awsmiddleware.GetServiceID(ctx)), awsmiddleware.GetOperationName(ctx)
	if err := m.b.wait(ctx, svc, op); err != nil {
		m.b.metrics.count(svc, op, AWSOutcomeNotSent)
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	out, md, err := next.HandleFinalize(ctx, in)
	m.b.metrics.count(svc, op, outcomeOf(err))
	return out, md, err
}

func outcomeOf(err error) string {
	switch {
	case err == nil:
		return AWSOutcomeSuccess
	case throttleCodes[AWSErrorCode(err)]:
		return AWSOutcomeThrottled
	}
	return AWSOutcomeError
}

var throttleCodes = map[string]bool{"Throttling": true, "ThrottlingException": true, "TooManyRequestsException": true, "RequestLimitExceeded": true}

// AWSMetrics count the AWS API requests of every AWS target, by service and
// operation, and export the tokens each region's budget has left. They have
// no scaler label: the budget is the account's, not a target's.
type AWSMetrics struct {
	requests *prometheus.CounterVec
	mu       sync.Mutex
	budgets  []*awsBudget
}

// NewAWSMetrics registers the metrics on reg (nil: counted, not registered).
func NewAWSMetrics(reg prometheus.Registerer) *AWSMetrics {
	m := &AWSMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scaled_aws_api_requests_total",
		Help: "AWS API requests (each attempt, retries included) by service, operation and outcome: success, throttled (AWS's throttling error), error, not_sent (no token of scaled's budget before the tick's deadline).",
	}, []string{"service", "operation", "outcome"})}
	if reg != nil {
		reg.MustRegister(m.requests, tokensCollector{m})
	}
	return m
}

func (m *AWSMetrics) count(svc, op, outcome string) {
	if m != nil {
		m.requests.WithLabelValues(svc, op, outcome).Inc()
	}
}

func (m *AWSMetrics) add(b *awsBudget) {
	if m != nil {
		m.mu.Lock()
		m.budgets = append(m.budgets, b)
		m.mu.Unlock()
	}
}

var tokensDesc = prometheus.NewDesc("scaled_aws_api_tokens",
	"Requests scaled's budget lets through at once now (aws.<service>.burst when idle), per service and region; 0 while requests wait for a token.",
	[]string{"service", "region"}, nil)

type tokensCollector struct{ m *AWSMetrics }

func (c tokensCollector) Describe(ch chan<- *prometheus.Desc) { ch <- tokensDesc }

func (c tokensCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	budgets := append([]*awsBudget(nil), c.m.budgets...)
	c.m.mu.Unlock()
	for _, b := range budgets {
		for _, svc := range []string{awsServiceRDS, awsServiceLambda} {
			if sb := b.bucket(svc); sb != nil {
				ch <- prometheus.MustNewConstMetric(tokensDesc, prometheus.GaugeValue, max(0, sb.limiter.Tokens()), svc, b.region)
			}
		}
	}
}
