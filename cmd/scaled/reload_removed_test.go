package main

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scaled-dev/scaled/pkg/config"
)

func configOf(names ...string) *config.Config {
	c := &config.Config{}
	for _, n := range names {
		c.Scalers = append(c.Scalers, config.Scaler{Name: n})
	}
	return c
}

type removedCounter struct{ n int }

func (r *removedCounter) ScalersRemoved(n int) { r.n += n }

func TestReportRemovedScalers(t *testing.T) {
	many := make([]string, 1000)
	for i := range many {
		many[i] = fmt.Sprintf("s%d", i)
	}
	for _, tc := range []struct {
		name       string
		prev, next *config.Config
		wantNames  string // "" when nothing is reported
		wantCount  int
	}{
		{name: "unchanged", prev: configOf("web", "api"), next: configOf("api", "web")},
		{name: "added", prev: configOf("web"), next: configOf("web", "api")},
		{name: "one removed", prev: configOf("web", "api", "db"), next: configOf("web", "db"), wantNames: "api", wantCount: 1},
		{name: "renamed", prev: configOf("web"), next: configOf("www"), wantNames: "web", wantCount: 1},
		{name: "emptied", prev: configOf("web", "api"), next: configOf(), wantNames: "web, api", wantCount: 2},
		{name: "cut short", prev: configOf(many...), next: configOf(many[:1]...), wantNames: "s1, s2, s3, s4, s5 and 994 more", wantCount: 999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			var counter removedCounter
			reportRemoved(zap.New(core), &counter, removedScalers(tc.prev, tc.next), len(tc.next.Scalers))
			if counter.n != tc.wantCount {
				t.Errorf("counted %d removed scalers, want %d", counter.n, tc.wantCount)
			}
			entries := logs.All()
			if tc.wantNames == "" {
				if len(entries) != 0 {
					t.Errorf("logged %d lines when nothing was removed: %v", len(entries), entries)
				}
				return
			}
			if len(entries) != 1 {
				t.Fatalf("logged %d lines, want one warning", len(entries))
			}
			e := entries[0]
			if e.Level != zapcore.WarnLevel {
				t.Errorf("level %s, want warn", e.Level)
			}
			got := e.ContextMap()
			want := map[string]any{"removed": int64(tc.wantCount), "names": tc.wantNames, "scalers": int64(len(tc.next.Scalers))}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
