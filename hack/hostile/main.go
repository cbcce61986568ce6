// Command hostile measures what hostile Prometheus answers cost a scaled
// binary: it serves a Prometheus HTTP API on loopback that answers well for
// a few seconds, then with one hostile answer, runs the binary against it,
// and prints idle and peak memory, the size of one decisions API answer,
// log volume, and what the last decision did.
//
//	go build -o bin/scaled ./cmd/scaled && go run ./hack/hostile --bin bin/scaled
//
// Cases: huge (150,000 series, 25 MB: a query without its sum()), labels
// (two series with 2 MB labels), absurd (1e308), negative (-1), stale (a
// sample stamped an hour before the query). The scaler acts on a log
// target of 4 with bounds [1, 1000] and a 1s tick.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/scaled-dev/scaled/internal/freeport"
)

func main() {
	bin := flag.String("bin", "bin/scaled", "the scaled binary to measure")
	only := flag.String("case", "all", "huge, labels, absurd, negative, stale or all")
	warmup := flag.Duration("warmup", 5*time.Second, "good answers before the hostile one (idle memory is read at its end)")
	hostile := flag.Duration("for", 20*time.Second, "how long the hostile answer lasts")
	flag.Parse()
	cases := []string{"huge", "labels", "absurd", "negative", "stale"}
	if *only != "all" {
		cases = []string{*only}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "case\tidle RSS\tpeak RSS\tpeak - idle\tdecisions API\tlog/s\tlast decision")
	for _, c := range cases {
		r, err := measure(*bin, c, *warmup, *hostile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hostile: %s: %v\n", c, err)
			os.Exit(1)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c, mib(r.idle), mib(r.peak), mib(r.peak-r.idle),
			bytesOf(r.apiBytes), bytesOf(r.logPerSecond), r.last)
	}
	_ = w.Flush()
}

type result struct {
	idle, peak   int64 // kB
	apiBytes     int64
	logPerSecond int64
	last         string
}

// answers returns the body of one instant-query answer at ts.
type answers func(ts string) []byte

func vector(ts string, series ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	for i, s := range series {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

func sample(labels, ts, value string) string {
	return `{"metric":{` + labels + `},"value":[` + ts + `,"` + value + `"]}`
}

func hostileAnswer(name string) (answers, error) {
	switch name {
	case "huge":
		// Made once: 150,000 series, as http_requests_total without sum().
		var b bytes.Buffer
		b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
		for i := range 150_000 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"metric":{"__name__":"http_requests_total","namespace":"shop","pod":"web-%06d-7f9c8d6b5-x2x4z","code":"200"},"value":[%d,"1"]}`,
				i, time.Now().Unix())
		}
		b.WriteString(`]}}`)
		body := b.Bytes()
		return func(string) []byte { return body }, nil
	case "labels":
		big := strings.Repeat("a", 2<<20)
		return func(ts string) []byte {
			return vector(ts, sample(`"pod":"`+big+`1"`, ts, "1"), sample(`"pod":"`+big+`2"`, ts, "1"))
		}, nil
	case "absurd":
		return func(ts string) []byte { return vector(ts, sample(`"job":"app"`, ts, "1e308")) }, nil
	case "negative":
		return func(ts string) []byte { return vector(ts, sample(`"job":"app"`, ts, "-1")) }, nil
	case "stale":
		return func(ts string) []byte {
			t, _ := strconv.ParseFloat(ts, 64)
			return vector(ts, sample(`"job":"app"`, strconv.FormatFloat(t-3600, 'f', 3, 64), "0.1"))
		}, nil
	}
	return nil, fmt.Errorf("unknown case %q", name)
}

func measure(bin, name string, warmup, hostileFor time.Duration) (result, error) {
	bad, err := hostileAnswer(name)
	if err != nil {
		return result{}, err
	}
	var hostile atomic.Bool
	good := func(ts string) []byte { return vector(ts, sample(`"job":"app"`, ts, "0.5")) }
	prom := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ts := r.Form.Get("time")
		if ts == "" {
			ts = strconv.FormatInt(time.Now().Unix(), 10)
		}
		answer := good
		if hostile.Load() {
			answer = bad
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer(ts))
	})}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	go func() { _ = prom.Serve(pl) }()
	defer func() { _ = prom.Close() }()

	listen, err := freeport.Addr()
	if err != nil {
		return result{}, err
	}
	dir, err := os.MkdirTemp("", "hostile")
	if err != nil {
		return result{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cfg := filepath.Join(dir, "scaled.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
prometheus: {url: http://%s, query_timeout: 5s}
interval: 1s
listen: %s
log: {level: info, format: json}
scalers:
- name: web
  target: {kind: log, log: {initial: 4}}
  signals: [{name: load, query: 'http_requests_total'}]
  policies: [{name: load, type: target_tracking, target_tracking: {signal: load, target_type: value, target: 0.5}}]
  bounds: {min: 1, max: 1000}
`, pl.Addr(), listen)), 0o600); err != nil {
		return result{}, err
	}
	logs := &countingWriter{}
	cmd := exec.Command(bin, "run", "--config", cfg)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	time.Sleep(warmup)
	idle, err := status(cmd.Process.Pid, "VmRSS")
	if err != nil {
		return result{}, err
	}
	logs.mark()
	hostile.Store(true)
	time.Sleep(hostileFor)
	peak, err := status(cmd.Process.Pid, "VmHWM")
	if err != nil {
		return result{}, err
	}
	r := result{idle: idle, peak: peak, logPerSecond: int64(float64(logs.sinceMark()) / hostileFor.Seconds())}
	body, err := get("http://" + listen + "/api/v1/decisions?scaler=web")
	if err != nil {
		return r, err
	}
	r.apiBytes = int64(len(body))
	r.last = lastDecision(body)
	return r, nil
}

// lastDecision says what the newest decision did, briefly.
func lastDecision(body []byte) string {
	var resp struct {
		Decisions []struct {
			Signals []struct {
				Value  float64 `json:"value"`
				Failed string  `json:"failed"`
				Error  string  `json:"error"`
			} `json:"signals"`
			Recommendations []struct {
				Reason string `json:"reason"`
			} `json:"recommendations"`
			Current int32 `json:"current"`
			Desired int32 `json:"desired"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.Decisions) == 0 {
		return "no decision"
	}
	d := resp.Decisions[0]
	sig := "no signal"
	if len(d.Signals) > 0 {
		s := d.Signals[0]
		sig = "signal " + strconv.FormatFloat(s.Value, 'g', 4, 64)
		if s.Failed != "" {
			sig = fmt.Sprintf("failed %s (%s of error)", s.Failed, bytesOf(int64(len(s.Error))))
		}
	}
	reason := 0
	for _, r := range d.Recommendations {
		reason = max(reason, len(r.Reason))
	}
	return fmt.Sprintf("%s; %d -> %d; reason %s", sig, d.Current, d.Desired, bytesOf(int64(reason)))
}

// countingWriter counts the daemon's log bytes.
type countingWriter struct {
	mu    sync.Mutex
	n, at int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.n += int64(len(p))
	c.mu.Unlock()
	return len(p), nil
}

func (c *countingWriter) mark() {
	c.mu.Lock()
	c.at = c.n
	c.mu.Unlock()
}

func (c *countingWriter) sinceMark() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n - c.at
}

// status reads one kB field of /proc/PID/status.
func status(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

func get(url string) ([]byte, error) {
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func mib(kB int64) string { return fmt.Sprintf("%.0f MiB", float64(kB)/1024) }

func bytesOf(n int64) string {
	switch f := float64(n); {
	case f >= 1<<20:
		return fmt.Sprintf("%.1f MiB", f/(1<<20))
	case f >= 1<<10:
		return fmt.Sprintf("%.1f KiB", f/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
