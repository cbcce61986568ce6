package forecast

import "math"

// Holt is exponential smoothing without a season: a level and, if the fit
// finds one worth it, a damped additive trend (ETS(A,Ad,N); with no trend it
// is simple exponential smoothing). Over a horizon of minutes the recent
// level often says more than any season: a minute's load is mostly the
// minutes before it. Fit picks the parameters on a small grid by one-step
// squared error, as HoltWinters does.
type Holt struct{ name string }

// NewHolt returns a non-seasonal exponential smoothing model.
func NewHolt(name string) *Holt { return &Holt{name: name} }

var (
	holtAlphas = []float64{0.05, 0.1, 0.2, 0.4, 0.7}
	// Trend variants: none (simple exponential smoothing), or a damped one.
	holtTrends = []struct{ beta, phi float64 }{{0, 0}, {0.05, 0.9}, {0.1, 0.98}}
)

func (m *Holt) Name() string { return m.name }

// MinPoints is enough to start a level and a trend and to fit them.
func (m *Holt) MinPoints() int { return 10 }

func (m *Holt) Fit(y []float64) (Fitted, error) {
	if err := checkFit(m, y); err != nil {
		return nil, err
	}
	init := holtState{level: (y[0] + y[1] + y[2]) / 3}
	best, bestSSE := init, math.Inf(1)
	for _, a := range holtAlphas {
		for _, tr := range holtTrends {
			s := init
			s.alpha, s.beta, s.phi = a, tr.beta, tr.phi
			sse := s.run(y[3:])
			if sse < bestSSE {
				best, bestSSE = s, sse
			}
		}
	}
	return &best, nil
}

type holtState struct {
	alpha, beta, phi float64
	level, trend     float64
}

// run observes every value and returns the sum of squared one-step errors.
// It repeats hwState.run for the concrete type on purpose: it is the inner
// loop of every fit, and one loop over the Fitted interface made Select a
// tenth to a fifth slower.
func (s *holtState) run(ys []float64) float64 {
	var sse float64
	for _, y := range ys {
		e := y - s.Forecast(1)
		sse += e * e
		s.Observe(y)
	}
	return sse
}

func (s *holtState) Forecast(h int) float64 {
	f := s.level
	if s.phi > 0 { // phi + phi^2 + ... + phi^h
		f += s.phi * (1 - math.Pow(s.phi, float64(h))) / (1 - s.phi) * s.trend
	}
	return max(0, f)
}

func (s *holtState) Observe(y float64) {
	prev := s.level
	s.level = s.alpha*y + (1-s.alpha)*(prev+s.phi*s.trend)
	s.trend = s.beta*(s.level-prev) + (1-s.beta)*s.phi*s.trend
}
