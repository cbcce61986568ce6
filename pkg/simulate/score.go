package simulate

// Score is a run's score over the ticks advanced (docs/model.md, "How a run unfolds").
type Score struct {
	Ticks int `json:"ticks"`
	// TotalRequests is the demand summed over the ticks, each tick's rate times T.
	TotalRequests float64 `json:"total_requests"`
	// ViolatingRequests arrived in ticks whose p95 exceeded L.
	ViolatingRequests        float64 `json:"violating_requests"`
	ViolatingRequestFraction float64 `json:"violating_request_fraction"`
	// ReplicaSeconds sums the requested count (pending replicas included) times T.
	ReplicaSeconds   float64 `json:"-"`
	CostReplicaHours float64 `json:"cost_replica_hours"`
	// OracleReplicaSeconds sums max(1, ceil(demand/c)) times T.
	OracleReplicaSeconds float64 `json:"-"`
	OracleReplicaHours   float64 `json:"oracle_replica_hours"`
	CostVsOracle         float64 `json:"cost_vs_oracle"`
	// ScaleActions counts the ticks at which R changed, starting from no
	// replicas: setting the initial count at tick 0 is the first action (so
	// a run that never changes R scores 1, and one that starts at 0, none).
	ScaleActions int `json:"scale_actions"`
}

// finish derives the fractions and hours from the sums.
func (s Score) finish() Score {
	if s.TotalRequests > 0 {
		s.ViolatingRequestFraction = s.ViolatingRequests / s.TotalRequests
	} else {
		s.ViolatingRequestFraction = 0
	}
	s.CostReplicaHours = s.ReplicaSeconds / 3600
	s.OracleReplicaHours = s.OracleReplicaSeconds / 3600
	if s.OracleReplicaSeconds > 0 {
		s.CostVsOracle = s.ReplicaSeconds / s.OracleReplicaSeconds
	} else {
		s.CostVsOracle = 0
	}
	return s
}

// OracleScore is the oracle's score on m: max(1, ceil(demand/c)) ready at
// every tick with no startup delay, so nothing violates; its scale actions
// count the same way as a run's.
func OracleScore(m *Model) Score { return OracleScoreFrom(m, 0) }

// OracleScoreFrom is OracleScore over the ticks from index from on, as a
// run made with ScoreFrom(from) scores them.
func OracleScoreFrom(m *Model, from int) Score {
	t := m.T.Seconds()
	var s Score
	var before int32
	for i := range m.Ticks() {
		n := m.OracleReplicasAt(i)
		if i >= from {
			s.Ticks++
			s.TotalRequests += m.Demand(i) * t
			s.ReplicaSeconds += float64(n) * t
			s.OracleReplicaSeconds += float64(n) * t
			if n != before {
				s.ScaleActions++
			}
		}
		before = n
	}
	return s.finish()
}
