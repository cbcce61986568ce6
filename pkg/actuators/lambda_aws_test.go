package actuators

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scaled-dev/scaled/internal/awsemu"
)

func newLambdaEnv(t *testing.T, concurrency int, margin int32) (*awsEnv, *Lambda) {
	t.Helper()
	env := newAWSEnv(t, awsemu.Options{Concurrency: concurrency})
	env.emu.AddFunction("checkout", "live", "7")
	l, err := NewLambda(LambdaTarget{FunctionName: "checkout", Qualifier: "live",
		LambdaOptions: LambdaOptions{UnreservedMargin: &margin, Endpoint: env.url}}, env.opts)
	if err != nil {
		t.Fatal(err)
	}
	return env, l
}

func TestLambdaProvisionedConcurrency(t *testing.T) {
	env, l := newLambdaEnv(t, 1000, 100)
	ctx := context.Background()
	if cur, ready := mustRead(t, l); cur != 0 || ready != 0 {
		t.Fatalf("no config reads %d/%d", cur, ready)
	}
	if err := l.Set(ctx, 50, "up"); err != nil {
		t.Fatal(err)
	}
	if cur, ready := mustRead(t, l); cur != 50 || ready != 0 || l.Status() != "provisioned concurrency IN_PROGRESS: 0 of 50 available" {
		t.Errorf("allocating: %d/%d %q", cur, ready, l.Status())
	}
	env.clock.Step(awsemu.DefaultAllocationDelay)
	if cur, ready := mustRead(t, l); cur != 50 || ready != 50 || l.Status() != "" {
		t.Errorf("ready: %d/%d %q", cur, ready, l.Status())
	}
	if err := l.Set(ctx, 20, "down"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(ctx, 0, "off"); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.emu.Provisioned("checkout", "live"); ok {
		t.Error("Set(0) left a config")
	}
	if err := l.Set(ctx, 0, "off again"); err != nil {
		t.Errorf("Set(0) without a config: %v", err)
	}
	var puts []string
	for _, c := range env.emu.CallsOf("PutProvisionedConcurrencyConfig") {
		puts = append(puts, c.Params["ProvisionedConcurrentExecutions"])
	}
	if diff := cmp.Diff([]string{"50", "20"}, puts); diff != "" {
		t.Errorf("puts (-want +got):\n%s", diff)
	}
	if n := len(env.emu.CallsOf("DeleteProvisionedConcurrencyConfig")); n != 1 {
		t.Errorf("%d deletes, want 1", n)
	}
	// A cut never asks the account: only the raise did.
	if n := len(env.emu.CallsOf("GetAccountSettings")); n != 1 {
		t.Errorf("%d account reads, want 1", n)
	}
}

func TestLambdaFailedAllocationIsVisible(t *testing.T) {
	env, l := newLambdaEnv(t, 1000, 100)
	env.emu.FailAllocation("checkout", "live", "FUNCTION_ERROR_INIT_FAILURE")
	if err := l.Set(context.Background(), 30, "up"); err != nil {
		t.Fatal(err)
	}
	env.clock.Step(awsemu.DefaultAllocationDelay)
	cur, ready := mustRead(t, l)
	if cur != 30 || ready != 0 {
		t.Errorf("failed config reads %d/%d, want 30/0", cur, ready)
	}
	if want := "provisioned concurrency FAILED: FUNCTION_ERROR_INIT_FAILURE (0 of 30 available)"; l.Status() != want {
		t.Errorf("status %q, want %q", l.Status(), want)
	}
}

func TestLambdaAccountClamp(t *testing.T) {
	ctx := context.Background()
	env, l := newLambdaEnv(t, 500, 150) // 500 unreserved, 150 kept: at most 350
	lim := wantLimited(t, l.Set(ctx, 400, "up"), 400, 350)
	if !strings.Contains(lim.Reason, "500 unreserved concurrency, 150 of which is kept") {
		t.Errorf("reason %q", lim.Reason)
	}
	if pc, _ := env.emu.Provisioned("checkout", "live"); pc.Requested != 350 {
		t.Errorf("requested %d, want 350", pc.Requested)
	}
	// What it holds counts as its own: 150 unreserved now, +350 held, -150 kept.
	wantLimited(t, l.Set(ctx, 360, "up"), 360, 350)
	if n := len(env.emu.CallsOf("PutProvisionedConcurrencyConfig")); n != 1 {
		t.Errorf("%d puts, want 1: a clamp to what it has changes nothing", n)
	}
	// Another function takes concurrency: the limit falls, what is held is kept.
	env.emu.AddFunction("search", "live")
	env.emu.SetConcurrency(600)
	if err := l.Set(ctx, 300, "down"); err != nil {
		t.Errorf("a cut is never clamped: %v", err)
	}
}

func TestLambdaErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("throttling survived", func(t *testing.T) {
		env, l := newLambdaEnv(t, 1000, 100)
		env.emu.Throttle("PutProvisionedConcurrencyConfig", 2)
		if err := l.Set(ctx, 10, "up"); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"TooManyRequestsException", "TooManyRequestsException", ""}, env.codes("PutProvisionedConcurrencyConfig")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		env, l := newLambdaEnv(t, 1000, 100)
		env.emu.Deny("PutProvisionedConcurrencyConfig")
		err := l.Set(ctx, 10, "up")
		wantKind(t, err, AWSAccessDenied)
		if _, ok := env.emu.Provisioned("checkout", "live"); ok {
			t.Error("a denied put made a config")
		}
	})
	t.Run("unknown alias", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddFunction("checkout", "live")
		l, _ := NewLambda(LambdaTarget{FunctionName: "checkout", Qualifier: "blue",
			LambdaOptions: LambdaOptions{Endpoint: env.url}}, env.opts)
		_, err := l.Read(ctx)
		wantKind(t, err, AWSNotFound)
	})
	t.Run("the account refuses below its minimum", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{Concurrency: 200})
		env.emu.AddFunction("checkout", "live")
		// A margin of 0 is refused by validation; built in code, AWS refuses instead.
		zero := int32(0)
		l, _ := NewLambda(LambdaTarget{FunctionName: "checkout", Qualifier: "live",
			LambdaOptions: LambdaOptions{UnreservedMargin: &zero, Endpoint: env.url}}, env.opts)
		wantKind(t, l.Set(ctx, 150, "up"), AWSQuotaExceeded)
	})
}

func TestLambdaReservedConcurrency(t *testing.T) {
	ctx := context.Background()
	env := newAWSEnv(t, awsemu.Options{})
	env.emu.AddFunction("checkout", "6", "7", "live")
	env.emu.SetAlias("checkout", "canary", "6", nil)
	env.emu.SetReservedConcurrency("checkout", 200)
	env.emu.SeedProvisioned("checkout", "canary", 50)
	l, err := NewLambda(LambdaTarget{FunctionName: "checkout", Qualifier: "live",
		LambdaOptions: LambdaOptions{Endpoint: env.url}}, env.opts)
	if err != nil {
		t.Fatal(err)
	}
	// The account has 800 unreserved: the reservation, not the account, limits.
	lim := wantLimited(t, l.Set(ctx, 300, "up"), 300, 150)
	if want := "function checkout reserves 200 concurrency, which provisioned concurrency counts towards; its other versions and aliases hold 50 (canary 50)"; lim.Reason != want {
		t.Errorf("reason %q, want %q", lim.Reason, want)
	}
	if pc, _ := env.emu.Provisioned("checkout", "live"); pc.Requested != 150 {
		t.Errorf("requested %d, want 150", pc.Requested)
	}
	// What it holds is inside the reservation: asking again changes nothing.
	wantLimited(t, l.Set(ctx, 160, "up"), 160, 150)
	if n := len(env.emu.CallsOf("PutProvisionedConcurrencyConfig")); n != 1 {
		t.Errorf("%d puts, want 1", n)
	}
	if n := len(env.emu.CallsOf("GetAccountSettings")); n != 0 {
		t.Errorf("%d account reads: a reserved function's clamp does not need them", n)
	}
}

func TestLambdaLowQuotaAccount(t *testing.T) {
	// A new account: 50 concurrent executions, of which Lambda keeps 10.
	env := newAWSEnv(t, awsemu.Options{Concurrency: 50, MinUnreserved: 10})
	env.emu.AddFunction("checkout", "live")
	margin := int32(MinUnreservedMargin)
	l, err := NewLambda(LambdaTarget{FunctionName: "checkout", Qualifier: "live",
		LambdaOptions: LambdaOptions{UnreservedMargin: &margin, Endpoint: env.url}}, env.opts)
	if err != nil {
		t.Fatal(err)
	}
	wantLimited(t, l.Set(context.Background(), 60, "up"), 60, 40)
	if pc, _ := env.emu.Provisioned("checkout", "live"); pc.Requested != 40 {
		t.Errorf("requested %d, want 40", pc.Requested)
	}
}

func TestLambdaAliases(t *testing.T) {
	ctx := context.Background()
	newTarget := func(t *testing.T, env *awsEnv, qualifier string) *Lambda {
		t.Helper()
		l, err := NewLambda(LambdaTarget{FunctionName: "checkout", Qualifier: qualifier,
			LambdaOptions: LambdaOptions{Endpoint: env.url}}, env.opts)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	t.Run("a config on the version serves the alias", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddFunction("checkout", "7", "live")
		env.emu.SeedProvisioned("checkout", "7", 20)
		l := newTarget(t, env, "live")
		if cur, ready := mustRead(t, l); cur != 20 || ready != 20 {
			t.Errorf("read %d/%d, want the version's 20/20", cur, ready)
		}
		if s := l.Status(); s != "the config is on version 7, which alias live points to" {
			t.Errorf("status %q", s)
		}
		wantSetRefused(t, env, l, "version 7, which alias live points to, holds its own provisioned concurrency config (20)")
	})
	t.Run("an alias of $LATEST cannot have provisioned concurrency", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddFunction("checkout", "7")
		env.emu.SetAlias("checkout", "dev", "$LATEST", nil)
		_, err := newTarget(t, env, "dev").Read(ctx)
		wantKind(t, err, AWSInvalidRequest, "alias dev of checkout points to $LATEST, which cannot have provisioned concurrency")
	})
	t.Run("an alias with a routing configuration is left alone", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddFunction("checkout", "7", "8", "live")
		env.emu.SetAlias("checkout", "live", "7", map[string]float64{"8": 0.1})
		l := newTarget(t, env, "live")
		wantSetRefused(t, env, l, "alias live routes 10% to version 8 (a routing configuration)")
	})
	t.Run("moving the alias re-allocates its concurrency", func(t *testing.T) {
		env := newAWSEnv(t, awsemu.Options{})
		env.emu.AddFunction("checkout", "7", "live")
		l := newTarget(t, env, "live")
		if err := l.Set(ctx, 30, "up"); err != nil {
			t.Fatal(err)
		}
		env.clock.Step(awsemu.DefaultAllocationDelay)
		env.emu.SetAlias("checkout", "live", "8", nil)
		if cur, ready := mustRead(t, l); cur != 30 || ready != 0 || l.Status() != "provisioned concurrency IN_PROGRESS: 0 of 30 available" {
			t.Errorf("while re-allocating: %d/%d %q", cur, ready, l.Status())
		}
		env.clock.Step(awsemu.DefaultAllocationDelay)
		if cur, ready := mustRead(t, l); cur != 30 || ready != 30 {
			t.Errorf("re-allocated: %d/%d", cur, ready)
		}
	})
}

// TestLambdaReadsEveryPageOfConfigs: a function whose other versions hold
// more configs than one page of ListProvisionedConcurrencyConfigs (50)
// lists; the clamp counts them all, so that the raise AWS would refuse is
// not sent.
func TestLambdaReadsEveryPageOfConfigs(t *testing.T) {
	env := newAWSEnv(t, awsemu.Options{Concurrency: 3000})
	var versions []string
	for v := 1; v <= 60; v++ {
		versions = append(versions, strconv.Itoa(v))
	}
	env.emu.AddFunction("checkout", append(versions, "live")...) // live points to 60
	env.emu.SetReservedConcurrency("checkout", 1000)
	for v := 1; v <= 59; v++ {
		env.emu.SeedProvisioned("checkout", strconv.Itoa(v), 10)
	}
	margin := int32(100)
	l, err := NewLambda(LambdaTarget{FunctionName: "checkout", Qualifier: "live",
		LambdaOptions: LambdaOptions{UnreservedMargin: &margin, Endpoint: env.url}}, env.opts)
	if err != nil {
		t.Fatal(err)
	}
	wantLimited(t, l.Set(context.Background(), 800, "up"), 800, 1000-590)
	if n := len(env.emu.CallsOf("ListProvisionedConcurrencyConfigs")); n != 2 {
		t.Errorf("%d pages read, want 2", n)
	}
}

// TestLambdaWaitsOutAFunctionUpdate: while a deploy updates the function,
// Lambda refuses provisioned-concurrency changes with
// ResourceConflictException; that is a wait, not a failure, and the next
// tick after the update applies the change.
func TestLambdaWaitsOutAFunctionUpdate(t *testing.T) {
	env, l := newLambdaEnv(t, 1000, 100)
	ctx := context.Background()
	if err := l.Set(ctx, 50, "up"); err != nil {
		t.Fatal(err)
	}
	env.emu.UpdateFunction("checkout", time.Minute)
	lim := wantLimited(t, l.Set(ctx, 80, "up"), 80, 50)
	if !strings.Contains(lim.Reason, "being updated") {
		t.Errorf("reason %q", lim.Reason)
	}
	env.clock.Step(time.Minute)
	if err := l.Set(ctx, 80, "up"); err != nil {
		t.Fatalf("after the update: %v", err)
	}
	if pc, _ := env.emu.Provisioned("checkout", "live"); pc.Requested != 80 {
		t.Errorf("requested %d, want 80", pc.Requested)
	}
}

// wantSetRefused checks that a raise of l is refused as invalid_state,
// saying says, and asks Lambda for no change.
func wantSetRefused(t *testing.T, env *awsEnv, l *Lambda, says string) {
	t.Helper()
	wantKind(t, l.Set(context.Background(), 30, "up"), AWSInvalidState, says)
	if n := len(env.emu.CallsOf("PutProvisionedConcurrencyConfig")); n != 0 {
		t.Errorf("%d puts, want none", n)
	}
}
