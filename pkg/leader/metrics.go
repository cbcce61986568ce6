package leader

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics say what this replica holds: scaled_leader{shard} is 1 for each
// shard Lease held (shard "0" for the one Lease without shards) and 0 for
// the others, so that sum by (shard) (scaled_leader) is 1 for every shard
// in a healthy deployment; scaled_leader_shards_held is their count, which
// shows the balance across replicas at a glance.
type metrics struct {
	leader *prometheus.GaugeVec
	held   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, shards int) (*metrics, error) {
	m := &metrics{
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scaled_leader",
			Help: "1 while this replica holds the shard's Lease and acts for its scalers, 0 while it stands by for them (decides in dry run).",
		}, []string{"shard"}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scaled_leader_shards_held",
			Help: "Shard Leases this replica holds.",
		}),
	}
	for i := 0; i < shards; i++ {
		m.leader.WithLabelValues(strconv.Itoa(i)).Set(0)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.leader, m.held} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) set(shard int, on bool, held int) {
	v := 0.0
	if on {
		v = 1
	}
	m.leader.WithLabelValues(strconv.Itoa(shard)).Set(v)
	m.held.Set(float64(held))
}
