package scaling

import (
	"math"
	"time"
)

// History is a signal's past on a grid of one step, oldest first, for the
// policies that read one (policy.HistoryNeed): point i is at Time(i), and
// its value is NaN where the source had none, or none valid. Its first and
// last points have values; an empty History has no point.
//
// It is kept compactly, as a fleet keeps one per distinct history query:
// float32 values (seven significant digits, ample for a forecast) in
// chunks of a day at one-minute steps, which are never changed once a
// History holds them. A History is a value that many goroutines may read at
// once; Update returns a new one and copies only the chunk it writes into,
// so a 14-day window at one minute costs about 80 KB and each new minute
// about 6 KB of copying.
type History struct {
	step  time.Duration
	start time.Time // time of point 0
	n     int
	off   int // index of point 0 in chunks[0]
	// chunks hold the points, historyChunk each (the last may be shorter).
	chunks [][]float32
}

// historyChunk is the points of one chunk: a day at one-minute steps.
const historyChunk = 1440

// HistoryBytesPerPoint is what a History keeps per point of its window.
const HistoryBytesPerPoint = 4

// HistoryOf lays samples (oldest first) on the grid of step that starts at
// the first one; a sample off that grid is dropped, and so is a value that is
// not finite. It is for histories read in one piece (tests, one-shot checks).
func HistoryOf(step time.Duration, samples []Sample) History {
	if len(samples) == 0 || step <= 0 {
		return History{step: step}
	}
	first := samples[0].Time
	n := int(samples[len(samples)-1].Time.Sub(first)/step) + 1
	values := make([]float32, max(n, 0))
	for i := range values {
		values[i] = float32(math.NaN())
	}
	for _, s := range samples {
		d := s.Time.Sub(first)
		if d < 0 || d%step != 0 || int(d/step) >= n {
			continue
		}
		values[d/step] = Float32(s.Value)
	}
	return History{step: step}.Update(first, first, values)
}

// Float32 is v as a History keeps it: NaN when it is not finite or beyond
// float32's range.
func Float32(v float64) float32 {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
		return float32(math.NaN())
	}
	return float32(v)
}

// Len is the number of points, missing ones included.
func (h History) Len() int { return h.n }

// Step is the grid's step.
func (h History) Step() time.Duration { return h.step }

// Time is the time of point i.
func (h History) Time(i int) time.Time { return h.start.Add(time.Duration(i) * h.step) }

// Value is the value of point i, NaN when it is missing.
func (h History) Value(i int) float64 {
	p := h.off + i
	return float64(h.chunks[p/historyChunk][p%historyChunk])
}

// At is point i as a Sample.
func (h History) At(i int) Sample { return Sample{Time: h.Time(i), Value: h.Value(i)} }

// Span is how much history the points cover: from the oldest to one step
// after the newest, missing points inside included; 0 when empty.
func (h History) Span() time.Duration { return time.Duration(h.n) * h.step }

// Missing is the number of points without a value.
func (h History) Missing() int {
	m := 0
	for i := range h.n {
		if math.IsNaN(h.Value(i)) {
			m++
		}
	}
	return m
}

// Samples is the points that have a value, oldest first: a copy.
func (h History) Samples() []Sample {
	out := make([]Sample, 0, h.n)
	for i := range h.n {
		if v := h.Value(i); !math.IsNaN(v) {
			out = append(out, Sample{Time: h.Time(i), Value: v})
		}
	}
	return out
}

// Bytes is what the History's chunks take.
func (h History) Bytes() int {
	b := 0
	for _, c := range h.chunks {
		b += cap(c) * HistoryBytesPerPoint
	}
	return b
}

// Update returns h with the points from `from` on replaced by values, one
// per step (NaN: missing), the points before since dropped, and missing
// points at either end trimmed. from must be on h's grid; a from before
// h's first point, or an empty h, starts a new History at from. h itself is
// unchanged: its chunks are copied before they are written.
func (h History) Update(since, from time.Time, values []float32) History {
	step := h.step
	if step <= 0 {
		return h
	}
	if h.n == 0 || from.Before(h.start) {
		h = History{step: step, start: from}
	}
	base := h.start.Add(-time.Duration(h.off) * step) // time of chunks[0][0]
	end := h.off + h.n                                // past the last point
	fi := int(from.Sub(base) / step)
	to := fi + len(values)
	w0 := min(end, fi) // the first position written (a gap is written NaN)
	chunks := make([][]float32, (to+historyChunk-1)/historyChunk)
	copy(chunks, h.chunks[:min(len(h.chunks), len(chunks))])
	copied := -1 // the last chunk copied: positions only grow
	for p := w0; p < to; p++ {
		c, k := p/historyChunk, p%historyChunk
		if c != copied {
			copied = c
			fresh := make([]float32, min(historyChunk, to-c*historyChunk))
			if c < len(h.chunks) {
				copy(fresh, h.chunks[c][:min(len(h.chunks[c]), k, len(fresh))])
			}
			chunks[c] = fresh
		}
		v := float32(math.NaN())
		if p >= fi {
			v = values[p-fi]
		}
		chunks[c][k] = v
	}
	h.chunks, h.n = chunks, to-h.off
	// Drop what is older than since, whole chunks first.
	if si := int((since.Sub(base) + step - 1) / step); si > h.off {
		drop := min(si, to) - h.off
		h.off += drop
		h.n -= drop
		h.start = h.start.Add(time.Duration(drop) * step)
	}
	for h.n > 0 && math.IsNaN(h.Value(0)) {
		h.off++
		h.n--
		h.start = h.start.Add(step)
	}
	for h.n > 0 && math.IsNaN(h.Value(h.n-1)) {
		h.n--
	}
	if h.n == 0 {
		return History{step: step}
	}
	// A new array of chunks, so that the dropped ones are freed.
	c := h.off / historyChunk
	h.chunks = append([][]float32(nil), h.chunks[c:(h.off+h.n+historyChunk-1)/historyChunk]...)
	h.off -= c * historyChunk
	return h
}
