package scaling

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxText is the most bytes of one error or reason text a Decision keeps.
// Texts come partly from outside (a series' labels, a server's error
// message), and a decision is logged, exported over HTTP and kept for the
// decision history: bounding each text bounds what one scaler can cost,
// whatever its source sends.
const MaxText = 1024

// Clip returns s when it is at most n bytes long; otherwise its first bytes,
// cut on a character boundary and followed by a note of the full length, n
// bytes all told (more only when n is too small for the note itself). The
// result never shares memory with a longer s, so that keeping it does not
// keep s.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	note := "…(" + strconv.Itoa(len(s)) + " bytes)"
	keep := max(n-len(note), 0)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	var b strings.Builder
	b.Grow(keep + len(note))
	b.WriteString(s[:keep])
	b.WriteString(note)
	return b.String()
}

// ClipTexts clips every error and reason text of d to MaxText bytes (see
// Clip). It changes d's slices in place.
func (d *Decision) ClipTexts() {
	for i := range d.Signals {
		d.Signals[i].Error = Clip(d.Signals[i].Error, MaxText)
	}
	for i := range d.Recommendations {
		d.Recommendations[i].Reason = Clip(d.Recommendations[i].Reason, MaxText)
	}
	for i := range d.Adjustments {
		d.Adjustments[i].Reason = Clip(d.Adjustments[i].Reason, MaxText)
	}
	d.Error = Clip(d.Error, MaxText)
}
