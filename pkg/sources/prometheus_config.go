package sources

import (
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/sigv4"
)

// PrometheusConfig says where the query source reads signals: the
// `prometheus` block of the config.
type PrometheusConfig struct {
	// URL of the Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir,
	// Amazon Managed Prometheus).
	URL string `json:"url,omitempty"`
	// HTTP is the standard prometheus/common client configuration: bearer
	// token (file), basic auth, TLS, proxy, custom headers.
	HTTP         promconfig.HTTPClientConfig `json:"http_config,omitempty"`
	QueryTimeout time.Duration               `json:"query_timeout,omitempty"`
	// SigV4 signs every request with AWS Signature Version 4, for Amazon
	// Managed Prometheus: the block Prometheus' own remote_write takes
	// (region, access_key, secret_key, profile, role_arn, ...); credentials
	// left out come from the AWS default chain.
	SigV4 *sigv4.SigV4Config `json:"sigv4,omitempty"`
	// MaxConcurrentQueries bounds the requests in flight (0: no bound).
	MaxConcurrentQueries int `json:"max_concurrent_queries,omitempty"`
	// MaxQueriesPerSecond bounds the requests started per second (0: no
	// bound).
	MaxQueriesPerSecond float64 `json:"max_queries_per_second,omitempty"`
	// MaxResponseBytes is the most bytes of one answer scaled reads
	// (0: DefaultMaxResponseBytes); a longer one is the failure too_large.
	// A grouped query's answer holds every workload's series.
	MaxResponseBytes int64 `json:"max_response_bytes,omitempty"`
}
