package sources

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/sigv4"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

var authorizationRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// sigV4Verifier is a loopback stand-in for Amazon Managed Prometheus'
// front door: it recomputes each request's signature from what it
// received, with aws-sdk-go-v2's own signer and the secret it knows, and
// refuses a request whose signature differs, as AWS does (403).
func sigV4Verifier(t *testing.T, accessKey, secret, region string, verified, refused *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := func(format string, args ...any) {
			refused.Add(1)
			t.Logf("refused %s: "+format, append([]any{r.Method}, args...)...)
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"message":%q}`, fmt.Sprintf(format, args...))
		}
		m := authorizationRE.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil {
			refuse("Authorization %q: not a SigV4 header", r.Header.Get("Authorization"))
			return
		}
		key, date, gotRegion, service, signed := m[1], m[2], m[3], m[4], strings.Split(m[5], ";")
		if key != accessKey || gotRegion != region || service != "aps" {
			refuse("credential scope %s/%s/%s/%s: want %s/<date>/%s/aps", key, date, gotRegion, service, accessKey, region)
			return
		}
		at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil || at.Format("20060102") != date {
			refuse("X-Amz-Date %q: not the scope's date %s", r.Header.Get("X-Amz-Date"), date)
			return
		}
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		// The request as the signer saw it: method, URL, body and the
		// headers the signature covers, nothing else.
		again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
		again.Header = http.Header{}
		for _, h := range signed {
			switch h {
			case "host":
			case "content-length":
				again.ContentLength = r.ContentLength
			default:
				again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
			}
		}
		again.Header.Del("Authorization")
		creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "aps", region, at); err != nil {
			refuse("signing again: %v", err)
			return
		}
		if want := again.Header.Get("Authorization"); want != r.Header.Get("Authorization") {
			refuse("signature mismatch: got %s, want %s", r.Header.Get("Authorization"), want)
			return
		}
		verified.Add(1)
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1800000000,"4"]}]}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPrometheusSignsWithSigV4(t *testing.T) {
	var verified, refused atomic.Int32
	srv := sigV4Verifier(t, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1", &verified, &refused)
	for _, tc := range []struct {
		name   string
		secret string
		ok     bool
	}{
		{"right secret", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", true},
		{"wrong secret", "not-the-secret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPrometheus(PrometheusConfig{
				URL:   srv.URL + "/workspaces/ws-1234",
				SigV4: &sigv4.SigV4Config{Region: "eu-west-1", AccessKey: "AKIDEXAMPLE", SecretKey: promSecret(tc.secret)},
			})
			if err != nil {
				t.Fatal(err)
			}
			before, refusedBefore := verified.Load(), refused.Load()
			s, err := p.Query(context.Background(), `sum(rate(http_requests_total{job="web"}[2m]))`, time.Unix(1_800_000_000, 0))
			switch {
			case tc.ok && (err != nil || s.Value != 4 || verified.Load() != before+1 || refused.Load() != refusedBefore):
				t.Errorf("got %v, %v after %d refused requests; want 4 from one verified request", s, err, refused.Load()-refusedBefore)
			case !tc.ok && (scaling.KindOf(err) != scaling.FailureQuery || !strings.Contains(err.Error(), "HTTP 403")):
				t.Errorf("got %v, want the server's refusal (HTTP 403)", err)
			}
		})
	}
}

func TestNewPrometheusRefusesAnIncompleteSigV4Block(t *testing.T) {
	_, err := NewPrometheus(PrometheusConfig{URL: "http://aps.example", SigV4: &sigv4.SigV4Config{Region: "eu-west-1", AccessKey: "AKID"}})
	if err == nil || !strings.HasPrefix(err.Error(), "prometheus.sigv4: ") {
		t.Errorf("got %v, want a prometheus.sigv4 error", err)
	}
}

func promSecret(s string) promconfig.Secret { return promconfig.Secret(s) }
