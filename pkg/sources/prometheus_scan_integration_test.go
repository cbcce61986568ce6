//go:build integration

package sources

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/promtest"
)

// A real server's answer to a usable instant query announces its length
// and is read whole and scanned (readAnswer), not by the streaming decoder:
// were its shape to change, every tick would pay the decoder again.
func TestRealAnswersAreScanned(t *testing.T) {
	for _, b := range promtest.Backends {
		t.Run(string(b), func(t *testing.T) {
			s := promtest.StartBackend(t, b)
			p, err := NewPrometheus(PrometheusConfig{URL: s.URL(), QueryTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			s.Gauge("app_rps", "deployment").WithLabelValues("d00001").Set(100)
			s.WaitFor(t, `sum(app_rps{deployment="d00001"})`, 100, 30*time.Second)
			for _, expr := range []string{`sum(app_rps{deployment="d00001"})`, `app_rps{deployment="d00001"}`, `scalar(sum(app_rps))`, `app_rps{deployment="none"}`} {
				ts := time.Now()
				req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, p.queryURLs, strings.NewReader(p.instantForm(expr, ts)))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := p.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				a := instantAnswer{expr: expr}
				scanned := a.scan(body)
				t.Logf("%s: length %d, scanned %t: %s", expr, resp.ContentLength, scanned, body)
				if resp.ContentLength != int64(len(body)) || !scanned {
					t.Errorf("%s: announced %d bytes of %d, scanned %t: %s", expr, resp.ContentLength, len(body), scanned, body)
				}
			}
		})
	}
}
