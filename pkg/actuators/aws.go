package actuators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// AWS retry bounds: throttling and transient errors are retried by the
// SDK's standard retryer with exponential jittered backoff, at most
// DefaultAWSMaxAttempts attempts each at most DefaultAWSMaxBackoff apart, so
// that one call stays well inside a tick.
const (
	DefaultAWSMaxAttempts = 5
	DefaultAWSMaxBackoff  = 5 * time.Second
)

// LoadAWSConfig loads the default credential chain (environment, shared
// config and credentials files, IRSA web identity through
// AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, ECS and EC2 roles) for
// region (empty: AWS_REGION or the shared config's), with a bounded retryer.
func LoadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer { return NewAWSRetryer(DefaultAWSMaxAttempts, DefaultAWSMaxBackoff) }),
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("aws config: no region: set the target's region or AWS_REGION")
	}
	return cfg, nil
}

// NewAWSRetryer is the SDK's standard retryer bounded to attempts and backoff.
func NewAWSRetryer(attempts int, maxBackoff time.Duration) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = maxBackoff
	})
}

// AWSOptions are an AWS target's dependencies.
type AWSOptions struct {
	Config aws.Config // credentials, region and retryer (LoadAWSConfig)
	// Region is shared by every target of the account and region: clients,
	// request budget, listing (nil: the target makes its own from Config,
	// with neither budget nor shared listing).
	Region   *AWSRegion
	Endpoint string // overrides the service endpoint ("" for AWS's own)
	Scaler   string // label of its metrics, field of its logs, default owner
	Logger   *zap.Logger
	Clock    clock.PassiveClock // nil: the real clock
	Warnings WarningObserver    // nil: warnings go to the log and the status only
}

func (o *AWSOptions) fill() {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
}

// warn tells the warning observer, if any.
func (o *AWSOptions) warn(reason, message string) {
	if o.Warnings != nil {
		o.Warnings.ObserveWarning(reason, message)
	}
}

// The kinds of AWS errors: the reason label of scaled_target_errors_total
// for AWS targets (ErrorReason).
const (
	AWSThrottled      = "throttled"             // retries ran out while throttled
	AWSAccessDenied   = "access_denied"         // IAM refused: see deploy/aws for the policy
	AWSNotFound       = "not_found"             // the cluster, instance, function or qualifier is not there
	AWSQuotaExceeded  = "quota_exceeded"        // an account or per-resource limit
	AWSInvalidState   = "invalid_state"         // the resource is busy (modifying, creating, another update)
	AWSInvalidRequest = "invalid_request"       // a parameter AWS refused (class, zone, subnet group)
	AWSNoCapacity     = "insufficient_capacity" // no zone had room for the instance class
	AWSTimeout        = "timeout"               // the call's deadline (the tick's) passed
	AWSOther          = "other"                 // anything else, transport errors included
)

// AWSError is a failed AWS call, named by kind. The target is left as the
// call found it, apart from what earlier calls of the same Set did.
type AWSError struct {
	Kind string // one of the AWS* kinds
	Op   string // the API operation, e.g. CreateDBInstance
	Code string // AWS's error code, "" for transport errors
	Err  error
}

func (e *AWSError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s: %s: %v", e.Op, e.Kind, e.Err)
	}
	return fmt.Sprintf("%s: %s (%s): %s", e.Op, e.Kind, e.Code, apiMessage(e.Err))
}

func (e *AWSError) Unwrap() error { return e.Err }

// Reason is the error's kind (ErrorReason).
func (e *AWSError) Reason() string { return e.Kind }

func apiMessage(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorMessage() != "" {
		return api.ErrorMessage()
	}
	return err.Error()
}

// AWSErrorCode returns the AWS error code carried by err, or "".
func AWSErrorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// classifyAWS names err by kind. A cancelled context (shutdown) passes
// through unchanged; a deadline that passed is a timeout.
func classifyAWS(op string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, ErrNoAWSToken) {
		return &AWSError{Kind: AWSThrottled, Op: op, Err: err}
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return &AWSError{Kind: AWSTimeout, Op: op, Err: err}
	}
	code := AWSErrorCode(err)
	kind := AWSOther
	switch code {
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded":
		kind = AWSThrottled // the account's limit, for every caller together
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
		"InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch",
		"KMSKeyNotAccessibleFault":
		kind = AWSAccessDenied
	case "DBClusterNotFoundFault", "DBInstanceNotFound", "ResourceNotFoundException", "GlobalClusterNotFoundFault",
		"ProvisionedConcurrencyConfigNotFoundException", "DBParameterGroupNotFound", "DBSubnetGroupNotFoundFault":
		kind = AWSNotFound
	case "InstanceQuotaExceeded", "StorageQuotaExceeded":
		kind = AWSQuotaExceeded
	case "InsufficientDBInstanceCapacity", "InsufficientAvailableIPsInSubnetFault":
		kind = AWSNoCapacity
	case "InvalidDBInstanceState", "InvalidDBClusterStateFault", "ResourceConflictException":
		kind = AWSInvalidState
	case "InvalidParameterValue", "InvalidParameterCombination", "InvalidParameterValueException",
		"MissingParameter", "InvalidSubnet", "DBInstanceAlreadyExists":
		kind = AWSInvalidRequest
		if strings.Contains(apiMessage(err), "UnreservedConcurrentExecution") {
			kind = AWSQuotaExceeded
		}
	}
	return &AWSError{Kind: kind, Op: op, Code: code, Err: err}
}

// AWSErrorKind returns the kind of an error from an AWS target, or "".
func AWSErrorKind(err error) string {
	var ae *AWSError
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return ""
}
