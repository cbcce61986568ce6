package promtest

import (
	"testing"
	"time"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

func TestGaugeHistory(t *testing.T) {
	got := GaugeHistory("g", map[string]string{"b": "2", "a": "x\"y\\\n"}, []scaling.Sample{
		{Time: time.Unix(60, 0), Value: 1.5}, {Time: time.UnixMilli(120500), Value: 3},
	})
	want := "# TYPE g gauge\ng{a=\"x\\\"y\\\\\\n\",b=\"2\"} 1.5 60\ng{a=\"x\\\"y\\\\\\n\",b=\"2\"} 3 120.5\n# EOF\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
