// Package fakeprom stands in for the Prometheus HTTP API in tests: a server
// that counts the requests it receives and answers each with the handler it
// is given, and handlers for the answers tests want most.
package fakeprom

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A Server is a fake Prometheus listening on URL until its test ends.
type Server struct {
	*httptest.Server
	received atomic.Int64
}

// Start serves h on a local port, counting each request before h sees it,
// and closes the server when t ends.
func Start(t testing.TB, h http.Handler) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.received.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Received is how many requests the server has been sent so far.
func (s *Server) Received() int64 { return s.received.Load() }

// Answer writes body as a JSON answer with the HTTP status.
func Answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// VectorBody is an instant query's answer: one series without labels, of
// value v stamped at.
func VectorBody(v string, at time.Time) string {
	return fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,%q]}]}}`, at.Unix(), v)
}

// ScalarBody is an instant query's answer of the scalar v stamped at.
func ScalarBody(v string, at time.Time) string {
	return fmt.Sprintf(`{"status":"success","data":{"resultType":"scalar","result":[%d,%q]}}`, at.Unix(), v)
}

// Vector answers every query with one series of value v stamped at.
func Vector(v string, at time.Time) http.HandlerFunc {
	return Answer(http.StatusOK, VectorBody(v, at))
}

// Scalar answers every query with the scalar v stamped at.
func Scalar(v string, at time.Time) http.HandlerFunc {
	return Answer(http.StatusOK, ScalarBody(v, at))
}

// Now answers every query with one series of value v stamped when the
// query arrives, so that it is never too old.
func Now(v string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		Vector(v, time.Now())(w, r)
	}
}
