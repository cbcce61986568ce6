package main

import (
	"github.com/scaled-dev/scaled/pkg/simulate"
)

// windowScores is a run's score over each window [bounds[i], bounds[i+1])
// of its ticks, as a run made with simulate.ScoreFrom(bounds[i]) and
// stopped at bounds[i+1] would score it: a scale action at a window's first
// tick is a change from the count the tick before ended with.
func windowScores(m *simulate.Model, rows []simulate.Row, bounds []int) []tuneScore {
	t := m.T.Seconds()
	out := make([]tuneScore, 0, len(bounds)-1)
	for i := 0; i+1 < len(bounds); i++ {
		var s simulate.Score
		for k := bounds[i]; k < bounds[i+1] && k < len(rows); k++ {
			r := rows[k]
			req := r.Demand * t
			s.Ticks++
			s.TotalRequests += req
			if r.Violating {
				s.ViolatingRequests += req
			}
			s.ReplicaSeconds += float64(r.Replicas) * t
			before := int32(0)
			if k > 0 {
				before = rows[k-1].Replicas
			}
			if r.Replicas != before {
				s.ScaleActions++
			}
		}
		if s.TotalRequests > 0 {
			s.ViolatingRequestFraction = s.ViolatingRequests / s.TotalRequests
		}
		s.CostReplicaHours = s.ReplicaSeconds / 3600
		out = append(out, scoreOf(s))
	}
	return out
}
