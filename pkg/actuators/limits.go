package actuators

import (
	"context"
	"fmt"
)

// StatusReporter is implemented by targets whose state is more than a
// number: a Lambda provisioned-concurrency config that is IN_PROGRESS or
// FAILED, readers being created. The loop asks after each Read and puts a
// non-empty status in the decision (Decision.Error, prefixed "target: "), so
// that a person reading the decision sees it.
//
// Status describes the target as of the last Read or Set and returns "" when
// there is nothing to say (all ready). It must be cheap and must not do I/O.
type StatusReporter interface {
	Status() string
}

// PauseRecorder is implemented by targets that record on the object when
// scaled starts or stops leaving it alone because it asked to be
// (scaling.Pause): why is the reason it is paused, "" when it resumes.
// Called once per change, from the scaler's tick.
type PauseRecorder interface {
	PauseChanged(ctx context.Context, why string)
}

// LimitedError is returned by Set when the target took less than was asked,
// because of a limit the policy does not know: an account's unreserved
// concurrency, 15 readers per cluster, readers scaled may not delete. Set
// HAS changed the target to Got (which may equal the capacity it had): the
// loop records the decision as applied with Got as the desired capacity,
// adds an adjustment saying why, and keeps the message in Decision.Error.
type LimitedError struct {
	Asked, Got int32
	Reason     string // what limited it, for a person
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("limited to %d of %d: %s", e.Got, e.Asked, e.Reason)
}
