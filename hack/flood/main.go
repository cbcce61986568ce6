// Command flood measures whether a connection flood fails scaled's
// liveness probe: it opens new TCP connections to a running scaled at a
// set rate, each sending nothing and kept open (the newest --hold of them),
// and meanwhile probes /healthz as the kubelet does (a new connection, a
// 1 s timeout, every --probe-every), then prints how many probes failed.
//
//	go build -o bin/scaled ./cmd/scaled && bin/scaled run --config examples/demo.yaml &
//	go run ./hack/flood --addr 127.0.0.1:9464 --rate 2000 --for 20s
//
// It sends traffic only to --addr and --probe-addr (scaled's probe listener,
// --web.probe-address, when it has one), which must be loopback addresses.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9464", "scaled's listen address (loopback only)")
	rate := flag.Int("rate", 2000, "new connections per second")
	hold := flag.Int("hold", 1024, "how many of the newest flood connections stay open")
	dur := flag.Duration("for", 20*time.Second, "how long the flood lasts")
	every := flag.Duration("probe-every", 100*time.Millisecond, "how often /healthz is probed")
	probeAddr := flag.String("probe-addr", "", "where /healthz is probed (loopback only; default --addr): scaled's --web.probe-address")
	flag.Parse()
	if *probeAddr == "" {
		*probeAddr = *addr
	}
	for _, a := range []struct{ flag, addr string }{{"--addr", *addr}, {"--probe-addr", *probeAddr}} {
		host, _, err := net.SplitHostPort(a.addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(os.Stderr, "flood: %s %s: must be a loopback address\n", a.flag, a.addr)
			os.Exit(2)
		}
	}

	stop := make(chan struct{})
	var opened, refused atomic.Int64
	var mu sync.Mutex
	var open []net.Conn
	const workers = 8
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Duration(workers) * time.Second / time.Duration(*rate))
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				c, err := net.DialTimeout("tcp", *addr, time.Second)
				if err != nil {
					refused.Add(1)
					continue
				}
				opened.Add(1)
				mu.Lock()
				open = append(open, c)
				if len(open) > *hold {
					_ = open[0].Close()
					open = open[1:]
				}
				mu.Unlock()
			}
		}()
	}

	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var probes, failed int
	start := time.Now()
	for time.Since(start) < *dur {
		time.Sleep(*every)
		probes++
		resp, err := probe.Get("http://" + *probeAddr + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			failed++
		}
		if err == nil {
			resp.Body.Close()
		}
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	mu.Lock()
	for _, c := range open {
		_ = c.Close()
	}
	mu.Unlock()
	fmt.Printf("flood: %d connections in %s (%.0f/s), %d refused or failed to connect\n",
		opened.Load(), elapsed.Round(time.Millisecond), float64(opened.Load())/elapsed.Seconds(), refused.Load())
	fmt.Printf("probes: %d of %d failed (%.1f%%)\n", failed, probes, 100*float64(failed)/float64(probes))
}
