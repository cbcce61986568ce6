package promvec

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestDeleteWhereDeletesOnlyTheNamedScalers(t *testing.T) {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "g"}, []string{"scaler", "signal"})
	for _, s := range []string{"a", "b", "c"} {
		v.WithLabelValues(s, "load").Set(1)
		v.WithLabelValues(s, "cpu").Set(1)
	}
	if n := DeleteWhere(v.MetricVec, "scaler", map[string]bool{"a": true, "c": true, "gone": true}); n != 4 {
		t.Errorf("deleted %d series, want 4", n)
	}
	if n := testutil.CollectAndCount(v); n != 2 {
		t.Errorf("%d series left, want b's 2", n)
	}
	if testutil.ToFloat64(v.WithLabelValues("b", "load")) != 1 {
		t.Error("b's series lost its value")
	}
	if n := DeleteWhere(v.MetricVec, "scaler", nil); n != 0 {
		t.Errorf("deleted %d series for no scaler", n)
	}
}
