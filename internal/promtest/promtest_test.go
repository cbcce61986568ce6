//go:build integration

package promtest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

func TestScrapesTheExporterAndSurvivesRestart(t *testing.T) {
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) { testScrapesAndSurvivesRestart(t, b) })
	}
}

func testScrapesAndSurvivesRestart(t *testing.T, b Backend) {
	t0 := time.Now()
	s := StartBackend(t, b)
	t.Logf("started in %s", time.Since(t0))
	s.Gauge("queue_depth", "queue").WithLabelValues("jobs").Set(17)
	s.WaitFor(t, `queue_depth{job="test",queue="jobs"}`, 17, 15*time.Second)
	t.Logf("first value after %s", time.Since(t0))
	t0 = time.Now()

	s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, _, _, err := s.API().Query(ctx, "up", time.Now()); err == nil {
		t.Fatal("query after Stop succeeded")
	}

	s.Gauge("queue_depth", "queue").WithLabelValues("jobs").Set(18)
	t.Logf("stopped in %s", time.Since(t0))
	t0 = time.Now()
	s.Restart(t)
	t.Logf("restarted in %s", time.Since(t0))
	s.WaitFor(t, `queue_depth{queue="jobs"}`, 18, 15*time.Second)
	// The data directory survived: the value scraped before the restart is still there.
	s.WaitFor(t, `min_over_time(queue_depth{queue="jobs"}[5m])`, 17, 5*time.Second)
}

func TestBackfilledHistory(t *testing.T) {
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) { testBackfilledHistory(t, b) })
	}
}

func testBackfilledHistory(t *testing.T, b Backend) {
	end := time.Now().Add(-48 * time.Hour).Truncate(time.Minute)
	var samples []scaling.Sample
	for i := 0; i < 120; i++ {
		samples = append(samples, scaling.Sample{Time: end.Add(time.Duration(i-119) * time.Minute), Value: float64(i)})
	}
	s := StartBackend(t, b, WithHistory("recorded_load", map[string]string{"app": "shop"}, samples))
	v, _, _, err := s.API().Query(context.Background(), `recorded_load{app="shop"}`, end)
	if err != nil {
		t.Fatal(err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 || vec[0].Value != 119 {
		t.Fatalf("at the end of the history: got %v, want one sample of 119", v)
	}
	v, _, _, err = s.API().Query(context.Background(), `count_over_time(recorded_load[3h])`, end)
	if err != nil {
		t.Fatal(err)
	}
	if vec, ok := v.(model.Vector); !ok || len(vec) != 1 || vec[0].Value != 120 {
		t.Fatalf("count_over_time: got %v, want 120", v)
	}
}

// Start runs the back end BackendEnv names: VictoriaMetrics answers its own
// /health, which Prometheus does not serve.
func TestStartRunsTheSelectedBackend(t *testing.T) {
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Setenv(BackendEnv, string(b))
			s := Start(t)
			if s.Backend() != b {
				t.Fatalf("Start ran %s, want %s", s.Backend(), b)
			}
			resp, err := http.Get(s.URL() + "/health")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ok := resp.StatusCode == http.StatusOK; ok != (b == VictoriaMetrics) {
				t.Fatalf("GET /health: HTTP %d from the server Start ran for %s", resp.StatusCode, b)
			}
		})
	}
}

type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestSelectedRefusesAnUnknownBackend(t *testing.T) {
	t.Setenv(BackendEnv, "thanos")
	var f fatalRecorder
	Selected(&f)
	want := `SCALED_TEST_BACKEND="thanos": want "prometheus" or "victoriametrics" (or unset for prometheus)`
	if f.msg != want {
		t.Fatalf("got %q, want %q", f.msg, want)
	}
	t.Setenv(BackendEnv, "")
	if b := Selected(t); b != Prometheus {
		t.Fatalf("unset: got %s, want prometheus", b)
	}
}
