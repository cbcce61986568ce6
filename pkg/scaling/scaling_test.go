package scaling

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short stays", "abc", 10, "abc"},
		{"exactly n stays", "abcdefghij", 10, "abcdefghij"},
		{"long is cut with its length", strings.Repeat("x", 100), 30, strings.Repeat("x", 16) + "…(100 bytes)"},
		{"a character is never split", strings.Repeat("é", 50), 21, "ééé" + "…(100 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Clip(tc.in, tc.n)
			if got != tc.want {
				t.Errorf("Clip(%d bytes, %d) = %q, want %q", len(tc.in), tc.n, got, tc.want)
			}
			if len(tc.in) > tc.n && len(got) > tc.n {
				t.Errorf("Clip kept %d bytes, limit %d", len(got), tc.n)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Clip returned invalid UTF-8 %q", got)
			}
		})
	}
}

func TestClipTextsBoundsEveryText(t *testing.T) {
	huge := strings.Repeat(`{pod="`+strings.Repeat("a", 1000)+`"}`, 2000) // 2 MB, as a hostile label makes it
	d := Decision{
		Signals:         []SignalValue{{Name: "s", Failed: FailureMultiple, Error: huge}},
		Recommendations: []Recommendation{{Policy: "p", Abstain: true, Reason: "abstain: " + huge}},
		Adjustments:     []Adjustment{{Guard: "failure", Reason: huge}},
		Error:           "read target: " + huge,
	}
	d.ClipTexts()
	for _, s := range []string{d.Signals[0].Error, d.Recommendations[0].Reason, d.Adjustments[0].Reason, d.Error} {
		if len(s) > MaxText {
			t.Errorf("a text of %d bytes survived, limit %d", len(s), MaxText)
		}
		if !strings.Contains(s, "bytes)") {
			t.Errorf("a clipped text does not say it was clipped: %q", s[len(s)-40:])
		}
	}
}

func TestRangeCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Range
		v    float64
		want FailureKind
		text string
	}{
		{"zero is in the default range", DefaultRange, 0, "", ""},
		{"a huge finite value is in the default range", DefaultRange, 1e308, "", ""},
		{"negative is out of the default range", DefaultRange, -1, FailureOutOfRange, "load = -1: outside the valid range [0, +Inf)"},
		{"NaN is not finite", DefaultRange, math.NaN(), FailureNotFinite, "load = NaN"},
		{"+Inf is not finite", DefaultRange, math.Inf(1), FailureNotFinite, "load = +Inf"},
		{"above a declared max", Range{Min: 0, Max: 1}, 1.5, FailureOutOfRange, "load = 1.5: outside the valid range [0, 1]"},
		{"a declared negative range", Range{Min: math.Inf(-1), Max: 0}, -3, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Check("load", tc.v)
			if got := KindOf(err); got != tc.want {
				t.Fatalf("Check(%v) kind %q (%v), want %q", tc.v, got, err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not contain %q", err, tc.text)
			}
			if tc.r.Contains(tc.v) != (tc.want == "") {
				t.Errorf("Contains(%v) = %v, Check says %v", tc.v, tc.r.Contains(tc.v), err)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want FailureKind
	}{
		{"nil is no failure", nil, ""},
		{"a signal error", Fail(FailureEmpty, "no series"), FailureEmpty},
		{"wrapped", fmt.Errorf("history: %w", Fail(FailureStale, "old")), FailureStale},
		{"any other error is a query error", errors.New("connection refused"), FailureQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.want {
				t.Errorf("KindOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
	if got := Fail(FailureTimeout, "after %s", "1s").Error(); got != "timeout: after 1s" {
		t.Errorf("message %q", got)
	}
}

func TestDirectionOf(t *testing.T) {
	if DirectionOf(3, 5) != DirectionUp || DirectionOf(5, 3) != DirectionDown || DirectionOf(4, 4) != DirectionNone {
		t.Error("DirectionOf compares desired with current")
	}
}
