package telemetry

import (
	"net/http"

	"go.uber.org/zap"
)

// probeMaxConnections caps the probe listener's connections: the kubelet
// opens one per probe and closes it, so a few suffice.
const probeMaxConnections = 64

// NewProbeServer serves only the kubelet's probes on a listener of its own,
// without TLS or authentication:
//
//	GET /healthz   200 "ok" while live (live as for WithLiveness), 503 "not live" otherwise
//	GET /readyz    200 "ok" when ready, 503 "not ready" otherwise
//
// The kubelet's httpGet probes cannot send basic-auth credentials or a
// client certificate, so on the main server a web configuration with either
// answers them 401 or refuses them; a probe listener is what the
// controller-runtime managers and kube-state-metrics do. It answers the
// status and nothing else: the reasons, which name scalers, stay on the main
// server's /healthz and /readyz, behind its authentication. Its own
// connections, capped apart from the main server's, keep a flood there from
// failing a probe here. nil ready or live is always ready or live; a nil
// logger logs nothing.
func NewProbeServer(addr string, ready, live func() error, logger *zap.Logger) *Server {
	if logger == nil {
		logger = zap.NewNop()
	}
	always := func() error { return nil }
	if ready == nil {
		ready = always
	}
	if live == nil {
		live = always
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if live() != nil {
			writeText(w, http.StatusServiceUnavailable, "not live\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready() != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	return newServer(addr, mux, logger.With(zap.String("listener", "probes")),
		serverOptions{maxConnections: probeMaxConnections, live: live, probesOnly: true})
}
