//go:build unix

package sources

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// instantAnswerBody is what Prometheus 2.42 answers to
// sum(app_rps{deployment="d00001"}): one vector sample without labels.
const instantAnswerBody = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000.123,"100"]}]}}`

// rawPrometheus is a loopback HTTP/1.1 server that answers every request
// with instantAnswerBody, written by hand so that it costs next to nothing:
// a benchmark against it measures the client.
func rawPrometheus(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(instantAnswerBody)) + "\r\n\r\n" + instantAnswerBody)
	serve := func(c net.Conn) {
		defer c.Close()
		r := textproto.NewReader(bufio.NewReader(c))
		for {
			if _, err := r.ReadLine(); err != nil { // the request line
				return
			}
			h, err := r.ReadMIMEHeader()
			if err != nil {
				return
			}
			n, _ := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
			if _, err := io.CopyN(io.Discard, r.R, n); err != nil {
				return
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// BenchmarkInstantQuery is one instant query of one small answer, the
// request, the round trip on loopback and the decoding, as a distinct
// query costs every scaler at every tick. "client" answers from a
// hand-written server, so that the time and allocations are the client's;
// "httptest" from net/http's server in the same process, whose cost is
// counted too.
func BenchmarkInstantQuery(b *testing.B) {
	httptestURL := func(b *testing.B) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil || r.Form.Get("query") == "" {
				http.Error(w, "no query", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, instantAnswerBody)
		}))
		b.Cleanup(srv.Close)
		return srv.URL
	}
	for _, tc := range []struct {
		name   string
		server func(*testing.B) string
	}{
		{"client", rawPrometheus},
		{"httptest", httptestURL},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := NewPrometheus(PrometheusConfig{URL: tc.server(b), QueryTimeout: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			benchmarkQueries(b, p)
		})
	}
}

func benchmarkQueries(b *testing.B, p *Prometheus) {
	b.Helper()
	ctx := context.Background()
	exprs := make([]string, 100)
	for i := range exprs {
		exprs[i] = fmt.Sprintf(`sum(app_rps{deployment="d%05d"})`, i)
	}
	ts := time.Unix(1765000000, 123e6)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	n := 0
	for i := 0; b.Loop(); i++ {
		s, err := p.Query(ctx, exprs[i%len(exprs)], ts)
		if err != nil || s.Value != 100 {
			b.Fatalf("got %v, %v; want 100", s, err)
		}
		n++
	}
	// CPU rather than wall time: on a shared machine the wall time of a
	// round trip is mostly waiting for a core.
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(n), "cpu-ns/op")
}

// processCPU is the CPU time the process used so far, in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
