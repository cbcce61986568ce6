package sources

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/fakeprom"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// The config's max_response_bytes is the answer limit: one series with a
// 200 KiB label is read under the default limit and refused under 64 KiB.
func TestPrometheusConfigSetsTheAnswerLimit(t *testing.T) {
	var written atomic.Int64
	srv := fakeprom.Start(t, manySeries(1, 200<<10, &written))
	for _, tc := range []struct {
		limit int64
		want  scaling.FailureKind
	}{{0, ""}, {64 << 10, scaling.FailureTooLarge}, {1 << 20, ""}} {
		p, err := NewPrometheus(PrometheusConfig{URL: srv.URL, MaxResponseBytes: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Query(context.Background(), "http_requests_total", time.Unix(1_700_000_000, 0))
		if k := scaling.KindOf(err); k != tc.want {
			t.Errorf("max_response_bytes %d: failure %q (%v), want %q", tc.limit, k, err, tc.want)
		}
		if tc.want != "" && !strings.Contains(err.Error(), "64 KiB limit") {
			t.Errorf("max_response_bytes %d: the error %q does not name the limit", tc.limit, err)
		}
	}
}
