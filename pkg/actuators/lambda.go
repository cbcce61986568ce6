package actuators

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Lambda is the provisioned concurrency of a function's alias or version:
// its capacity is concurrent executions, not replicas.
//
// Read takes Current from the requested concurrency and Ready from the
// available one (0 and 0 without a config). A config that is IN_PROGRESS or
// FAILED says so, with AWS's reason, through Status, which the loop puts in
// the decision. A FAILED request stays the current capacity, so that scaled
// does not hammer a function that cannot start; the next change asks again.
//
// Set(0) deletes the config. A raise is clamped to the account's unreserved
// concurrency plus what this target holds, minus unreserved_margin
// (GetAccountSettings), and returns *LimitedError when it was clamped; a
// cut is never clamped, since it only frees concurrency.
type Lambda struct {
	client   *lambda.Client
	fn, qual string
	margin   int32
	o        AWSOptions
	mu       sync.Mutex
	status   string
}

var (
	_ Actuator       = (*Lambda)(nil)
	_ StatusReporter = (*Lambda)(nil)
)

// NewLambda returns the target t. It makes no call: the first Read does.
func NewLambda(t config.LambdaTarget, o AWSOptions) (*Lambda, error) {
	if t.FunctionName == "" || t.Qualifier == "" {
		return nil, errors.New("lambda target: function_name and qualifier must be set")
	}
	o.fill()
	margin := int32(config.DefaultUnreservedMargin)
	if t.UnreservedMargin != nil {
		margin = *t.UnreservedMargin
	}
	client := lambda.NewFromConfig(o.Config, func(lo *lambda.Options) {
		if t.Endpoint != "" {
			lo.BaseEndpoint = aws.String(t.Endpoint)
		}
	})
	o.Metrics.start(o.Scaler)
	return &Lambda{client: client, fn: t.FunctionName, qual: t.Qualifier, margin: margin, o: o}, nil
}

// lambdaState is a provisioned-concurrency config as read.
type lambdaState struct {
	exists                          bool
	requested, available, allocated int32
	status                          lambdatypes.ProvisionedConcurrencyStatusEnum
	reason                          string
}

func (l *Lambda) get(ctx context.Context) (lambdaState, error) {
	out, err := l.client.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(l.fn), Qualifier: aws.String(l.qual),
	})
	if AWSErrorCode(err) == "ProvisionedConcurrencyConfigNotFoundException" {
		l.setStatus(lambdaState{})
		return lambdaState{}, nil
	}
	if err != nil {
		return lambdaState{}, l.o.Metrics.count(l.o.Scaler, classifyAWS("GetProvisionedConcurrencyConfig", err))
	}
	st := lambdaState{exists: true, requested: aws.ToInt32(out.RequestedProvisionedConcurrentExecutions),
		available: aws.ToInt32(out.AvailableProvisionedConcurrentExecutions),
		allocated: aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions),
		status:    out.Status, reason: aws.ToString(out.StatusReason)}
	l.setStatus(st)
	return st, nil
}

func (l *Lambda) setStatus(st lambdaState) {
	s := ""
	switch st.status {
	case lambdatypes.ProvisionedConcurrencyStatusEnumInProgress:
		s = fmt.Sprintf("provisioned concurrency IN_PROGRESS: %d of %d available", st.available, st.requested)
	case lambdatypes.ProvisionedConcurrencyStatusEnumFailed:
		s = fmt.Sprintf("provisioned concurrency FAILED: %s (%d of %d available)", st.reason, st.available, st.requested)
	}
	l.mu.Lock()
	l.status = s
	l.mu.Unlock()
}

// Status says IN_PROGRESS or FAILED (with AWS's reason); "" when READY or absent.
func (l *Lambda) Status() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func (l *Lambda) Read(ctx context.Context) (scaling.Capacity, error) {
	st, err := l.get(ctx)
	if err != nil {
		return scaling.Capacity{}, err
	}
	return scaling.Capacity{Current: st.requested, Ready: st.available}, nil
}

func (l *Lambda) Set(ctx context.Context, n int32, reason string) error {
	st, err := l.get(ctx)
	if err != nil {
		return err
	}
	if n <= 0 {
		if !st.exists {
			return nil
		}
		_, err := l.client.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(l.fn), Qualifier: aws.String(l.qual),
		})
		if err != nil {
			return l.o.Metrics.count(l.o.Scaler, classifyAWS("DeleteProvisionedConcurrencyConfig", err))
		}
		l.o.Logger.Info("provisioned concurrency deleted", zap.Int32("from", st.requested), zap.String("reason", reason))
		l.setStatus(lambdaState{})
		return nil
	}
	got, why := n, ""
	if n > st.requested {
		acct, err := l.client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if err != nil {
			return l.o.Metrics.count(l.o.Scaler, classifyAWS("GetAccountSettings", err))
		}
		var unreserved int32
		if acct.AccountLimit != nil {
			unreserved = aws.ToInt32(acct.AccountLimit.UnreservedConcurrentExecutions)
		}
		if limit := unreserved + st.requested - l.margin; n > limit {
			got = max(limit, st.requested)
			why = fmt.Sprintf("the account has %d unreserved concurrency, %d of which is kept for other functions (unreserved_margin)", unreserved, l.margin)
		}
	}
	if got == 0 {
		return &LimitedError{Asked: n, Got: 0, Reason: why}
	}
	if got != st.requested || !st.exists {
		out, err := l.client.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(l.fn), Qualifier: aws.String(l.qual), ProvisionedConcurrentExecutions: aws.Int32(got),
		})
		if err != nil {
			return l.o.Metrics.count(l.o.Scaler, classifyAWS("PutProvisionedConcurrencyConfig", err))
		}
		l.o.Logger.Info("provisioned concurrency set", zap.Int32("from", st.requested), zap.Int32("to", got), zap.String("reason", reason))
		l.setStatus(lambdaState{exists: true, requested: got, available: aws.ToInt32(out.AvailableProvisionedConcurrentExecutions),
			allocated: aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions), status: out.Status, reason: aws.ToString(out.StatusReason)})
	}
	if got != n {
		return &LimitedError{Asked: n, Got: got, Reason: why}
	}
	return nil
}
