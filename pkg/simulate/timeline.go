package simulate

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"time"
)

// Row is one tick of a run's timeline.
type Row struct {
	Time       time.Time
	Demand     float64 // req/s at the tick
	Observed   float64 // mean demand the policy saw, over [t-60 s, t); NaN at tick 0
	Ready      int32   // replicas ready once the tick's decision acted
	Replicas   int32   // replicas requested after the tick's decision
	P95Seconds float64 // p95 at the tick's demand with Ready replicas; +Inf when saturated
	Violating  bool    // P95Seconds > L
}

// TimelineHeader is the header line WriteTimeline writes.
const TimelineHeader = "time,demand,observed,ready,replicas,p95_seconds,violating"

// WriteTimeline writes rows as CSV: time in unix seconds, rates and latency
// with 4 decimals, an empty observed cell where nothing was observed, +Inf for
// a saturated p95, violating as 0 or 1.
func WriteTimeline(w io.Writer, rows []Row) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(TimelineHeader + "\n")
	var buf []byte
	for _, r := range rows {
		buf = strconv.AppendInt(buf[:0], r.Time.Unix(), 10)
		buf = append(buf, ',')
		buf = appendFloat(buf, r.Demand)
		buf = append(buf, ',')
		if !math.IsNaN(r.Observed) {
			buf = appendFloat(buf, r.Observed)
		}
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(r.Ready), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(r.Replicas), 10)
		buf = append(buf, ',')
		buf = appendFloat(buf, r.P95Seconds)
		if r.Violating {
			buf = append(buf, ",1\n"...)
		} else {
			buf = append(buf, ",0\n"...)
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendFloat(b []byte, v float64) []byte {
	if math.IsInf(v, 1) {
		return append(b, "+Inf"...)
	}
	return strconv.AppendFloat(b, v, 'f', 4, 64)
}
