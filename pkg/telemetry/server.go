package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// shutdownGrace bounds how long Serve waits for requests in flight once its
// context is done.
const shutdownGrace = 5 * time.Second

// Limits of the HTTP server. A client gets ReadHeaderTimeout to send its
// headers and ReadTimeout for the whole request; an idle keep-alive
// connection is closed after IdleTimeout, so that connections nobody uses do
// not pile up and hold the process's file descriptors.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 2 * time.Minute
	IdleTimeout       = 30 * time.Second
	maxHeaderBytes    = 64 << 10
	// DefaultMaxConnections caps open connections, as Prometheus'
	// --web.max-connections does; never more than half the process's
	// file-descriptor limit, so that HTTP clients cannot starve the
	// connections to Prometheus and to the targets (see MaxConnections).
	// At the cap, a new connection takes the place of the one idle the
	// longest, so idle connections cannot keep a probe out.
	DefaultMaxConnections = 512
)

// MaxConnections is the default cap on open connections for this process:
// DefaultMaxConnections, or half its file-descriptor limit when that is
// lower (at least 8).
func MaxConnections() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > uint64(2*DefaultMaxConnections) {
		return DefaultMaxConnections
	}
	return max(int(lim.Cur/2), 8)
}

// Server serves scaled's metrics, health and decision history over HTTP:
//
//	GET /metrics                                  Prometheus and OpenMetrics exposition
//	GET /healthz                                  200 "ok" while every scaler's loop runs, 503 and the reason otherwise
//	GET /readyz                                   200 "ok" when ready, 503 and the reason otherwise
//	GET /api/v1/decisions                         {"scalers": [...]}
//	GET /api/v1/decisions?scaler=NAME&limit=N     {"scaler": NAME, "decisions": [...]}, newest first
//
// TLS and basic authentication come from a Prometheus web configuration
// file (github.com/prometheus/exporter-toolkit, the --web.config.file every
// exporter takes); they cover every path, probes included.
type Server struct {
	addr   string
	srv    *http.Server
	logger *zap.Logger
	opts   serverOptions
	// errc receives the error that ended serving, unless Shutdown ended it.
	errc chan error
	// done is closed once serving has ended, whatever the reason.
	done chan struct{}

	mu sync.Mutex
	ln net.Listener
}

type serverOptions struct {
	webConfig      string
	maxConnections int
	noDecisions    bool
	pprof          bool
	live           func() error
	probesOnly     bool
}

// ServerOption changes how the server or its handler behaves.
type ServerOption func(*serverOptions)

// WithWebConfig serves with the TLS and basic-auth settings of a Prometheus
// web configuration file (exporter-toolkit's format; "" serves plain HTTP).
// The file is read again for every new connection, so that certificates
// and users can change without a restart.
func WithWebConfig(path string) ServerOption {
	return func(o *serverOptions) { o.webConfig = path }
}

// WithMaxConnections caps the connections open at once. At the cap a new
// connection closes the one idle the longest, and is refused when every
// connection is busy. n <= 0 keeps the default (MaxConnections).
func WithMaxConnections(n int) ServerOption {
	return func(o *serverOptions) {
		if n > 0 {
			o.maxConnections = n
		}
	}
}

// WithoutDecisionsAPI turns /api/v1/decisions off: it answers 404. The
// decisions name every query and target, which not everyone who can reach
// /metrics should read.
func WithoutDecisionsAPI() ServerOption {
	return func(o *serverOptions) { o.noDecisions = true }
}

// WithPprof serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/, behind the same TLS and authentication as every other path.
// Off by default: a profile names every scaler's config in its strings, and
// a CPU profile costs the process while it runs. A profile longer than
// WriteTimeout is refused.
func WithPprof() ServerOption {
	return func(o *serverOptions) { o.pprof = true }
}

// WithLiveness makes /healthz answer 503 with live's error while it returns
// one (the loop is stuck); by default /healthz answers 200 while the process runs.
func WithLiveness(live func() error) ServerOption {
	return func(o *serverOptions) { o.live = live }
}

func buildOptions(opts []ServerOption) serverOptions {
	o := serverOptions{maxConnections: MaxConnections()}
	for _, f := range opts {
		f(&o)
	}
	if o.live == nil {
		o.live = func() error { return nil }
	}
	return o
}

// NewServer builds the server; nothing listens until Start or Serve. A nil
// ready is always ready; a nil logger logs nothing.
func NewServer(addr string, reg prometheus.Gatherer, decisions *DecisionLog, ready func() error, logger *zap.Logger, opts ...ServerOption) *Server {
	if logger == nil {
		logger = zap.NewNop()
	}
	if ready == nil {
		ready = func() error { return nil }
	}
	return newServer(addr, NewHandler(reg, decisions, ready, logger, opts...), logger, buildOptions(opts))
}

func newServer(addr string, h http.Handler, logger *zap.Logger, o serverOptions) *Server {
	s := &Server{addr: addr, logger: logger, opts: o, errc: make(chan error, 1), done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(logger.With(zap.String("component", "http"))),
	}
	return s
}

// NewHandler returns the routes of Server, for callers that serve them
// their own way. A nil reg serves no metrics; nil ready and logger are as
// for NewServer. Of the options, WithoutDecisionsAPI, WithPprof and WithLiveness apply.
func NewHandler(reg prometheus.Gatherer, decisions *DecisionLog, ready func() error, logger *zap.Logger, opts ...ServerOption) http.Handler {
	o := buildOptions(opts)
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	if ready == nil {
		ready = func() error { return nil }
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorLog:          zap.NewStdLog(logger.With(zap.String("handler", "metrics"))),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := o.live(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not live: "+err.Error()+"\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	if o.noDecisions {
		mux.HandleFunc("/api/v1/decisions", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusNotFound, ErrorResponse{Error: "the decisions API is turned off on this server"})
		})
	} else {
		mux.Handle("/api/v1/decisions", decisionsHandler{log: decisions})
	}
	if o.pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Start binds the address and serves in the background. It returns the
// bind error, or an invalid web configuration file, if any; Addr then tells
// where it listens.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("telemetry: server already started")
	}
	if s.opts.webConfig != "" {
		if err := web.Validate(s.opts.webConfig); err != nil {
			return fmt.Errorf("web config %s: %w", s.opts.webConfig, err)
		}
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen: %q: %w", s.addr, err)
	}
	s.ln = ln
	if s.opts.probesOnly {
		s.logger.Info("serving probes", zap.String("addr", ln.Addr().String()), zap.Int("max_connections", s.opts.maxConnections))
	} else {
		s.logger.Info("serving HTTP", zap.String("addr", ln.Addr().String()), zap.Int("max_connections", s.opts.maxConnections),
			zap.Bool("web_config", s.opts.webConfig != ""), zap.Bool("decisions_api", !s.opts.noDecisions))
	}
	limited := newConnLimiter(ln, s.opts.maxConnections)
	s.srv.ConnState = limited.track
	webConfig := s.opts.webConfig
	go func() {
		defer close(s.done)
		err := web.Serve(limited, s.srv, &web.FlagConfig{WebConfigFile: &webConfig}, slogOf(s.logger.With(zap.String("component", "http"))))
		if !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()
	return nil
}

// Err delivers the error that made the server stop serving on its own, for
// a caller that started it with Start and selects on it. Nothing is ever
// sent when Shutdown stops the server, and the channel is never closed.
func (s *Server) Err() <-chan error {
	return s.errc
}

// Serve starts the server unless Start already did, and blocks until ctx is
// done, the server fails, or Shutdown stops it. On ctx's end it shuts down
// gracefully, waiting at most a few seconds for requests in flight. It
// returns the error that stopped the server, nil when it was asked to stop.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	started := s.ln != nil
	s.mu.Unlock()
	if !started {
		if err := s.Start(); err != nil {
			return err
		}
	}
	select {
	case err := <-s.errc:
		return err
	case <-s.done:
		select {
		case err := <-s.errc:
			return err
		default:
			return nil
		}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	return s.Shutdown(sctx)
}

// Shutdown stops accepting connections and waits for requests in flight
// until ctx is done, as http.Server.Shutdown does.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// Addr is the address the server listens on (with the port chosen when
// the configured one was 0), or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// DecisionsResponse is the body of /api/v1/decisions?scaler=NAME.
type DecisionsResponse struct {
	Scaler    string             `json:"scaler"`
	Decisions []scaling.Decision `json:"decisions"`
}

// ScalersResponse is the body of /api/v1/decisions without a scaler.
type ScalersResponse struct {
	Scalers []string `json:"scalers"`
}

// ErrorResponse is the body of every API error.
type ErrorResponse struct {
	Error string `json:"error"`
}

type decisionsHandler struct {
	log *DecisionLog
}

func (h decisionsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{
			Error: fmt.Sprintf("method %s: not allowed, use GET", r.Method),
		})
		return
	}
	q := r.URL.Query()
	scaler := q.Get("scaler")
	limit := 0
	if raw, ok := q["limit"]; ok {
		v, err := strconv.Atoi(raw[0])
		if err != nil || v < 1 {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: fmt.Sprintf(
				"limit: %q: must be an integer >= 1 (at most %d decisions are kept per scaler)",
				raw[0], h.log.Size())})
			return
		}
		limit = v
	}
	if scaler == "" {
		names := h.log.Scalers()
		if names == nil {
			names = []string{}
		}
		writeJSON(w, http.StatusOK, ScalersResponse{Scalers: names})
		return
	}
	if !h.log.Known(scaler) {
		writeJSON(w, http.StatusNotFound, ErrorResponse{Error: fmt.Sprintf(
			"scaler: %q: unknown; GET /api/v1/decisions lists the known scalers", scaler)})
		return
	}
	ds := h.log.Last(scaler, limit)
	if ds == nil {
		ds = []scaling.Decision{}
	}
	writeJSON(w, http.StatusOK, DecisionsResponse{Scaler: scaler, Decisions: ds})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body) // the client went away; nothing else to tell it
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
