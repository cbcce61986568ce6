package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/resolved"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// A replay beside a live signal runs on the wall clock; it starts with its
// first step just ended, so that a tick right after start reads that step
// instead of failing as an empty replay.
func TestLiveReplayAnswersFromTheFirstTick(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(trace, []byte("timestamp,value\n0,60\n60,120\n120,180\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(now)
	live := sources.QuerySpec("up")
	cfg := &config.Config{
		Prometheus: sources.PrometheusConfig{URL: "http://prometheus.invalid"},
		Scalers: []config.Scaler{{Name: "web", Signals: []config.Signal{
			{Name: "live", Source: config.SignalSource{Kind: sources.KindQuery, Spec: &live}},
			{Name: "replayed", Source: config.SignalSource{Kind: sources.KindReplay, Spec: &sources.ReplaySpec{Trace: trace, Speed: 60, Expr: "rate"}}},
		}}},
	}
	f := newFactories(zap.NewNop(), clk, nil)
	replayed := cfg.Scalers[0].Signals[1]
	r := resolved.Scaler{Name: "web", Prometheus: cfg.Prometheus, RecordedTime: cfg.ReplaySpeed() != 1}
	q, err := f.Source(&r, resolved.Signal{Name: replayed.Name, Expr: replayed.Expr(), Kind: replayed.Source.Kind, Spec: replayed.Source.Spec})
	if err != nil {
		t.Fatal(err)
	}
	s, err := q.Query(context.Background(), "rate", now)
	if err != nil {
		t.Fatalf("query at start: %v", err)
	}
	if s.Value != 1 {
		t.Errorf("value at start = %v, want 1 (the first step, 60 per minute)", s.Value)
	}
	if s2, err := q.Query(context.Background(), "rate", now.Add(time.Second)); err != nil || s2.Value != 2 {
		t.Errorf("one wall second later (a trace minute at speed 60) = %v, %v; want 2 (the second step)", s2.Value, err)
	}
}
