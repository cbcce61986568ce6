package forecast

import "math"

// Harmonic is a regression on time of day and day of week: a level, a linear
// trend and the first harmonics of the daily and weekly periods (a Fourier
// series, as Prophet models seasons and as Crane's DSP predictor keeps a
// signal's main frequencies), fitted by least squares. The residuals'
// lag-one autocorrelation carries the latest deviation into the next few
// steps, so that a short-horizon forecast starts from where the load is.
// The weekly harmonics join once the series covers a week and a day.
type Harmonic struct {
	name           string
	daily, weekly  int
	dailyHarmonics int
	weeklyHarm     int
}

// NewHarmonic returns a harmonic regression with daily and weekly periods in points.
func NewHarmonic(name string, daily, weekly int) *Harmonic {
	return &Harmonic{name: name, daily: max(2, daily), weekly: max(2, weekly),
		dailyHarmonics: min(8, max(1, daily/2-1)), weeklyHarm: 3}
}

func (m *Harmonic) Name() string { return m.name }

// MinPoints is half a day: the daily harmonics need to see most of a cycle.
func (m *Harmonic) MinPoints() int { return max(2, m.daily/2) }

func (m *Harmonic) Fit(y []float64) (Fitted, error) {
	if err := checkFit(m, y); err != nil {
		return nil, err
	}
	n := len(y)
	// The regression is fitted on block means (five minutes at one-minute
	// steps), each at its block's centre: the harmonics kept are hours
	// long, and it makes the fit several times cheaper.
	block := max(1, m.daily/288)
	blocks := (n + block - 1) / block
	f := &harmonicState{daily: float64(m.daily), weekly: float64(m.weekly), scale: float64(n), kd: m.dailyHarmonics}
	// On a short series, no trend (it would be extrapolated from hours) and
	// no more harmonics than a fifth of the points can pin down.
	f.trend = n >= 2*m.daily
	if n >= m.weekly+m.daily {
		f.kw = m.weeklyHarm
	}
	f.kd = max(1, min(f.kd, (blocks/5-2)/2))
	p := f.features()
	f.x = make([]float64, p)
	xtx := make([]float64, p*p)
	xty := make([]float64, p)
	for start := 0; start < n; start += block {
		end := min(n, start+block)
		var v float64
		for _, yi := range y[start:end] {
			v += yi
		}
		v /= float64(end - start)
		x := f.row(float64(start) + float64(end-start-1)/2)
		for i := range p {
			xi := x[i]
			xty[i] += xi * v
			row := xtx[i*p:]
			for j := i; j < p; j++ {
				row[j] += xi * x[j]
			}
		}
	}
	for i := range p {
		for j := range i {
			xtx[i*p+j] = xtx[j*p+i]
		}
		// A whisker of ridge keeps the system solvable on a flat series.
		xtx[i*p+i] += 1e-9*xtx[i*p+i] + 1e-12
	}
	f.coef = solveSPD(xtx, xty, p)
	// Residuals' lag-one autocorrelation over the newest day at most,
	// clipped to [0, 0.99].
	var num, den, prev float64
	from := max(0, n-m.daily)
	for t := from; t < n; t++ {
		r := y[t] - f.at(float64(t))
		if t > from {
			num += r * prev
			den += prev * prev
		}
		prev = r
	}
	if den > 0 {
		f.phi = min(0.99, max(0, num/den))
	}
	f.t, f.resid = n, prev
	return f, nil
}

// harmonicState is a fitted harmonic regression; t is the index of the
// next observation, resid the last observation's residual.
type harmonicState struct {
	daily, weekly float64
	kd, kw        int
	trend         bool
	scale         float64
	coef          []float64
	phi, resid    float64
	t             int
	x             []float64
}

func (f *harmonicState) features() int { return 2 + 2*f.kd + 2*f.kw }

// row fills and returns the features at (fractional) index t: higher
// harmonics by the angle-addition formulas from the first.
func (f *harmonicState) row(t float64) []float64 {
	x := f.x
	x[0], x[1] = 1, 0
	if f.trend {
		x[1] = t / f.scale
	}
	i := 2
	harmonics := func(period float64, k int) {
		s1, c1 := math.Sincos(2 * math.Pi * math.Mod(t, period) / period)
		c, s := c1, s1
		for range k {
			x[i], x[i+1] = c, s
			c, s = c*c1-s*s1, s*c1+c*s1
			i += 2
		}
	}
	harmonics(f.daily, f.kd)
	if f.kw > 0 {
		harmonics(f.weekly, f.kw)
	}
	return x
}

func (f *harmonicState) at(t float64) float64 {
	x := f.row(t)
	var v float64
	for i, c := range f.coef {
		v += c * x[i]
	}
	return v
}

func (f *harmonicState) Forecast(h int) float64 {
	return max(0, f.at(float64(f.t+h-1))+math.Pow(f.phi, float64(h))*f.resid)
}

func (f *harmonicState) Observe(y float64) {
	f.resid = y - f.at(float64(f.t))
	f.t++
}

// solveSPD solves a x = b for a symmetric positive definite p x p matrix by
// Cholesky decomposition; a is overwritten.
func solveSPD(a, b []float64, p int) []float64 {
	for j := range p {
		d := a[j*p+j]
		for k := range j {
			d -= a[j*p+k] * a[j*p+k]
		}
		if d <= 0 {
			d = 1e-12
		}
		d = math.Sqrt(d)
		a[j*p+j] = d
		for i := j + 1; i < p; i++ {
			s := a[i*p+j]
			for k := range j {
				s -= a[i*p+k] * a[j*p+k]
			}
			a[i*p+j] = s / d
		}
	}
	x := make([]float64, p)
	for i := range p { // L z = b
		s := b[i]
		for k := range i {
			s -= a[i*p+k] * x[k]
		}
		x[i] = s / a[i*p+i]
	}
	for i := p - 1; i >= 0; i-- { // L^T x = z
		s := x[i]
		for k := i + 1; k < p; k++ {
			s -= a[k*p+i] * x[k]
		}
		x[i] = s / a[i*p+i]
	}
	return x
}
