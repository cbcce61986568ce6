package main

import (
	"testing"

	"github.com/scaled-dev/scaled/pkg/simulate"
)

func TestReadAtInterpolatesBetweenTheBracketingPoints(t *testing.T) {
	pt := func(cost, v float64) point {
		return point{s: simulate.Score{CostVsOracle: cost, ViolatingRequestFraction: v}}
	}
	// Out of order on purpose: readAt sorts by cost.
	pts := []point{pt(2.0, 0.01), pt(1.0, 0.5), pt(1.5, 0.1)}
	for _, tc := range []struct {
		cost, want float64
		ok         bool
	}{
		{1.25, 0.3, true},
		{1.5, 0.1, true},
		{1.75, 0.055, true},
		{0.9, 0, false},
		{2.1, 0, false},
	} {
		got, ok := readAt(pts, tc.cost)
		if ok != tc.ok || (ok && (got < tc.want-1e-12 || got > tc.want+1e-12)) {
			t.Errorf("readAt(%v) = %v, %v: want %v, %v", tc.cost, got, ok, tc.want, tc.ok)
		}
	}
}
