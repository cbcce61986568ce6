package forecast

import "math"

// HoltWinters is triple exponential smoothing with a damped additive trend
// and an additive or multiplicative season. Fit initialises the level and
// season from the first period (smoothed, as single minutes are noisy),
// picks the smoothing parameters on a small grid by one-step squared error,
// and runs the chosen ones through the whole series.
type HoltWinters struct {
	name           string
	period         int
	multiplicative bool
	// smooth is the half-width, in points, of the moving average that
	// smooths the initial season.
	smooth int
}

// The grid is small on purpose: Fit must stay well under a millisecond per
// thousand points for every candidate, since the policy refits on a schedule.
var (
	hwAlphas = []float64{0.1, 0.4, 0.8}
	// Trend variants: none (phi 0: level and season only), or a slowly
	// learnt undamped one.
	hwTrends = []struct{ beta, phi float64 }{{0, 0}, {0.02, 1}}
	hwGammas = []float64{0.1, 0.3}
)

// NewHoltWinters returns a Holt-Winters model with a period in points.
func NewHoltWinters(name string, period int, multiplicative bool) *HoltWinters {
	return &HoltWinters{name: name, period: max(2, period), multiplicative: multiplicative, smooth: period / 96}
}

// WithSmoothing sets the half-width of the moving average over the initial
// season (default period/96: a quarter of an hour for a daily period).
func (m *HoltWinters) WithSmoothing(points int) *HoltWinters {
	m.smooth = max(0, points)
	return m
}

func (m *HoltWinters) Name() string { return m.name }

// MinPoints is one period to initialise and a quarter of one to fit.
func (m *HoltWinters) MinPoints() int { return m.period + m.period/4 }

type hwParams struct{ alpha, beta, gamma, phi float64 }

func (m *HoltWinters) Fit(y []float64) (Fitted, error) {
	if err := checkFit(m, y); err != nil {
		return nil, err
	}
	init := m.initial(y)
	best, bestSSE := hwParams{}, math.Inf(1)
	for _, a := range hwAlphas {
		for _, tr := range hwTrends {
			for _, g := range hwGammas {
				p := hwParams{a, tr.beta, g, tr.phi}
				s := init.clone(p)
				sse := s.run(y[m.period:])
				if sse < bestSSE {
					best, bestSSE = p, sse
				}
			}
		}
	}
	s := init.clone(best)
	s.run(y[m.period:])
	return s, nil
}

// initial is the state after the first period: level its mean, trend the
// change between the first two periods when there are two, season the
// period's deviations (or ratios) from the level, smoothed over a short
// moving window.
func (m *HoltWinters) initial(y []float64) *hwState {
	p := m.period
	s := &hwState{season: make([]float64, p), mul: m.multiplicative}
	for _, v := range y[:p] {
		s.level += v
	}
	s.level /= float64(p)
	if len(y) >= 2*p {
		var next float64
		for _, v := range y[p : 2*p] {
			next += v
		}
		s.trend = (next/float64(p) - s.level) / float64(p)
	}
	w := min(m.smooth, p/2-1)
	var sum float64
	for i := -w; i <= w; i++ {
		sum += y[(i+p)%p]
	}
	for j := range p {
		avg := sum / float64(2*w+1)
		// The level at point j of the first period, so that the first
		// period's trend does not end up in the season as a sawtooth.
		lj := s.level + s.trend*(float64(j)-float64(p-1)/2)
		if s.mul {
			s.season[j] = 1
			if lj > 0 {
				s.season[j] = avg / lj
			}
		} else {
			s.season[j] = avg - lj
		}
		sum += y[(j+w+1)%p] - y[(j-w+p)%p]
	}
	// The mean describes the period's middle; the level sits at its end.
	s.level += s.trend * float64(p-1) / 2
	return s
}

// hwState is a fitted Holt-Winters model; pos is the season slot of the
// next observation.
type hwState struct {
	hwParams
	level, trend float64
	season       []float64
	pos          int
	mul          bool
}

func (s *hwState) clone(p hwParams) *hwState {
	c := *s
	c.hwParams = p
	c.season = append([]float64(nil), s.season...)
	return &c
}

// minSeason keeps multiplicative indices and levels away from zero: loads
// have zero minutes, and a zero index would stick forever.
const minSeason = 1e-3

// run observes every value and returns the sum of squared one-step errors.
func (s *hwState) run(ys []float64) float64 {
	var sse float64
	for _, y := range ys {
		e := y - s.Forecast(1)
		sse += e * e
		s.Observe(y)
	}
	return sse
}

func (s *hwState) Forecast(h int) float64 {
	base := s.level
	switch s.phi {
	case 0:
	case 1:
		base += float64(h) * s.trend
	default: // phi + phi^2 + ... + phi^h
		base += s.phi * (1 - math.Pow(s.phi, float64(h))) / (1 - s.phi) * s.trend
	}
	idx := s.season[(s.pos+h-1)%len(s.season)]
	if s.mul {
		return max(0, base*idx)
	}
	return max(0, base+idx)
}

func (s *hwState) Observe(y float64) {
	prevL := s.level
	old := s.season[s.pos]
	if s.mul {
		s.level = s.alpha*y/max(old, minSeason) + (1-s.alpha)*(prevL+s.phi*s.trend)
		s.trend = s.beta*(s.level-prevL) + (1-s.beta)*s.phi*s.trend
		if s.level > minSeason {
			s.season[s.pos] = max(minSeason, s.gamma*y/s.level+(1-s.gamma)*old)
		}
	} else {
		s.level = s.alpha*(y-old) + (1-s.alpha)*(prevL+s.phi*s.trend)
		s.trend = s.beta*(s.level-prevL) + (1-s.beta)*s.phi*s.trend
		s.season[s.pos] = s.gamma*(y-s.level) + (1-s.gamma)*old
	}
	s.pos = (s.pos + 1) % len(s.season)
}
