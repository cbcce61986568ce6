package policy

import (
	"math"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"

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

// TypeTargetTracking holds a signal at a target as the Kubernetes HPA does.
const TypeTargetTracking PolicyType = "target_tracking"

func init() {
	Register(TypeTargetTracking, func() PolicySpec { return &TargetTrackingSpec{} })
}

// TargetTrackingSpec is the target_tracking block of a policy. Its
// tolerance is the scaler's (behavior.scale_up and scale_down.tolerance).
type TargetTrackingSpec struct {
	// Signal names the scaler's signal to hold at target.
	Signal string `json:"signal,omitempty"`
	// TargetType: value (ratio x ready replicas, HPA Object/Value),
	// average_value (total / per-replica target, HPA AverageValue),
	// utilization (value with the HPA Resource metric's direction rule).
	TargetType TargetType `json:"target_type,omitempty"`
	// Target is the value to hold the signal at (per replica for
	// average_value).
	Target float64 `json:"target,omitempty"`
}

// Default implements PolicySpec: every key is required.
func (s *TargetTrackingSpec) Default() {}

// New implements PolicySpec.
func (s *TargetTrackingSpec) New(name string, ctx ScalerContext, path *field.Path) (Policy, field.ErrorList) {
	p, errs := newTargetTracking(name, s.Signal, s.TargetType, s.Target, ctx, path)
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
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
	_ Policy       = (*TargetTracking)(nil)
	_ SignalReader = (*TargetTracking)(nil)
)

// NewTargetTracking validates its arguments and returns the policy; a
// scaler's policies are built from their TargetTrackingSpec instead.
func NewTargetTracking(name, signal string, targetType TargetType, target float64, tol Tolerance) (*TargetTracking, error) {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, fielderr.Required(field.NewPath("name"), name, "must not be empty"))
	}
	// A scaler's tolerance is checked with its behaviour (NewDecider).
	for _, t := range []struct {
		f string
		v float64
	}{{"up", tol.Up}, {"down", tol.Down}} {
		if !(t.v >= 0) || math.IsInf(t.v, 0) {
			errs = append(errs, fielderr.Invalid(field.NewPath("tolerance", t.f), t.v, "must be a finite number >= 0"))
		}
	}
	p, perrs := newTargetTracking(name, signal, targetType, target, ScalerContext{Tolerance: tol}, nil)
	return p, asError(append(errs, perrs...))
}

func newTargetTracking(name, signal string, targetType TargetType, target float64, ctx ScalerContext, path *field.Path) (*TargetTracking, field.ErrorList) {
	var errs field.ErrorList
	if e := ctx.RequireSignal(path.Child("signal"), signal); e != nil {
		errs = append(errs, e)
	}
	if !slices.Contains(TargetTypes, targetType) {
		errs = append(errs, fielderr.NotSupported(path.Child("target_type"), string(targetType), TargetTypes))
	}
	switch {
	case !(target > 0): // also NaN
		errs = append(errs, fielderr.Invalid(path.Child("target"), target, "must be > 0"))
	case math.IsInf(target, 0):
		errs = append(errs, fielderr.Invalid(path.Child("target"), target, "must be finite"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &TargetTracking{name: name, signal: signal, targetType: targetType, target: target, tol: ctx.Tolerance}, nil
}

// Name implements Policy.
func (p *TargetTracking) Name() string { return p.name }

// Signals implements SignalReader.
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
