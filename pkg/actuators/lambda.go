package actuators

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// KindLambda is the provisioned concurrency of a Lambda function's alias
// or version.
const KindLambda TargetKind = "lambda"

func init() {
	Register(KindLambda, func() TargetSpec { return &LambdaTarget{} })
}

// LambdaTarget is the lambda block of a target.
type LambdaTarget struct {
	// Region of the function (default: AWS_REGION or the shared config's).
	Region string `json:"region,omitempty"`
	// FunctionName names the function.
	FunctionName string `json:"function_name,omitempty"`
	// Qualifier is the alias or version whose provisioned concurrency is
	// scaled ($LATEST cannot have any).
	Qualifier     string           `json:"qualifier,omitempty"`
	LambdaOptions `json:",inline"` // aws_options.go
}

var (
	_ TargetSpec     = (*LambdaTarget)(nil)
	_ StartupDelayer = (*LambdaTarget)(nil)
	_ Reacher        = (*LambdaTarget)(nil)
)

// Reach implements Reacher: the function, whatever the qualifier.
func (t *LambdaTarget) Reach() Reach {
	return Reach{Resource: string(KindLambda) + ":" + t.FunctionName, ResourceKey: "function_name", Privileged: endpointPrivileged(t.Endpoint), Region: &t.Region}
}

// String names the function and its qualifier.
func (t *LambdaTarget) String() string { return "lambda/" + t.FunctionName + ":" + t.Qualifier }

// Default implements TargetSpec: the unreserved margin Lambda keeps.
func (t *LambdaTarget) Default(string) {
	if t.UnreservedMargin == nil {
		m := int32(DefaultUnreservedMargin)
		t.UnreservedMargin = &m
	}
}

// Validate implements TargetSpec.
func (t *LambdaTarget) Validate(_ string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.FunctionName == "" {
		errs = append(errs, fielderr.Required(path.Child("function_name"), t.FunctionName, "must not be empty"))
	}
	switch t.Qualifier {
	case "":
		errs = append(errs, fielderr.Required(path.Child("qualifier"), t.Qualifier, "must name an alias or a version"))
	case "$LATEST":
		errs = append(errs, fielderr.Invalid(path.Child("qualifier"), t.Qualifier, "must name an alias or a version: $LATEST cannot have provisioned concurrency"))
	}
	if m := t.UnreservedMargin; m != nil && *m < MinUnreservedMargin {
		errs = append(errs, fielderr.Invalid(path.Child("unreserved_margin"), *m,
			"must be >= %d: Lambda keeps at least that much unreserved (%d on most accounts) and refuses more", MinUnreservedMargin, DefaultUnreservedMargin))
	}
	return errs
}

// DefaultBehavior implements TargetSpec: provisioned concurrency takes a
// minute or two to allocate.
func (t *LambdaTarget) DefaultBehavior() policy.Behavior { return lambdaBehavior() }

// StartupDelay implements StartupDelayer: an allocation serves after about a minute and a half.
func (t *LambdaTarget) StartupDelay() time.Duration { return LambdaStartupDelay }

// New implements TargetSpec.
func (t *LambdaTarget) New(deps Deps) (Actuator, error) { return newAWS(deps, t.Region, *t, NewLambda) }

// Lambda is the provisioned concurrency of a function's alias or version:
// its capacity is concurrent executions, not replicas.
//
// Read takes Current from the requested concurrency and Ready from the
// available one (0 and 0 without a config). Lambda allows one config per
// version, on the version or on one alias that points to it (Developer
// Guide, "Configuring provisioned concurrency"): when the target is an alias
// whose version holds its own config, Read reports that config, which is
// what serves the alias. An alias that points to $LATEST cannot have one:
// Read fails and says so. A config that is IN_PROGRESS or FAILED says so,
// with AWS's reason, through Status, which the loop puts in the decision. A
// FAILED request stays the current capacity, so that scaled does not hammer
// a function that cannot start; the next change asks again.
//
// Set(0) deletes the config. A raise is clamped: on a function with
// reserved concurrency, to what the reservation leaves after the function's
// other versions and aliases (provisioned concurrency counts towards it);
// otherwise to the account's unreserved concurrency plus what this target
// holds (Lambda takes provisioned concurrency of an unreserved function
// from that pool), minus unreserved_margin. A clamped raise returns
// *LimitedError; a cut is never clamped, since it only frees concurrency.
// Set changes nothing, and fails with an invalid_state error, while the
// alias has a routing configuration (Lambda refuses provisioned-concurrency
// changes on it) or its version holds its own config.
type Lambda struct {
	client   *lambda.Client
	fn, qual string
	isAlias  bool
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
func NewLambda(t LambdaTarget, o AWSOptions) (*Lambda, error) {
	if t.FunctionName == "" || t.Qualifier == "" {
		return nil, errors.New("lambda target: function_name and qualifier must be set")
	}
	o.fill()
	margin := int32(DefaultUnreservedMargin)
	if t.UnreservedMargin != nil {
		margin = *t.UnreservedMargin
	}
	region := o.Region
	if region == nil {
		region = privateRegion(o.Config, o.Clock)
	}
	client := region.lambdaClient(t.Endpoint)
	_, numeric := strconv.Atoi(t.Qualifier)
	return &Lambda{client: client, fn: t.FunctionName, qual: t.Qualifier, isAlias: numeric != nil && t.Qualifier != "$LATEST",
		margin: margin, o: o}, nil
}

// lambdaState is the provisioned-concurrency config serving the target, as read.
type lambdaState struct {
	exists                          bool
	on                              string // the qualifier holding it: the target, or its alias's version
	requested, available, allocated int32
	status                          lambdatypes.ProvisionedConcurrencyStatusEnum
	reason                          string
	alias                           *lambda.GetAliasOutput // when the target is an alias and it was read
}

func (l *Lambda) count(op string, err error) error {
	return classifyAWS(op, err)
}

// config reads qualifier q's config; exists is false when it has none.
func (l *Lambda) config(ctx context.Context, q string) (lambdaState, error) {
	out, err := l.client.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(l.fn), Qualifier: aws.String(q),
	})
	if AWSErrorCode(err) == "ProvisionedConcurrencyConfigNotFoundException" {
		return lambdaState{}, nil
	}
	if err != nil {
		return lambdaState{}, l.count("GetProvisionedConcurrencyConfig", err)
	}
	return lambdaState{exists: true, on: q, requested: aws.ToInt32(out.RequestedProvisionedConcurrentExecutions),
		available: aws.ToInt32(out.AvailableProvisionedConcurrentExecutions),
		allocated: aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions),
		status:    out.Status, reason: aws.ToString(out.StatusReason)}, nil
}

func (l *Lambda) getAlias(ctx context.Context) (*lambda.GetAliasOutput, error) {
	a, err := l.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(l.fn), Name: aws.String(l.qual)})
	if err != nil {
		return nil, l.count("GetAlias", err)
	}
	if v := aws.ToString(a.FunctionVersion); v == "$LATEST" {
		return nil, &AWSError{Kind: AWSInvalidRequest, Op: "GetAlias", Err: fmt.Errorf(
			"alias %s of %s points to $LATEST, which cannot have provisioned concurrency: publish a version and point the alias to it", l.qual, l.fn)}
	}
	return a, nil
}

// get reads the config serving the target. For an alias without a config
// of its own it reads the alias and its version's config.
func (l *Lambda) get(ctx context.Context) (lambdaState, error) {
	st, err := l.config(ctx, l.qual)
	if err != nil || st.exists || !l.isAlias {
		l.setStatus(st)
		return st, err
	}
	a, err := l.getAlias(ctx)
	if err != nil {
		return lambdaState{}, err
	}
	st, err = l.config(ctx, aws.ToString(a.FunctionVersion))
	st.alias = a
	l.setStatus(st)
	return st, err
}

func (l *Lambda) setStatus(st lambdaState) {
	s := ""
	switch st.status {
	case lambdatypes.ProvisionedConcurrencyStatusEnumInProgress:
		s = fmt.Sprintf("provisioned concurrency IN_PROGRESS: %d of %d available", st.available, st.requested)
	case lambdatypes.ProvisionedConcurrencyStatusEnumFailed:
		s = fmt.Sprintf("provisioned concurrency FAILED: %s (%d of %d available)", st.reason, st.available, st.requested)
	}
	if st.exists && st.on != l.qual {
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("the config is on version %s, which alias %s points to", st.on, l.qual)
	}
	l.mu.Lock()
	l.status = s
	l.mu.Unlock()
}

// Status says IN_PROGRESS or FAILED (with AWS's reason), and when the
// config serving an alias is on its version; "" when READY or absent.
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

// settable refuses, before any write, what Lambda would refuse on an alias.
func (l *Lambda) settable(ctx context.Context, st *lambdaState) error {
	if !l.isAlias {
		return nil
	}
	if st.alias == nil {
		a, err := l.getAlias(ctx)
		if err != nil {
			return err
		}
		st.alias = a
	}
	if rc := st.alias.RoutingConfig; rc != nil && len(rc.AdditionalVersionWeights) > 0 {
		var w []string
		for _, v := range slices.Sorted(maps.Keys(rc.AdditionalVersionWeights)) {
			w = append(w, fmt.Sprintf("%g%% to version %s", rc.AdditionalVersionWeights[v]*100, v))
		}
		return &AWSError{Kind: AWSInvalidState, Op: "GetAlias", Err: fmt.Errorf(
			"alias %s routes %s (a routing configuration): Lambda refuses provisioned-concurrency changes on it until the routing configuration is removed",
			l.qual, strings.Join(w, ", "))}
	}
	if st.exists && st.on != l.qual {
		return &AWSError{Kind: AWSInvalidState, Op: "PutProvisionedConcurrencyConfig", Err: fmt.Errorf(
			"version %s, which alias %s points to, holds its own provisioned concurrency config (%d): Lambda allows one per version; target qualifier %s, or delete that config",
			st.on, l.qual, st.requested, st.on)}
	}
	return nil
}

func (l *Lambda) Set(ctx context.Context, n int32, reason string) error {
	st, err := l.get(ctx)
	if err != nil {
		return err
	}
	if err := l.settable(ctx, &st); err != nil {
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
			if updating(err) {
				return l.later(n, st.requested, err)
			}
			return l.count("DeleteProvisionedConcurrencyConfig", err)
		}
		l.o.Logger.Info("provisioned concurrency deleted", zap.Int32("from", st.requested), zap.String("reason", reason))
		l.setStatus(lambdaState{})
		return nil
	}
	got, why := n, ""
	if n > st.requested {
		limit, what, err := l.limit(ctx, st)
		if err != nil {
			return err
		}
		if n > limit {
			got, why = max(limit, st.requested), what
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
			if updating(err) {
				return l.later(n, st.requested, err)
			}
			return l.count("PutProvisionedConcurrencyConfig", err)
		}
		l.o.Logger.Info("provisioned concurrency set", zap.Int32("from", st.requested), zap.Int32("to", got), zap.String("reason", reason))
		l.setStatus(lambdaState{exists: true, on: l.qual, requested: got, available: aws.ToInt32(out.AvailableProvisionedConcurrentExecutions),
			allocated: aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions), status: out.Status, reason: aws.ToString(out.StatusReason)})
	}
	if got != n {
		return &LimitedError{Asked: n, Got: got, Reason: why}
	}
	return nil
}

// updating reports whether err is Lambda refusing a change while an update
// of the function's code or configuration runs (ResourceConflictException,
// "An update is in progress for resource"): it passes by itself.
func updating(err error) bool {
	return AWSErrorCode(err) == "ResourceConflictException" && strings.Contains(apiMessage(err), "An update is in progress")
}

// later reports a change Lambda refused during a function update as a
// limit, not a failure: the target keeps what it had, and the next tick
// asks again.
func (l *Lambda) later(asked, kept int32, err error) error {
	l.o.Logger.Info("provisioned concurrency not changed during a function update", zap.Error(err))
	return &LimitedError{Asked: asked, Got: kept, Reason: fmt.Sprintf("function %s is being updated (ResourceConflictException): asked again at the next tick", l.fn)}
}

// limit is the most provisioned concurrency the target may hold, and what
// sets it: the function's reservation less its other configs, or the
// account's unreserved pool plus what the target holds, less the margin.
func (l *Lambda) limit(ctx context.Context, st lambdaState) (int32, string, error) {
	fc, err := l.client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(l.fn)})
	if err != nil {
		return 0, "", l.count("GetFunctionConcurrency", err)
	}
	if fc.ReservedConcurrentExecutions != nil {
		reserved := aws.ToInt32(fc.ReservedConcurrentExecutions)
		// Every page: a function with more than 50 configs lists them over
		// several (MaxItems is at most 50).
		configs, err := allPages(ctx, lambda.NewListProvisionedConcurrencyConfigsPaginator(l.client, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String(l.fn)}),
			func(page *lambda.ListProvisionedConcurrencyConfigsOutput) []lambdatypes.ProvisionedConcurrencyConfigListItem {
				return page.ProvisionedConcurrencyConfigs
			})
		if err != nil {
			return 0, "", l.count("ListProvisionedConcurrencyConfigs", err)
		}
		var others int32
		var held []string
		for _, c := range configs {
			arn := aws.ToString(c.FunctionArn)
			if q := arn[strings.LastIndex(arn, ":")+1:]; q != l.qual {
				others += aws.ToInt32(c.RequestedProvisionedConcurrentExecutions)
				held = append(held, fmt.Sprintf("%s %d", q, aws.ToInt32(c.RequestedProvisionedConcurrentExecutions)))
			}
		}
		sort.Strings(held)
		what := fmt.Sprintf("function %s reserves %d concurrency, which provisioned concurrency counts towards", l.fn, reserved)
		if others > 0 {
			what += fmt.Sprintf("; its other versions and aliases hold %d (%s)", others, strings.Join(held, ", "))
		}
		return reserved - others, what, nil
	}
	acct, err := l.client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		return 0, "", l.count("GetAccountSettings", err)
	}
	var unreserved int32
	if acct.AccountLimit != nil {
		unreserved = aws.ToInt32(acct.AccountLimit.UnreservedConcurrentExecutions)
	}
	return unreserved + st.requested - l.margin,
		fmt.Sprintf("the account has %d unreserved concurrency, %d of which is kept for other functions (unreserved_margin)", unreserved, l.margin), nil
}
