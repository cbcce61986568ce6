package engine

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/internal/fakes"
	"github.com/scaled-dev/scaled/pkg/resolved"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/policy"
	"github.com/scaled-dev/scaled/pkg/scaling"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// sharedRangeSource answers every query with pointValue, keeps the range
// queries asked, and says which of them it shares (sources.RangeSharer)
// under key; nil key shares none.
type sharedRangeSource struct {
	key any

	mu     sync.Mutex
	ranges []rangeCall
}

type rangeCall struct {
	Expr       string
	Start, End time.Time
}

func (s *sharedRangeSource) RangeKey() any { return s.key }

func (s *sharedRangeSource) Query(_ context.Context, _ string, ts time.Time) (scaling.Sample, error) {
	return scaling.Sample{Time: ts, Value: pointValue(ts)}, nil
}

func (s *sharedRangeSource) QueryRange(_ context.Context, expr string, start, end time.Time, step time.Duration) ([]scaling.Sample, error) {
	s.mu.Lock()
	s.ranges = append(s.ranges, rangeCall{Expr: expr, Start: start, End: end})
	s.mu.Unlock()
	time.Sleep(time.Millisecond) // long enough for the others to ask meanwhile
	var out []scaling.Sample
	for t := start; !t.After(end); t = t.Add(step) {
		out = append(out, scaling.Sample{Time: t, Value: pointValue(t)})
	}
	return out, nil
}

func (s *sharedRangeSource) take() []rangeCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.ranges
	s.ranges = nil
	return r
}

// historyScaler is a scaler named name whose forecastOnly predictive
// policy reads window of expr at one-minute steps from src.
func historyScaler(t testing.TB, name, expr string, window time.Duration, src sources.Querier, hs *Histories) *Scaler {
	t.Helper()
	p, err := policy.NewPredictive(policy.PredictiveSpec{
		Name: "ahead", Signal: "rps", Mode: policy.ForecastOnly, CapacityPerReplica: 10,
		StartupDelay: time.Minute, Lead: time.Minute,
		History: window, Step: time.Minute, MinHistory: time.Hour,
		Model: "holt", Quantile: 0.9, RefitEvery: time.Hour, SurpriseRatio: 1.5, Handover: 15 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	d, errs := policy.NewDecider(policy.Spec{Policies: []policy.Policy{p}, Bounds: policy.Bounds{Min: 1, Max: 1000}}, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	return NewScaler(ScalerSpec{
		Name: name, Decider: d, Actuator: actuators.NewLog(1, nil), Interval: 15 * time.Second, QueryTimeout: 5 * time.Second,
		Signals:   []Signal{{Name: "rps", Expr: expr, MaxAge: time.Minute, Source: src}},
		Histories: hs,
	}, nil, nil, nil)
}

// tickAll ticks every scaler at now, all at once.
func tickAll(t *testing.T, scalers []*Scaler, now time.Time) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]string, len(scalers))
	for i, s := range scalers {
		wg.Go(func() { errs[i] = s.Tick(context.Background(), now).Error })
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Fatalf("%s at %s: %s", scalers[i].Name, now, e)
		}
	}
}

// TestScalersWithOneHistoryQueryShareOneReadAndOneHistory: 50 scalers
// whose signals ask the same history of the same source send one read of
// the window between them, then one query of the new tail a minute, and
// hold one history; a scaler with another expression, or a source that
// shares nothing, keeps its own.
func TestScalersWithOneHistoryQueryShareOneReadAndOneHistory(t *testing.T) {
	const window = 2 * time.Hour
	src := &sharedRangeSource{key: "prometheus"}
	hs := NewHistories()
	var fleet []*Scaler
	for i := range 50 {
		fleet = append(fleet, historyScaler(t, fmt.Sprintf("shop/web-%d", i), "rps", window, src, hs))
	}
	now := t0.Add(20 * time.Second)
	end := now.Truncate(time.Minute)
	tickAll(t, fleet, now)
	if diff := cmp.Diff([]rangeCall{{"rps", end.Add(-window), end}}, src.take()); diff != "" {
		t.Fatalf("first ticks of 50 scalers: range queries (-want +got):\n%s", diff)
	}
	tickAll(t, fleet, now.Add(15*time.Second))
	if got := src.take(); len(got) != 0 {
		t.Fatalf("ticks within the minute: range queries %v, want none", got)
	}
	tickAll(t, fleet, now.Add(time.Minute))
	if diff := cmp.Diff([]rangeCall{{"rps", end, end.Add(time.Minute)}}, src.take()); diff != "" {
		t.Fatalf("a minute later: range queries (-want +got):\n%s", diff)
	}
	st := hs.Stats()
	if st.Histories != 1 || st.Readers != 50 || st.Points != 121 {
		t.Errorf("stats %+v: want one history of 121 points read by 50 scalers", st)
	}

	other := historyScaler(t, "shop/api", "rps_api", window, src, hs)
	own := &sharedRangeSource{} // shares nothing
	alone := historyScaler(t, "shop/alone", "rps", window, own, hs)
	tickAll(t, []*Scaler{other, alone}, now.Add(time.Minute))
	if diff := cmp.Diff([]rangeCall{{"rps_api", end.Add(time.Minute - window), end.Add(time.Minute)}}, src.take()); diff != "" {
		t.Errorf("another expression: range queries (-want +got):\n%s", diff)
	}
	if got := own.take(); len(got) != 1 {
		t.Errorf("a source that shares nothing: range queries %v, want its own read", got)
	}
	if st := hs.Stats(); st.Histories != 2 || st.Readers != 51 {
		t.Errorf("stats %+v: want two shared histories read by 51 scalers", st)
	}

	// Scalers that stop give theirs back; a sweep drops what none reads.
	for _, s := range fleet[1:] {
		s.release()
	}
	hs.sweep()
	if st := hs.Stats(); st.Histories != 2 || st.Readers != 2 {
		t.Errorf("after 49 stopped: stats %+v: want the two histories, read by one scaler each", st)
	}
	fleet[0].release()
	other.release()
	hs.sweep()
	if st := hs.Stats(); st.Histories != 0 {
		t.Errorf("after all stopped: stats %+v: want nothing held", st)
	}
}

// TestSharedHistoryFailureIsNotSentAgainByEveryScaler: when the read that
// scalers waited for fails, they take its error (a failed signal: they
// hold) instead of each sending it again, and the next tick reads again.
func TestSharedHistoryFailureIsNotSentAgainByEveryScaler(t *testing.T) {
	hs := NewHistories()
	q := &rangeRecorder{}
	need := policy.HistoryNeed{Signal: "rps", Window: time.Hour, Step: time.Minute}
	src := sharingRecorder{q}
	var caches []*historyCache
	for range 10 {
		caches = append(caches, hs.acquire(need, scaling.DefaultRange, src, "x"))
	}
	now := t0
	if _, err := caches[0].refresh(context.Background(), src, "x", now); err != nil {
		t.Fatal(err)
	}
	q.fail, q.calls = true, nil
	later := now.Add(5 * time.Minute)
	// The first fails; the ones that waited for it take its error.
	c := caches[0]
	c.turn <- struct{}{}
	var wg sync.WaitGroup
	errs := make([]error, len(caches))
	for i := range caches {
		wg.Go(func() { _, errs[i] = caches[i].refresh(context.Background(), src, "x", later) })
	}
	time.Sleep(20 * time.Millisecond) // all waiting for the turn
	<-c.turn
	wg.Wait()
	for i, err := range errs {
		if scaling.KindOf(err) != scaling.FailureTimeout {
			t.Fatalf("scaler %d: err = %v: want the read's timeout", i, err)
		}
	}
	if len(q.calls) != 1 {
		t.Errorf("%d range queries for 10 scalers waiting on one failed read: want 1", len(q.calls))
	}
	q.fail, q.calls = false, nil
	h, err := caches[3].refresh(context.Background(), src, "x", later)
	if err != nil || h.Len() != 61 || len(q.calls) != 1 {
		t.Errorf("next tick: %d points, err %v, %d queries: want the tail read again, the window whole", h.Len(), err, len(q.calls))
	}
}

// sharingRecorder is a rangeRecorder that shares its range queries.
type sharingRecorder struct{ *rangeRecorder }

func (s sharingRecorder) RangeKey() any { return s.rangeRecorder }

// TestHistoryIsKeptInFourBytesAPoint: 40 scalers each reading its own
// 14-day history at one minute keep about 4 bytes a point between ticks
// (20,161 points: about 80 KB each, where a slice of samples took 32 bytes
// a point and more), and what a history holds stays within its window as
// it slides.
func TestHistoryIsKeptInFourBytesAPoint(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 2 million points")
	}
	const window = 14 * 24 * time.Hour
	const n = 40
	points := int(window/time.Minute) + 1
	scalers := make([]*Scaler, n)
	now := t0.Add(20 * time.Second)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := range scalers {
		// A source of its own: nothing shared.
		scalers[i] = historyScaler(t, fmt.Sprintf("web-%d", i), "rps", window, cycleSource(float64(i)), nil)
		if d := scalers[i].Tick(context.Background(), now); d.Error != "" {
			t.Fatal(d.Error)
		}
	}
	perPoint := float64(heap()-before) / float64(n*points)
	t.Logf("%.1f bytes a point held over %d scalers of %d points", perPoint, n, points)
	// 4 bytes a point, plus each scaler's decider, model and the last
	// chunk's room.
	if perPoint > 8 {
		t.Errorf("%.1f bytes a point held: want the history kept in about 4", perPoint)
	}
	runtime.KeepAlive(scalers)

	// Three days of minutes later, the window slid: still its points, in
	// about as many bytes.
	c := newHistoryCache(policy.HistoryNeed{Signal: "rps", Window: window, Step: time.Minute}, scaling.DefaultRange, nil)
	src := cycleSource(0)
	for k := range 3 * 24 * 60 {
		h, err := c.refresh(context.Background(), src, "x", now.Add(time.Duration(k)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if h.Len() != points || h.Bytes() > (points+2*1440)*scaling.HistoryBytesPerPoint {
			t.Fatalf("minute %d: %d points in %d bytes: want %d in at most %d", k, h.Len(), h.Bytes(), points, (points+2*1440)*4)
		}
	}
}

// TestManagerKeepsAHistoryAcrossARebuild: a reload that rebuilds a
// predictive scaler (its bounds changed) does not read its window again:
// the rebuilt scaler takes the history its predecessor held; a reload that
// removes the scaler drops it.
func TestManagerKeepsAHistoryAcrossARebuild(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	src := &sharedRangeSource{key: "prometheus"}
	f := Factories{
		Source: func(*resolved.Scaler, resolved.Signal) (sources.Querier, error) { return src, nil },
		Actuator: func(sc *resolved.Scaler) (actuators.Actuator, error) {
			return actuators.NewLog(2, nil), nil
		},
	}
	rec := &fakes.Recorder{}
	m := NewManager(clk, nil, f, rec, nil)
	defer m.Stop()
	predictive := func(max int) string {
		return fmt.Sprintf(`
  - name: web
    target: {kind: log, log: {initial: 2}}
    signals: [{name: load, query: 'sum(load{app="web"})'}]
    policies:
      - {name: ahead, type: predictive, predictive: {signal: load, capacity_per_replica: 10, history: 2h, min_history: 1h, model: holt}}
    bounds: {min: 1, max: %d}
`, max)
	}
	mustApply(t, m, predictive(10))
	stepUntilDecisions(t, clk, rec, 1, 20*time.Second)
	first := src.take()
	if len(first) != 1 || first[0].End.Sub(first[0].Start) != 2*time.Hour {
		t.Fatalf("first tick: range queries %v: want the 2h window once", first)
	}
	mustApply(t, m, predictive(20))
	stepUntilDecisions(t, clk, rec, 2, 20*time.Second)
	for _, c := range src.take() {
		if c.Start.Before(first[0].End) {
			t.Errorf("after the rebuild: range query %v: want only points since the last one read (%s)", c, first[0].End)
		}
	}
	if st := m.Histories(); st.Histories != 1 || st.Readers != 1 {
		t.Errorf("after the rebuild: %+v: want the one history, read by the rebuilt scaler", st)
	}
	if err := m.Apply(resolveAll(t, mustParse(t))); err != nil {
		t.Fatal(err)
	}
	if st := m.Histories(); st.Histories != 0 {
		t.Errorf("after the scaler was removed: %+v: want nothing held", st)
	}
}
