package sources

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// scanAnswers are answers to an instant query: the first ones as Prometheus
// writes them to a usable query (scan takes them), then ones that only the
// streaming decoder reads, well or not.
var scanAnswers = []struct {
	body    string
	scanned bool
}{
	{instantAnswerBody, true},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"deployment":"d00001","job":"app"},"value":[1765000000,"2.5"]}]}}`, true},
	{`{"status":"success","data":{"resultType":"vector","result":[]}}`, true},
	{`{"status":"success","data":{"resultType":"scalar","result":[1765000000.123,"7"]}}` + "\n", true},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000.123,"NaN"]}]}}`, true},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000.123,"+Inf"]}]}}`, true},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000.123,"1e308"]}]}}`, true},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764996400,"100"]}]}}`, true},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000.123,"100"]}]},"stats":{"seriesFetched": "1","executionTimeMsec":0}}`, true},
	{`{"status":"success","data":{"resultType":"vector","result":[]},"stats":{"seriesFetched": "0","executionTimeMsec":0}}`, true},
	{`{"status":"success","data":{"resultType":"scalar","result":[1765000000,"3"]},"stats":{}}`, true},

	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000.123,"100"]}]},"warnings":["careful"]}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["no such series"]}`, false},
	{`{"status":"error","errorType":"bad_data","error":"parse error"}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1765000000,"1"]},{"metric":{"a":"2"},"value":[1765000000,"2"]}]}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1765000000,{"count":"1"}]}]}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000,"1"],"histogram":[1765000000,{"count":"1"}]}]}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000.123,"many"]}]}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[01765000000,"1"]}]}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000.,"1"]}]}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\"}"},"value":[1765000000,"1"]}]}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000,"1"]}]}} trailing`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000,"1"]}]`, false},
	{`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1765000000,"1"]]}]}}`, false},
	{`{"status":"success","data":{"resultType":"string","result":[1765000000,"text"]}}`, false},
	{`{"status":"success","data":{"resultType":"scalar","result":[1765000000,"text"]}}`, false},
	{`{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1765000000, "3"]}]}}`, false},
	{`{"status":"success","isPartial":false,"data":{"resultType":"vector","result":[{"metric":{},"value":[1765000000,"4"]}]}}`, false},
	{`{"status":"success","data":{"result":[{"metric":{},"value":[1765000000,"5"]}],"resultType":"vector"}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[]},"stats":{"seriesFetched": {"x":1}}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[]},"stats":{"a":1,}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[]},"stats":{"a":01}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["w"],"stats":{}}`, false},
	{`{"status":"success","data":{"resultType":"vector","result":[]},"stats":{"a":1},"warnings":["w"]}`, false},
	{`<html>bad gateway</html>`, false},
	{``, false},
}

// The answers a source reads whole and scans are read as the streaming
// decoder reads them: the same value and time, the same failure.
func TestScanReadsAsTheDecoder(t *testing.T) {
	serve := func(chunked bool) *Prometheus {
		return newTestPrometheus(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i, err := strconv.Atoi(r.FormValue("query")) // the query is the answer's index
			if err != nil || i < 0 || i >= len(scanAnswers) {
				http.Error(w, "no such answer", http.StatusBadRequest)
				return
			}
			body := scanAnswers[i].body
			w.Header().Set("Content-Type", "application/json")
			if !chunked {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			} else {
				w.(http.Flusher).Flush() // no Content-Length: read as it arrives
			}
			io.WriteString(w, body)
		}))
	}
	whole, streamed := serve(false), serve(true)
	ts := time.Unix(1765000000, 123e6).UTC()
	for i, tc := range scanAnswers {
		t.Run(scaling.Clip(tc.body, 60), func(t *testing.T) {
			a := instantAnswer{expr: "q"}
			if got := a.scan([]byte(tc.body)); got != tc.scanned {
				t.Errorf("scanned %t, want %t", got, tc.scanned)
			}
			expr := strconv.Itoa(i)
			s1, err1 := whole.Query(context.Background(), expr, ts)
			s2, err2 := streamed.Query(context.Background(), expr, ts)
			if s1 != s2 && !(math.IsNaN(s1.Value) && math.IsNaN(s2.Value)) || fmt.Sprint(err1) != fmt.Sprint(err2) {
				t.Errorf("read whole: %v, %v\nstreamed:   %v, %v", s1, err1, s2, err2)
			}
			if tc.scanned && err1 == nil && s1.Value != s1.Value {
				t.Errorf("a NaN passed as a value")
			}
		})
	}
}

// FuzzScan: whatever scan takes, the streaming decoder reads to the same
// sample or failure.
func FuzzScan(f *testing.F) {
	for _, tc := range scanAnswers {
		f.Add([]byte(tc.body))
	}
	ts := time.Unix(1765000000, 123e6).UTC()
	f.Fuzz(func(t *testing.T, body []byte) {
		fast := instantAnswer{expr: "q"}
		if !fast.scan(body) {
			return
		}
		slow := instantAnswer{expr: "q"}
		env, err := decodeAnswer(&capReader{r: strings.NewReader(string(body)), left: 1 << 20}, &slow)
		if err != nil || env.status != "success" || len(env.warnings) != 0 {
			t.Fatalf("scanned %q, which the decoder reads as %+v, %v", body, env, err)
		}
		s1, err1 := fast.sample(ts, nil)
		s2, err2 := slow.sample(ts, nil)
		if s1 != s2 && !(math.IsNaN(s1.Value) && math.IsNaN(s2.Value)) || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("%q: scanned %v, %v; decoded %v, %v", body, s1, err1, s2, err2)
		}
	})
}

// The form of an instant query is written without url.Values, to the
// same bytes.
func TestInstantFormIsTheForm(t *testing.T) {
	ts := time.Unix(1765000000, 123e6)
	for _, tc := range []struct {
		url     string
		timeout time.Duration
	}{
		{"http://prom:9090", 0},
		{"http://prom:9090/prefix/", 2500 * time.Millisecond},
		{"http://prom:9090/?partial_response=false&dedup=true", 10 * time.Second},
		{"http://prom:9090/?timeout=3s&time=1", 10 * time.Second},
	} {
		p, err := NewPrometheus(PrometheusConfig{URL: tc.url, QueryTimeout: tc.timeout})
		if err != nil {
			t.Fatal(err)
		}
		for _, expr := range []string{`sum(app_rps{deployment="d00001"})`, "a + b / 2 & é%", ""} {
			want := p.form(url.Values{"query": {expr}, "time": {strconv.FormatFloat(1765000000.123, 'f', -1, 64)}})
			if got := p.instantForm(expr, ts); got != want {
				t.Errorf("%s, timeout %s, %q:\ngot  %s\nwant %s", tc.url, tc.timeout, expr, got, want)
			}
		}
	}
}

// A caller's deadline that comes before the query timeout bounds the query
// alone; a later one is cut to the query timeout.
func TestBoundKeepsTheEarlierDeadline(t *testing.T) {
	p, err := NewPrometheus(PrometheusConfig{URL: "http://prom:9090", QueryTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	soon, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx, done := p.bound(soon)
	if ctx != soon {
		t.Errorf("a deadline in 5s under a 10s query timeout: got a new context")
	}
	done()
	if soon.Err() != nil {
		t.Fatalf("the bound's end cancelled the caller's context")
	}
	late, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	ctx, done = p.bound(late)
	defer done()
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > 10*time.Second {
		t.Errorf("a deadline in an hour under a 10s query timeout: deadline %v, %t", d, ok)
	}
	ctx, done = p.bound(context.Background())
	defer done()
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > 10*time.Second {
		t.Errorf("no deadline under a 10s query timeout: deadline %v, %t", d, ok)
	}
}
