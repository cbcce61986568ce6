package sources

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"sync"
	"time"
)

// smallAnswer is the most bytes of an answer read whole before it is
// decoded: a usable instant answer, one series and its labels, is a few
// hundred.
const smallAnswer = 4 << 10

var answerBuffers = sync.Pool{New: func() any { return new([smallAnswer]byte) }}

// readAnswer decodes an answer of at most limit bytes from body, whose
// length the response announced (-1: not announced).
//
// An instant answer that announced at most smallAnswer bytes is read whole
// into a pooled buffer and, when it is what Prometheus writes for a usable
// answer (see instantAnswer.scan), taken from its bytes at a fraction of the
// cost of the streaming decoder: that is every answer of a healthy signal at
// every tick. Any other answer goes to decodeAnswer, from the bytes already
// read on, with the same limit, so that what it refuses and why does not
// change: an answer read whole is only one that announced it was small.
func readAnswer(body io.Reader, length, limit int64, into dataDecoder) (envelope, error) {
	a, ok := into.(*instantAnswer)
	if !ok || length < 0 || length > min(smallAnswer, limit) {
		return decodeAnswer(&capReader{r: body, left: limit}, into)
	}
	buf := answerBuffers.Get().(*[smallAnswer]byte)
	defer answerBuffers.Put(buf)
	n, err := io.ReadFull(body, buf[:length])
	if err == nil && a.scan(buf[:n]) {
		return envelope{status: "success"}, nil
	}
	rest := body
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		rest = errReader{err} // the decoder meets the failure where it happened
	}
	return decodeAnswer(&capReader{r: io.MultiReader(bytes.NewReader(buf[:n]), rest), left: limit}, into)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// scan reads b when it is, byte for byte, the answer Prometheus writes to a
// usable instant query (or VictoriaMetrics, with its statistics at the
// end): status success, no warnings and nothing else, and
// either a vector of at most one series whose labels are plain ASCII or a
// scalar, its sample time a plain decimal and its value a number. It fills
// a as the streaming decoder would from the same bytes, and says whether it
// did. Anything else (an error, warnings, other fields, escapes, white
// space inside, several series, a histogram, a value that is not a number)
// is left whole to the streaming decoder, which accepts or refuses it as it
// always has.
func (a *instantAnswer) scan(b []byte) bool {
	s := answerScanner{b: b}
	if !s.lit(`{"status":"success","data":{"resultType":"`) {
		return false
	}
	switch {
	case s.lit(`vector","result":[`):
		if s.lit(`]}`) {
			if !s.tail() {
				return false
			}
			a.resultType, a.hasResult = "vector", true
			return true
		}
		if !s.lit(`{"metric":{`) || !s.labels() || !s.lit(`,"value":[`) {
			return false
		}
		p, ok := s.point()
		if !ok || !s.lit(`]}]}`) || !s.tail() {
			return false
		}
		a.resultType, a.hasResult = "vector", true
		a.one = series{Value: &a.onePoint}
		a.onePoint = p
		a.first = &a.one
		a.series.n = 1
		return true
	case s.lit(`scalar","result":[`):
		p, ok := s.point()
		if !ok || !s.lit(`]}`) || !s.tail() {
			return false
		}
		a.resultType, a.hasResult = "scalar", true
		a.onePoint = p
		a.scalar = &a.onePoint
		return true
	}
	return false
}

// answerScanner reads an answer's bytes in order; every method consumes
// what it matched and reports false, consuming nothing certain, otherwise.
type answerScanner struct {
	b []byte
	i int
}

func (s *answerScanner) lit(want string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(want)) {
		return false
	}
	s.i += len(want)
	return true
}

// tail reads the end of an answer after its data: nothing, or the query
// statistics VictoriaMetrics adds, a flat object of numbers and strings
// (`,"stats":{"seriesFetched": "1","executionTimeMsec":0}`), which the
// streaming decoder skips.
func (s *answerScanner) tail() bool {
	if s.lit(`,"stats":{`) && !s.flat() {
		return false
	}
	return s.lit("}") && s.end()
}

// flat reads the rest of an object whose '{' was read and whose values are
// plain strings or unsigned decimals, with spaces around them.
func (s *answerScanner) flat() bool {
	s.spaces()
	if s.lit("}") {
		return true
	}
	for {
		if _, ok := s.str(); !ok {
			return false
		}
		s.spaces()
		if !s.lit(":") {
			return false
		}
		s.spaces()
		if _, ok := s.str(); !ok && !s.decimal() {
			return false
		}
		s.spaces()
		if s.lit("}") {
			return true
		}
		if !s.lit(",") {
			return false
		}
		s.spaces()
	}
}

func (s *answerScanner) spaces() {
	for s.i < len(s.b) && s.b[s.i] == ' ' {
		s.i++
	}
}

// decimal reads digits, then optionally a dot and digits, without a
// leading zero: a JSON number as Prometheus writes a time.
func (s *answerScanner) decimal() bool {
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if n := digits(); n == 0 || (n > 1 && s.b[start] == '0') {
		return false
	}
	return !s.lit(".") || digits() > 0
}

// end: only white space after the answer (which the streaming decoder does
// not read).
func (s *answerScanner) end() bool {
	for _, c := range s.b[s.i:] {
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}

// str reads a string of printable ASCII without escapes and returns its
// contents.
func (s *answerScanner) str() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			out := s.b[s.i+1 : j]
			s.i = j + 1
			return out, true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// labels reads the rest of a label set whose '{' was read.
func (s *answerScanner) labels() bool {
	if s.lit("}") {
		return true
	}
	for {
		if _, ok := s.str(); !ok || !s.lit(":") {
			return false
		}
		if _, ok := s.str(); !ok {
			return false
		}
		if s.lit("}") {
			return true
		}
		if !s.lit(",") {
			return false
		}
	}
}

// point reads `time,"value"`: the time a plain decimal (digits, then
// optionally a dot and digits, as Prometheus writes it), the value a
// string that is a number.
func (s *answerScanner) point() (point, bool) {
	start := s.i
	if !s.decimal() {
		return point{}, false
	}
	ts, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil || !s.lit(",") {
		return point{}, false
	}
	v, ok := s.str()
	if !ok {
		return point{}, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return point{}, false
	}
	return point{t: sampleTime(ts), v: f}, true
}

// sampleTime is an answer's time, Unix seconds, to the millisecond.
func sampleTime(ts float64) time.Time {
	return time.UnixMilli(int64(math.Round(ts * 1000))).UTC()
}
