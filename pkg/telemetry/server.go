package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// shutdownGrace bounds how long Serve waits for requests in flight once its
// context is done.
const shutdownGrace = 5 * time.Second

// Server serves scaled's metrics, health and decision history over HTTP:
//
//	GET /metrics                                  Prometheus and OpenMetrics exposition
//	GET /healthz                                  200 "ok" while the process runs
//	GET /readyz                                   200 "ok" when ready, 503 and the reason otherwise
//	GET /api/v1/decisions                         {"scalers": [...]}
//	GET /api/v1/decisions?scaler=NAME&limit=N     {"scaler": NAME, "decisions": [...]}, newest first
type Server struct {
	addr   string
	srv    *http.Server
	logger *zap.Logger
	// errc receives the error that ended serving, unless Shutdown ended it.
	errc chan error
	// done is closed once serving has ended, whatever the reason.
	done chan struct{}

	mu sync.Mutex
	ln net.Listener
}

// NewServer builds the server; nothing listens until Start or Serve. A nil
// ready is always ready; a nil logger logs nothing.
func NewServer(addr string, reg prometheus.Gatherer, decisions *DecisionLog, ready func() error, logger *zap.Logger) *Server {
	if logger == nil {
		logger = zap.NewNop()
	}
	if ready == nil {
		ready = func() error { return nil }
	}
	s := &Server{addr: addr, logger: logger, errc: make(chan error, 1), done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           NewHandler(reg, decisions, ready, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(logger.With(zap.String("component", "http"))),
	}
	return s
}

// NewHandler returns the routes of Server, for callers that serve them
// their own way. A nil reg serves no metrics; nil ready and logger are as
// for NewServer.
func NewHandler(reg prometheus.Gatherer, decisions *DecisionLog, ready func() error, logger *zap.Logger) http.Handler {
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
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.Handle("/api/v1/decisions", decisionsHandler{log: decisions})
	return mux
}

// Start binds the address and serves in the background. It returns the
// bind error, if any; Addr then tells where it listens.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("telemetry: server already started")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen: %q: %w", s.addr, err)
	}
	s.ln = ln
	s.logger.Info("serving HTTP", zap.String("addr", ln.Addr().String()))
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
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
