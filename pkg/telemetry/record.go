package telemetry

import (
	"time"
	"unsafe"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// record is a decision as the DecisionLog keeps it: the scaler's name is
// the ring's, times are Unix nanoseconds (0 for none), direction and
// outcome are indices into their closed sets, and a text equal to the one
// of the same place in the scaler's previous record is that string, not a
// copy of it. cost is what the record adds to the log, in bytes.
type record struct {
	time                                 int64
	recommended, current, ready, desired int32
	direction, outcome                   uint8
	dryRun                               bool
	// made says which of the decision's slices were made (not nil), so
	// that the API answers [] or null as the decision had it.
	made        uint8
	winner, err string
	signals     []signalRecord
	recs        []recRecord
	adjustments []scaling.Adjustment
	cost        int64
}

type signalRecord struct {
	name   string
	value  float64
	time   int64
	failed scaling.FailureKind // a constant: its bytes are the program's
	err    string
}

type recRecord struct {
	policy   string
	replicas int32
	abstain  bool
	reason   string
}

var (
	directions = []scaling.Direction{"", scaling.DirectionUp, scaling.DirectionDown, scaling.DirectionNone}
	outcomes   = []scaling.Outcome{"", scaling.OutcomeApplied, scaling.OutcomeDryRun, scaling.OutcomeUnchanged, scaling.OutcomeFailed}
)

// indexOf is v's index in set; a value outside the set (none is made) is 0.
func indexOf[T comparable](set []T, v T) uint8 {
	for i, s := range set {
		if s == v {
			return uint8(i)
		}
	}
	return 0
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// share returns prev when s equals it, so that the record keeps one copy
// of a text that repeats, and adds len(s) to cost otherwise.
func share(s, prev string, cost *int64) string {
	if s == prev {
		return prev
	}
	*cost += int64(len(s))
	return s
}

const (
	madeSignals = 1 << iota
	madeRecs
	madeAdjustments
)

const (
	recordSize    = int64(unsafe.Sizeof(record{}))
	signalRecSize = int64(unsafe.Sizeof(signalRecord{}))
	recRecSize    = int64(unsafe.Sizeof(recRecord{}))
	adjSize       = int64(unsafe.Sizeof(scaling.Adjustment{}))
)

// compact makes the record of d, sharing texts with prev (the scaler's
// previous record, or nil).
func compact(d *scaling.Decision, prev *record) record {
	if prev == nil {
		prev = &record{}
	}
	r := record{
		time:        unixNano(d.Time),
		recommended: d.Recommended, current: d.Current, ready: d.Ready, desired: d.Desired,
		direction: indexOf(directions, d.Direction),
		outcome:   indexOf(outcomes, d.Outcome),
		dryRun:    d.DryRun,
		cost:      recordSize,
	}
	if d.Signals != nil {
		r.made |= madeSignals
	}
	if d.Recommendations != nil {
		r.made |= madeRecs
	}
	if d.Adjustments != nil {
		r.made |= madeAdjustments
	}
	r.winner = share(d.Winner, prev.winner, &r.cost)
	r.err = share(d.Error, prev.err, &r.cost)
	r.signals = records(d.Signals, prev.signals, signalRecSize, &r.cost, func(s scaling.SignalValue, p signalRecord) signalRecord {
		return signalRecord{
			name: share(s.Name, p.name, &r.cost), value: s.Value, time: unixNano(s.Time),
			failed: s.Failed, err: share(s.Error, p.err, &r.cost),
		}
	})
	r.recs = records(d.Recommendations, prev.recs, recRecSize, &r.cost, func(rc scaling.Recommendation, p recRecord) recRecord {
		return recRecord{
			policy: share(rc.Policy, p.policy, &r.cost), replicas: rc.Replicas, abstain: rc.Abstain,
			reason: share(rc.Reason, p.reason, &r.cost),
		}
	})
	r.adjustments = records(d.Adjustments, prev.adjustments, adjSize, &r.cost, func(a, p scaling.Adjustment) scaling.Adjustment {
		a.Guard = share(a.Guard, p.Guard, &r.cost)
		a.Reason = share(a.Reason, p.Reason, &r.cost)
		return a
	})
	return r
}

// records makes the records of items (nil for none), each from its item
// and the record at its place in prev (zero past prev's end), adding size
// a record to cost.
func records[T, R any](items []T, prev []R, size int64, cost *int64, rec func(T, R) R) []R {
	if len(items) == 0 {
		return nil
	}
	out := make([]R, len(items))
	*cost += size * int64(len(items))
	for i, it := range items {
		var p R
		if i < len(prev) {
			p = prev[i]
		}
		out[i] = rec(it, p)
	}
	return out
}

// decision is the record as the decision it was made from.
func (r *record) decision(scaler string) scaling.Decision {
	d := scaling.Decision{
		Scaler: scaler, Time: fromUnixNano(r.time),
		Winner: r.winner, Recommended: r.recommended, Current: r.current, Ready: r.ready, Desired: r.desired,
		Direction: directions[r.direction], Outcome: outcomes[r.outcome], DryRun: r.dryRun, Error: r.err,
	}
	if r.made&madeSignals != 0 {
		d.Signals = make([]scaling.SignalValue, len(r.signals))
		for i, s := range r.signals {
			d.Signals[i] = scaling.SignalValue{Name: s.name, Value: s.value, Time: fromUnixNano(s.time), Failed: s.failed, Error: s.err}
		}
	}
	if r.made&madeRecs != 0 {
		d.Recommendations = make([]scaling.Recommendation, len(r.recs))
		for i, rc := range r.recs {
			d.Recommendations[i] = scaling.Recommendation{Policy: rc.policy, Replicas: rc.replicas, Abstain: rc.abstain, Reason: rc.reason}
		}
	}
	if r.made&madeAdjustments != 0 {
		d.Adjustments = append(make([]scaling.Adjustment, 0, len(r.adjustments)), r.adjustments...)
	}
	return d
}
