package forecast

// SeasonalNaive forecasts the value one period earlier: "same time yesterday"
// for a daily period.
type SeasonalNaive struct {
	name   string
	period int
}

// NewSeasonalNaive returns a seasonal naive model with a period in points.
func NewSeasonalNaive(name string, period int) *SeasonalNaive {
	return &SeasonalNaive{name: name, period: max(1, period)}
}

func (m *SeasonalNaive) Name() string   { return m.name }
func (m *SeasonalNaive) MinPoints() int { return m.period }

func (m *SeasonalNaive) Fit(y []float64) (Fitted, error) {
	if err := checkFit(m, y); err != nil {
		return nil, err
	}
	f := &naiveState{ring: make([]float64, m.period)}
	copy(f.ring, y[len(y)-m.period:])
	return f, nil
}

// naiveState keeps the last period in a ring; next is the slot of the
// oldest value, the one a forecast one step ahead repeats.
type naiveState struct {
	ring []float64
	next int
}

func (f *naiveState) Forecast(h int) float64 {
	p := len(f.ring)
	return max(0, f.ring[(f.next+(h-1)%p)%p])
}

func (f *naiveState) Observe(y float64) {
	f.ring[f.next] = y
	f.next = (f.next + 1) % len(f.ring)
}
