//go:build integration

package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

const groupedFleetConfig = `
prometheus: {url: %s, query_timeout: 2s}
interval: 2s
dry_run: true
listen: LISTEN
log: {level: warn}
scalers:
%s`

func groupedScaler(name, sel string) string {
	return fmt.Sprintf(`
  - name: %s
    target: {kind: log, log: {initial: 1}}
    signals: [{name: rps, grouped: {query: 'sum by (deployment) (app_rps)', select: %s}}]
    policies: [{name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 10}}]
    bounds: {max: 1000}
`, name, sel)
}

// promQueries is the count of instant-query requests the server itself
// answered, from its own /metrics (Prometheus' or VictoriaMetrics' counter).
func promQueries(t *testing.T, prom *promtest.Server) float64 {
	t.Helper()
	resp, err := http.Get(prom.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if (strings.HasPrefix(line, "prometheus_http_requests_total{") && strings.Contains(line, `handler="/api/v1/query"`)) ||
			strings.HasPrefix(line, `vm_http_requests_total{path="/api/v1/query"}`) {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			total += f
		}
	}
	return total
}

// N scalers whose signals select their own series from one grouped query:
// Prometheus' own request counter shows one query per interval, whatever N;
// each scaler reads its own value, and a scaler whose selection matches no
// series, or two, fails alone.
//
// It runs against Prometheus and VictoriaMetrics: the daemon end to end on
// the second back end.
func TestGroupedQueryIsSentOncePerInterval(t *testing.T) {
	for _, b := range promtest.Backends {
		t.Run(string(b), func(t *testing.T) { testGroupedQueryOncePerInterval(t, b) })
	}
}

func testGroupedQueryOncePerInterval(t *testing.T, b promtest.Backend) {
	const n = 200
	prom := promtest.StartBackend(t, b)
	rps := prom.Gauge("app_rps", "deployment")
	var scalers strings.Builder
	for i := range n {
		rps.WithLabelValues(fmt.Sprintf("d%05d", i)).Set(float64(10 * (i + 1)))
		scalers.WriteString(groupedScaler(fmt.Sprintf("d%05d", i), fmt.Sprintf("{deployment: d%05d}", i)))
	}
	scalers.WriteString(groupedScaler("absent", "{deployment: d99999}"))
	scalers.WriteString(groupedScaler("two", `'{deployment=~"d0000[01]"}'`))
	prom.WaitFor(t, "count(app_rps)", n, 20*time.Second)
	d := startDaemon(t, fmt.Sprintf(groupedFleetConfig, prom.URL(), scalers.String()))

	for _, i := range []int{0, 7, n - 1} {
		name := fmt.Sprintf("d%05d", i)
		// The first ticks may ask for a grid time before Prometheus'
		// first scrape of the series: wait for one that has them.
		got := d.waitDecision(t, name, time.Time{}, 20*time.Second, "its own value", func(x scaling.Decision) bool {
			return len(x.Signals) == 1 && x.Signals[0].Failed == ""
		})
		if want := float64(10 * (i + 1)); got.Signals[0].Failed != "" || got.Signals[0].Value != want || got.Recommended != int32(i+1) {
			t.Errorf("%s: signal %+v, recommended %d; want %g and %d replicas", name, got.Signals[0], got.Recommended, want, i+1)
		}
	}
	for _, tc := range []struct{ scaler, kind, text string }{
		{"absent", "empty", `no series matches {deployment="d99999"}`},
		{"two", "multiple_series", `2 series match {deployment=~"d0000[01]"}`},
	} {
		got := d.waitDecision(t, tc.scaler, time.Time{}, 20*time.Second, "a decision on the whole answer", func(x scaling.Decision) bool {
			return len(x.Signals) == 1 && !strings.Contains(x.Signals[0].Error, "the answer has 0 series")
		})
		if string(got.Signals[0].Failed) != tc.kind || !strings.Contains(got.Signals[0].Error, tc.text) || got.Desired != 1 {
			t.Errorf("%s: signal %+v, desired %d; want failed %s (%q), holding at 1", tc.scaler, got.Signals[0], got.Desired, tc.kind, tc.text)
		}
	}

	// Every scaler has ticked; count over whole intervals from here.
	const intervals = 5
	asked0 := d.Value(t, "scaled_signal_queries_total")
	before := promQueries(t, prom)
	time.Sleep(intervals * 2 * time.Second)
	sent := promQueries(t, prom) - before
	asked := d.Value(t, "scaled_signal_queries_total") - asked0
	t.Logf("%d scalers, %d intervals: %s answered %g instant queries, the signals asked %g", n+2, intervals, b, sent, asked)
	if sent > intervals+1 || sent < intervals-1 {
		t.Errorf("%s answered %g queries in %d intervals, want one per interval (+-1 at the window's edges)", b, sent, intervals)
	}
	if asked < float64((n+2)*(intervals-1)) {
		t.Errorf("the signals asked %g queries in %d intervals, want about %d per interval: the scalers did not tick", asked, intervals, n+2)
	}
	if v := d.Value(t, "scaled_signal_queries_shared_total"); v < asked-float64(intervals+1) {
		t.Errorf("scaled_signal_queries_shared_total %g, want nearly all of the %g asked", v, asked)
	}
}
