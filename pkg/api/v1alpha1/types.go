package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/scaled-dev/scaled/pkg/config"
)

// The Scaler object's group, version, kind and resource.
const (
	Group    = "scaled.dev"
	Version  = "v1alpha1"
	Kind     = "Scaler"
	Resource = "scalers"
)

// APIVersion is the Scaler object's apiVersion.
const APIVersion = Group + "/" + Version

// GroupVersionResource is what clients list and watch.
var GroupVersionResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: Resource}

// Scaler sizes one workload of its namespace from signals, as a scaler of
// scaled's config file does; scaled writes what it decided in its status.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=scaled
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.status.target`,description="What is scaled"
// +kubebuilder:printcolumn:name="Min",type=integer,JSONPath=`.spec.bounds.min`
// +kubebuilder:printcolumn:name="Max",type=integer,JSONPath=`.spec.bounds.max`
// +kubebuilder:printcolumn:name="Current",type=integer,JSONPath=`.status.current`,description="Capacity the target is asked to have"
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desired`,description="Capacity scaled decided"
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.ready`,description="Capacity that serves"
// +kubebuilder:printcolumn:name="Last",type=string,JSONPath=`.status.lastDecision.outcome`,description="Outcome of the last decision"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Scaler struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is one scaler, exactly as a scaler of scaled's config file is
	// written, without its name: the object's name is the scaler's. Its
	// keys are the file's (snake_case).
	Spec config.Scaler `json:"spec"`
	// Status is what scaled last decided, written by scaled.
	Status ScalerStatus `json:"status,omitempty"`
}

// ScalerStatus is what scaled decided for a Scaler, and why.
type ScalerStatus struct {
	// ObservedGeneration is the generation of the spec this status
	// describes. When it is behind metadata.generation, scaled has not
	// taken the latest spec in yet.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Target names what is scaled: Deployment/web, aurora/orders-db.
	Target string `json:"target,omitempty"`
	// Current is the capacity the target is asked to have (a Deployment's
	// spec.replicas).
	Current *int32 `json:"current,omitempty"`
	// Desired is the capacity scaled decided last.
	Desired *int32 `json:"desired,omitempty"`
	// Ready is the part of current that serves.
	Ready *int32 `json:"ready,omitempty"`
	// LastDecision is the last decision written here: a decision that
	// changes nothing shown is written at most every status refresh.
	LastDecision *LastDecision `json:"lastDecision,omitempty"`
	// Signals are the last value of each signal, or why it failed.
	// +listType=map
	// +listMapKey=name
	Signals []SignalStatus `json:"signals,omitempty"`
	// Conditions: Ready (the spec is valid and the target found), Active
	// (scaled acts on the target), Limited (bounds, a schedule, a rate
	// limit or the target held the decision back), SignalFailing.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// LastDecision is one decision, in short.
type LastDecision struct {
	// Time of the decision.
	Time metav1.Time `json:"time"`
	// Outcome: applied, unchanged, dry_run or failed.
	Outcome string `json:"outcome"`
	// Reason says in one line what the decision did and why.
	Reason string `json:"reason,omitempty"`
}

// SignalStatus is the last reading of one signal.
type SignalStatus struct {
	// Name of the signal.
	Name string `json:"name"`
	// Value read, to four significant digits.
	Value string `json:"value,omitempty"`
	// Failed names why the signal could not be used (empty, stale,
	// query_error, ...); a failed signal never scales in.
	Failed string `json:"failed,omitempty"`
}

// Condition types.
const (
	ConditionReady         = "Ready"
	ConditionActive        = "Active"
	ConditionLimited       = "Limited"
	ConditionSignalFailing = "SignalFailing"
)

// Condition reasons.
const (
	// Ready.
	ReasonTargetFound    = "TargetFound"
	ReasonInvalidSpec    = "InvalidSpec"
	ReasonTargetNotFound = "TargetNotFound"
	ReasonTargetFailed   = "TargetFailed"
	ReasonNotStarted     = "NotStarted"
	ReasonWaiting        = "WaitingForDecision"
	// Active.
	ReasonActing = "Acting"
	ReasonDryRun = "DryRun"
	// ReasonPaused: the target asked to be left alone (0 replicas while
	// bounds.min is above 0, or a scaled.dev/paused annotation).
	ReasonPaused = "Paused"
	// Limited: the guard that held the last decision, or none.
	ReasonWithinLimits = "WithinLimits"
	// SignalFailing: the failure kind of the first failed signal, in
	// CamelCase (QueryError, Empty, Stale, ...), or none.
	ReasonSignalsOK = "SignalsOK"
)

// Key is what scaled knows a Scaler object by: namespace/name, which no
// scaler of the config file can be called.
func Key(namespace, name string) string { return namespace + "/" + name }
