package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ReplicaOptions shape the readers scaled adds to an Aurora cluster or an RDS
// source instance. They are inlined in AuroraTarget and RDSTarget.
type ReplicaOptions struct {
	// NameTemplate names a new reader: {cluster} (aurora), {source} (rds),
	// {scaler} and {index} (required; the lowest free number from 1) are
	// replaced. A deterministic name keeps a creation idempotent across a
	// restart. Default "{cluster}-scaled-{index}" or "{source}-scaled-{index}".
	NameTemplate string `yaml:"name_template"`
	// InstanceClass of new readers (default: the writer's or source's class).
	InstanceClass string `yaml:"instance_class"`
	// ParameterGroup is the DB parameter group of new readers (default: the
	// writer's or source's).
	ParameterGroup string `yaml:"parameter_group"`
	// AvailabilityZones new readers are spread over, fewest first (default:
	// the cluster's zones for aurora, the source subnet group's for rds).
	AvailabilityZones []string `yaml:"availability_zones"`
	// MinReaders is a floor scale-in never crosses, whatever the policy says.
	MinReaders int32 `yaml:"min_readers"`
	// Owner is the value of the ownership tag (scaled.dev/owner) on the
	// readers scaled creates; only those are ever deleted. Default: the
	// scaler's name. Keep it when renaming a scaler.
	Owner string `yaml:"owner"`
	// Tags are added to every reader scaled creates.
	Tags map[string]string `yaml:"tags"`
	// Endpoint overrides the service endpoint (a VPC endpoint, a test emulator).
	Endpoint string `yaml:"endpoint"`
}

// LambdaOptions shape a Lambda target; inlined in LambdaTarget.
type LambdaOptions struct {
	// UnreservedMargin is the account concurrency left unreserved for every
	// other function: a request is clamped to the account's unreserved
	// concurrency plus this target's own, minus the margin. Default 100, the
	// least Lambda itself keeps on most accounts; an account with a low
	// concurrency quota keeps 10, and may set 10 here.
	UnreservedMargin *int32 `yaml:"unreserved_margin"`
	// Endpoint overrides the service endpoint (a VPC endpoint, a test emulator).
	Endpoint string `yaml:"endpoint"`
}

// AWS limits and defaults.
const (
	MaxAuroraReaders        = 15 // readers per Aurora cluster
	MaxRDSReplicas          = 15 // read replicas per RDS source instance
	DefaultUnreservedMargin = 100
	MinUnreservedMargin     = 10 // what Lambda keeps unreserved on a low-quota account
	DefaultAuroraName       = "{cluster}-scaled-{index}"
	DefaultRDSName          = "{source}-scaled-{index}"
)

// Guard defaults of the AWS target kinds. A new reader takes about ten
// minutes to serve and provisioned concurrency about one and a half, so
// reacting at pod speed buys little but churn and cost: these defaults wait
// out a blip before scaling out, add at most what one creation delay can
// absorb, and give capacity back slowly.
const (
	// Aurora and RDS readers.
	ReplicaScaleUpWindow   = 60 * time.Second
	ReplicaScaleUpPods     = 2
	ReplicaScaleUpPeriod   = 600 * time.Second
	ReplicaScaleDownWindow = 1800 * time.Second
	ReplicaScaleDownPods   = 1
	ReplicaScaleDownPeriod = 600 * time.Second
	// Lambda provisioned concurrency.
	LambdaScaleUpWindow    = 0 * time.Second
	LambdaScaleUpPercent   = 100
	LambdaScaleUpPeriod    = 60 * time.Second
	LambdaScaleDownWindow  = 600 * time.Second
	LambdaScaleDownPercent = 10
	LambdaScaleDownPeriod  = 60 * time.Second
)

// Startup delays of the AWS target kinds: a new Aurora reader or RDS read
// replica serves after about ten minutes, a provisioned-concurrency
// allocation after about one and a half.
const (
	ReplicaStartupDelay = 10 * time.Minute
	LambdaStartupDelay  = 90 * time.Second
)

// KindStartupDelay is the startup delay a target kind is known to have, 0
// when it is not known (kubernetes and log: it depends on the workload).
func KindStartupDelay(kind string) time.Duration {
	switch kind {
	case "aurora", "rds":
		return ReplicaStartupDelay
	case "lambda":
		return LambdaStartupDelay
	}
	return 0
}

// PlannedStartupDelay is the startup delay s plans for: its own, else its
// target kind's; 0 when neither is known.
func (s *Scaler) PlannedStartupDelay() time.Duration {
	if s.StartupDelay > 0 {
		return s.StartupDelay
	}
	return KindStartupDelay(s.Target.Kind)
}

// KindScaleUp returns the default scale-up rules of a target kind: the HPA's
// for log and kubernetes, slower ones for aurora, rds and lambda.
func KindScaleUp(kind string) *ScalingRules {
	tol := DefaultTolerance
	switch kind {
	case "aurora", "rds":
		w := ReplicaScaleUpWindow
		return &ScalingRules{StabilizationWindow: &w, SelectPolicy: "Max", Tolerance: &tol,
			Policies: []RatePolicy{{Type: "Pods", Value: ReplicaScaleUpPods, Period: ReplicaScaleUpPeriod}}}
	case "lambda":
		w := LambdaScaleUpWindow
		return &ScalingRules{StabilizationWindow: &w, SelectPolicy: "Max", Tolerance: &tol,
			Policies: []RatePolicy{{Type: "Percent", Value: LambdaScaleUpPercent, Period: LambdaScaleUpPeriod}}}
	}
	return DefaultScaleUp()
}

// KindScaleDown returns the default scale-down rules of a target kind.
func KindScaleDown(kind string) *ScalingRules {
	tol := DefaultTolerance
	switch kind {
	case "aurora", "rds":
		w := ReplicaScaleDownWindow
		return &ScalingRules{StabilizationWindow: &w, SelectPolicy: "Max", Tolerance: &tol,
			Policies: []RatePolicy{{Type: "Pods", Value: ReplicaScaleDownPods, Period: ReplicaScaleDownPeriod}}}
	case "lambda":
		w := LambdaScaleDownWindow
		return &ScalingRules{StabilizationWindow: &w, SelectPolicy: "Max", Tolerance: &tol,
			Policies: []RatePolicy{{Type: "Percent", Value: LambdaScaleDownPercent, Period: LambdaScaleDownPeriod}}}
	}
	return DefaultScaleDown()
}

// applyAWSDefaults fills an AWS target's options and, field by field, the
// behaviour the file left unset with the kind's defaults. It runs before the
// HPA defaults, which then find nothing left to fill.
func applyAWSDefaults(s *Scaler) {
	switch s.Target.Kind {
	case "aurora", "rds", "lambda":
	default:
		return
	}
	if a := s.Target.Aurora; a != nil {
		fillReplicaOptions(&a.ReplicaOptions, DefaultAuroraName, s.Name)
	}
	if r := s.Target.RDS; r != nil {
		fillReplicaOptions(&r.ReplicaOptions, DefaultRDSName, s.Name)
	}
	if l := s.Target.Lambda; l != nil && l.UnreservedMargin == nil {
		m := int32(DefaultUnreservedMargin)
		l.UnreservedMargin = &m
	}
	s.Behavior.ScaleUp = fillRules(s.Behavior.ScaleUp, KindScaleUp(s.Target.Kind))
	s.Behavior.ScaleDown = fillRules(s.Behavior.ScaleDown, KindScaleDown(s.Target.Kind))
}

func fillReplicaOptions(o *ReplicaOptions, name, scaler string) {
	if o.NameTemplate == "" {
		o.NameTemplate = name
	}
	if o.Owner == "" {
		o.Owner = scaler
	}
}

// DB instance identifiers: 1 to 63 letters, digits or hyphens, starting with
// a letter, no two hyphens in a row, not ending with one.
var dbIdentifierRE = regexp.MustCompile(`^[a-zA-Z](?:[a-zA-Z0-9]|-[a-zA-Z0-9])*$`)

// RenderName fills a name template.
func RenderName(template, parent, scaler string, index int) string {
	return strings.NewReplacer("{cluster}", parent, "{source}", parent, "{scaler}", scaler,
		"{index}", fmt.Sprint(index)).Replace(template)
}

func validateAWSTarget(p *problems, path string, t *Target, scaler string) {
	if a := t.Aurora; a != nil {
		validateReplicaOptions(p, path+".aurora", &a.ReplicaOptions, a.ClusterIdentifier, scaler, MaxAuroraReaders)
	}
	if r := t.RDS; r != nil {
		validateReplicaOptions(p, path+".rds", &r.ReplicaOptions, r.SourceInstance, scaler, MaxRDSReplicas)
	}
	if l := t.Lambda; l != nil && l.UnreservedMargin != nil && *l.UnreservedMargin < MinUnreservedMargin {
		p.add(path+".lambda.unreserved_margin", *l.UnreservedMargin,
			"must be >= %d: Lambda keeps at least that much unreserved (%d on most accounts) and refuses more", MinUnreservedMargin, DefaultUnreservedMargin)
	}
}

func validateReplicaOptions(p *problems, path string, o *ReplicaOptions, parent, scaler string, max int32) {
	// Empty fields take their defaults (ApplyDefaults, or the target's constructor).
	switch {
	case o.NameTemplate == "":
	case !strings.Contains(o.NameTemplate, "{index}"):
		p.add(path+".name_template", o.NameTemplate, "must contain {index}")
	default:
		// The longest name it can make must be a valid DB instance identifier.
		if n := RenderName(o.NameTemplate, parent, scaler, int(max)); len(n) > 63 || !dbIdentifierRE.MatchString(n) {
			p.add(path+".name_template", o.NameTemplate,
				"makes %q: a DB instance identifier is 1 to 63 letters, digits or hyphens, starts with a letter, has no two hyphens in a row and does not end with one", n)
		}
	}
	if o.MinReaders < 0 || o.MinReaders > max {
		p.add(path+".min_readers", o.MinReaders, "must be in 0..%d", max)
	}
	for k := range o.Tags {
		if strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "scaled.dev/") {
			p.add(path+".tags", k, "keys starting with aws: or scaled.dev/ are reserved")
		}
	}
}
