package sources

import (
	"time"

	promconfig "github.com/prometheus/common/config"
)

// PrometheusConfig says where the query source reads signals: the
// `prometheus` block of the config.
type PrometheusConfig struct {
	// URL of the Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir).
	URL string `json:"url,omitempty"`
	// HTTP is the standard prometheus/common client configuration: bearer
	// token (file), basic auth, TLS, proxy, custom headers.
	HTTP         promconfig.HTTPClientConfig `json:"http_config,omitempty"`
	QueryTimeout time.Duration               `json:"query_timeout,omitempty"`
	// MaxResponseBytes is the most bytes of one answer scaled reads
	// (0: DefaultMaxResponseBytes); a longer one is the failure too_large.
	MaxResponseBytes int64 `json:"max_response_bytes,omitempty"`
}
