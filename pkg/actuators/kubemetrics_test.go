package actuators

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A Kubernetes target built and never read (a scaler of a shard another
// replica holds, built only to be checked) exports nothing; forgetting
// many scalers at once deletes their series and no other.
func TestKubeMetricsFollowTheScalersThatRun(t *testing.T) {
	m := NewKubeMetrics(prometheus.NewPedanticRegistry())
	for _, name := range []string{"a", "b", "c"} {
		if _, err := NewKubernetes(KubernetesTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: name},
			KubernetesOptions{Clients: &KubeClients{}, Scaler: "ns/" + name, Metrics: m}); err != nil {
			t.Fatal(err)
		}
	}
	if n := testutil.CollectAndCount(m.suppressed); n != 0 {
		t.Errorf("targets built and never read export %d series, want 0", n)
	}
	for _, name := range []string{"a", "b", "c"} {
		m.start(name)
	}
	m.ForgetScalers([]string{"a", "c"})
	if n := testutil.CollectAndCount(m.suppressed); n != 1 {
		t.Errorf("%d series left after forgetting a and c, want b's", n)
	}
}
