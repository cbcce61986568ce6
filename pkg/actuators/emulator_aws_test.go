package actuators

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/internal/awsemu"
)

var awsT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// awsEnv is an emulated account reached by the real SDK clients.
type awsEnv struct {
	emu   *awsemu.Emulator
	clock *clocktesting.FakeClock
	url   string
	opts  AWSOptions
}

func newAWSEnv(t *testing.T, o awsemu.Options) *awsEnv {
	t.Helper()
	clk := clocktesting.NewFakeClock(awsT0)
	emu := awsemu.New(clk, o)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		// The standard retryer, with backoff short enough for a unit test.
		Retryer: func() aws.Retryer { return NewAWSRetryer(DefaultAWSMaxAttempts, time.Millisecond) },
	}
	return &awsEnv{emu: emu, clock: clk, url: srv.URL,
		opts: AWSOptions{Config: cfg, Scaler: "db", Clock: clk}}
}

// codes lists the error codes answered to op, "" for a success.
func (e *awsEnv) codes(op string) []string {
	var out []string
	for _, c := range e.emu.CallsOf(op) {
		out = append(out, c.Code)
	}
	return out
}

// wantKind fails t unless err is an *AWSError of kind whose message says
// each of says.
func wantKind(t *testing.T, err error, kind string, says ...string) {
	t.Helper()
	var ae *AWSError
	if !errors.As(err, &ae) || ae.Kind != kind {
		t.Fatalf("error %v: want an *AWSError of kind %s", err, kind)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %v: want it to say %q", err, s)
		}
	}
}

func wantLimited(t *testing.T, err error, asked, got int32) *LimitedError {
	t.Helper()
	var lim *LimitedError
	if !errors.As(err, &lim) || lim.Asked != asked || lim.Got != got {
		t.Fatalf("error %v: want *LimitedError %d of %d", err, got, asked)
	}
	return lim
}

func mustRead(t *testing.T, a Actuator) (int32, int32) {
	t.Helper()
	c, err := a.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return c.Current, c.Ready
}
