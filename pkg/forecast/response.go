package forecast

import "math"

// Responder is implemented by fitted models whose forecasts follow a
// surprise: Response(h) is how far the forecast h >= 1 steps after the next
// point moves, per unit by which that point turns out above its one-step
// forecast, once it is observed. A planner uses it to take in part of a
// point it has seen only partly (a block in progress) the way the model
// would take in the whole point.
type Responder interface {
	Response(h int) float64
}

var (
	_ Responder = (*holtState)(nil)
	_ Responder = (*hwState)(nil)
	_ Responder = (*harmonicState)(nil)
	_ Responder = (*naiveState)(nil)
)

// Response of the chosen model, 0 for one that does not say.
func (s *Selection) Response(h int) float64 {
	if r, ok := s.Fitted.(Responder); ok {
		return r.Response(h)
	}
	return 0
}

// dampedSum is phi + phi^2 + ... + phi^h: what a unit of trend adds to a
// forecast h steps ahead (h for an undamped trend, 0 for none).
func dampedSum(phi float64, h int) float64 {
	switch phi {
	case 0:
		return 0
	case 1:
		return float64(h)
	}
	return phi * (1 - math.Pow(phi, float64(h))) / (1 - phi)
}

// Response: a surprise e moves the level by alpha*e and the trend by
// beta*alpha*e.
func (s *holtState) Response(h int) float64 {
	return s.alpha * (1 + s.beta*dampedSum(s.phi, h))
}

// Response: as Holt's, the surprise's own slot of the season coming back a
// whole period later. A multiplicative season scales the level's move by
// the index forecast over the index of the observed slot (h within a
// period).
func (s *hwState) Response(h int) float64 {
	r := s.alpha * (1 + s.beta*dampedSum(s.phi, h))
	if s.mul {
		return r * s.season[(s.pos+h)%len(s.season)] / max(s.season[s.pos], minSeason)
	}
	if h%len(s.season) == 0 {
		r += s.gamma * (1 - s.alpha)
	}
	return r
}

// Response: the residual decays by phi a step.
func (s *harmonicState) Response(h int) float64 { return math.Pow(s.phi, float64(h)) }

// Response: a surprise comes back only a whole period later, as itself.
func (s *naiveState) Response(h int) float64 {
	if h%len(s.ring) == 0 {
		return 1
	}
	return 0
}
