package sources

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Trace is a recorded series with a regular step: CSV with the header
// `timestamp,value`, timestamp in unix seconds (UTC) at the start of the step.
type Trace struct {
	Samples []scaling.Sample
	Step    time.Duration
}

// LoadTrace reads a trace file.
func LoadTrace(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ReadTrace(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadTrace parses a trace. Every row must parse, timestamps must rise by one
// regular step, and values must be finite and non-negative: a trace with a
// hole or a bad row is refused rather than silently repaired.
func ReadTrace(r io.Reader) (*Trace, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty trace: want header timestamp,value")
		}
		return nil, err
	}
	if strings.TrimSpace(head[0]) != "timestamp" || strings.TrimSpace(head[1]) != "value" {
		return nil, fmt.Errorf("header %q: want timestamp,value", strings.Join(head, ","))
	}
	t := &Trace{}
	var prev int64
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		ts, err := strconv.ParseInt(strings.TrimSpace(rec[0]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: timestamp %q: want unix seconds", line, rec[0])
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("line %d: value %q: want a finite number >= 0", line, rec[1])
		}
		if len(t.Samples) == 1 {
			if ts <= prev {
				return nil, fmt.Errorf("line %d: timestamp %d: want > %d", line, ts, prev)
			}
			t.Step = time.Duration(ts-prev) * time.Second
		} else if len(t.Samples) > 1 && time.Duration(ts-prev)*time.Second != t.Step {
			return nil, fmt.Errorf("line %d: timestamp %d: want %d (regular step of %s)", line, ts, prev+int64(t.Step/time.Second), durfmt.D(t.Step))
		}
		prev = ts
		t.Samples = append(t.Samples, scaling.Sample{Time: time.Unix(ts, 0).UTC(), Value: v})
	}
	if len(t.Samples) < 2 {
		return nil, fmt.Errorf("trace has %d rows: want at least 2", len(t.Samples))
	}
	return t, nil
}
