package scaling

import (
	"math"
	"strconv"
)

// Range is the values a signal may take, both ends included. A value outside
// it is a failed signal of the kind out_of_range: it is not acted on, so an
// exporter that reports -1 for "unknown" or a counter reset that makes a
// ratio negative holds the scaler instead of moving it.
type Range struct {
	Min, Max float64
}

// DefaultRange is the range of a signal that declares none: finite and
// non-negative. Latencies, rates, ratios, utilisations and queue depths are
// never negative.
var DefaultRange = Range{Min: 0, Max: math.Inf(1)}

// Check fails a value that is NaN or infinite (the kind not_finite) or
// outside r (out_of_range); what names the value in the error.
func (r Range) Check(what string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return Fail(FailureNotFinite, "%s = %v", what, v)
	case v < r.Min || v > r.Max:
		return Fail(FailureOutOfRange, "%s = %s: outside the valid range %s", what, strconv.FormatFloat(v, 'g', -1, 64), r)
	}
	return nil
}

// Contains reports whether v is finite and within r.
func (r Range) Contains(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= r.Min && v <= r.Max
}

// String is r in interval notation, [0, +Inf).
func (r Range) String() string {
	lo, hi := "[", "]"
	if math.IsInf(r.Min, -1) {
		lo = "("
	}
	if math.IsInf(r.Max, 1) {
		hi = ")"
	}
	return lo + fmtEnd(r.Min) + ", " + fmtEnd(r.Max) + hi
}

func fmtEnd(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
