package policy

import (
	"fmt"
	"math"
	"strconv"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// TargetType says how a target-tracking signal relates to capacity. The
// arithmetic of each follows kubernetes/kubernetes
// pkg/controller/podautoscaler/replica_calculator.go.
type TargetType string

const (
	// TargetValue: the signal is a whole-workload value (HPA Object/External
	// metric with a Value target). ratio = v/target; desired = ceil(ratio x ready)
	// (getUsageRatioReplicaCount).
	TargetValue TargetType = "value"
	// TargetAverageValue: the signal is a total to be shared out (HPA
	// Object/External metric with an AverageValue target). ratio =
	// v/(target x current); desired = ceil(v/target)
	// (GetObjectPerPodMetricReplicas, GetExternalPerPodMetricReplicas).
	TargetAverageValue TargetType = "average_value"
	// TargetUtilization: the signal is the average utilisation over ready
	// replicas (HPA Resource metric). Like TargetValue, and the result never
	// moves against the ratio's direction (GetResourceReplicas).
	TargetUtilization TargetType = "utilization"
)

// TargetTypes lists every TargetType, for validation messages.
var TargetTypes = []TargetType{TargetValue, TargetAverageValue, TargetUtilization}

// Tolerance is the band around ratio 1 within which target tracking keeps the
// current capacity: it scales up only when ratio > 1+Up and down only when
// ratio < 1-Down (HPA Tolerances.isWithin, configurable per direction since
// Kubernetes 1.33).
type Tolerance struct {
	Up   float64
	Down float64
}

// DefaultTolerance is HPA's --horizontal-pod-autoscaler-tolerance default.
var DefaultTolerance = Tolerance{Up: 0.1, Down: 0.1}

func (t Tolerance) within(ratio float64) bool {
	return 1.0-t.Down <= ratio && ratio <= 1.0+t.Up
}

// SignalUser is implemented by policies that read named signals; the Decider
// treats a failure of any of them as a failed signal for the tick.
type SignalUser interface {
	Signals() []string
}

// TargetTracking holds one signal at a target the way the Kubernetes HPA does.
// It has no state of its own.
type TargetTracking struct {
	name       string
	signal     string
	targetType TargetType
	target     float64
	tol        Tolerance
}

var (
	_ Policy     = (*TargetTracking)(nil)
	_ SignalUser = (*TargetTracking)(nil)
)

// NewTargetTracking validates its arguments and returns the policy.
func NewTargetTracking(name, signal string, targetType TargetType, target float64, tol Tolerance) (*TargetTracking, error) {
	switch {
	case name == "":
		return nil, fmt.Errorf("name: %q: must not be empty", name)
	case signal == "":
		return nil, fmt.Errorf("signal: %q: must name a signal", signal)
	}
	switch targetType {
	case TargetValue, TargetAverageValue, TargetUtilization:
	default:
		return nil, fmt.Errorf("target_type: %q: must be one of %v", targetType, TargetTypes)
	}
	if !(target > 0) || math.IsInf(target, 0) {
		return nil, fmt.Errorf("target: %v: must be a finite number > 0", target)
	}
	if !(tol.Up >= 0) || math.IsInf(tol.Up, 0) {
		return nil, fmt.Errorf("tolerance.up: %v: must be a finite number >= 0", tol.Up)
	}
	if !(tol.Down >= 0) || math.IsInf(tol.Down, 0) {
		return nil, fmt.Errorf("tolerance.down: %v: must be a finite number >= 0", tol.Down)
	}
	return &TargetTracking{name: name, signal: signal, targetType: targetType, target: target, tol: tol}, nil
}

// Name implements Policy.
func (p *TargetTracking) Name() string { return p.name }

// Signals implements SignalUser.
func (p *TargetTracking) Signals() []string { return []string{p.signal} }

// Recommend implements Policy. It abstains when its signal is missing or
// failed, when the value is not a finite number >= 0, and when there is no
// ready capacity to scale a per-replica signal from (HPA would compute 0
// replicas there; holding is the safer reading of "no data").
func (p *TargetTracking) Recommend(in Input) scaling.Recommendation {
	rec := scaling.Recommendation{Policy: p.name}
	r, ok := in.Signals[p.signal]
	if !ok {
		return p.abstain(rec, scaling.FailureEmpty, "no reading")
	}
	if r.Err != nil {
		return p.abstain(rec, scaling.KindOf(r.Err), r.Err.Error())
	}
	v := r.Sample.Value
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return p.abstain(rec, scaling.FailureNotFinite, strconv.FormatFloat(v, 'g', -1, 64))
	}
	if v < 0 {
		return p.abstain(rec, "negative", strconv.FormatFloat(v, 'g', -1, 64))
	}
	current, ready := in.Capacity.Current, in.Capacity.Ready

	var b [160]byte
	buf := b[:0]
	switch p.targetType {
	case TargetAverageValue:
		// GetObjectPerPodMetricReplicas: usageRatio = v / (target * current);
		// outside tolerance, ceil(v / target).
		ratio := v / (p.target * float64(current))
		buf = append(buf, "total "...)
		buf = appendNum(buf, v)
		buf = append(buf, " / (target "...)
		buf = appendNum(buf, p.target)
		buf = append(buf, " x "...)
		buf = strconv.AppendInt(buf, int64(current), 10)
		buf = append(buf, " current) = ratio "...)
		buf = appendNum(buf, ratio)
		if current != 0 && p.tol.within(ratio) {
			rec.Replicas = current
			buf = append(buf, " within tolerance -> "...)
		} else {
			rec.Replicas = ceil32(v / p.target)
			buf = append(buf, "; total / target -> "...)
		}
	default:
		if current != 0 && ready <= 0 {
			return p.abstain(rec, "", "no ready replicas to scale from")
		}
		ratio := v / p.target
		if p.targetType == TargetUtilization {
			buf = append(buf, "utilisation "...)
		} else {
			buf = append(buf, "value "...)
		}
		buf = appendNum(buf, v)
		buf = append(buf, " / target "...)
		buf = appendNum(buf, p.target)
		buf = append(buf, " = ratio "...)
		buf = appendNum(buf, ratio)
		switch {
		case current == 0:
			// getUsageRatioReplicaCount: from zero, ceil(usageRatio), no tolerance.
			rec.Replicas = ceil32(ratio)
			buf = append(buf, " from 0 -> "...)
		case p.tol.within(ratio):
			rec.Replicas = current
			buf = append(buf, " within tolerance -> "...)
		default:
			rec.Replicas = ceil32(ratio * float64(ready))
			buf = append(buf, " x "...)
			buf = strconv.AppendInt(buf, int64(ready), 10)
			buf = append(buf, " ready -> "...)
			if p.targetType == TargetUtilization &&
				((ratio > 1 && rec.Replicas < current) || (ratio < 1 && rec.Replicas > current)) {
				// GetResourceReplicas never scales against the ratio's direction.
				buf = strconv.AppendInt(buf, int64(rec.Replicas), 10)
				buf = append(buf, ", kept at current "...)
				rec.Replicas = current
			}
		}
	}
	buf = strconv.AppendInt(buf, int64(rec.Replicas), 10)
	rec.Reason = string(buf)
	return rec
}

func (p *TargetTracking) abstain(rec scaling.Recommendation, kind scaling.FailureKind, detail string) scaling.Recommendation {
	rec.Abstain = true
	if kind == "" {
		rec.Reason = "abstain: " + detail
		return rec
	}
	rec.Reason = "abstain: signal " + p.signal + " failed (" + string(kind) + "): " + detail
	return rec
}

// ceil32 rounds up and saturates at the int32 range, so that an absurd ratio
// becomes a very large recommendation (which the bounds then cap) rather
// than an overflow.
func ceil32(x float64) int32 {
	c := math.Ceil(x)
	switch {
	case math.IsNaN(c):
		return 0
	case c >= math.MaxInt32:
		return math.MaxInt32
	case c <= 0:
		return 0
	}
	return int32(c)
}

// appendNum writes v with two decimals, or, from a billion on, in
// scientific notation, so that an absurd value (1e308) takes a dozen bytes
// of a reason rather than three hundred.
func appendNum(buf []byte, v float64) []byte {
	if math.Abs(v) >= 1e9 {
		return strconv.AppendFloat(buf, v, 'e', 3, 64)
	}
	return strconv.AppendFloat(buf, v, 'f', 2, 64)
}
