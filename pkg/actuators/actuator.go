package actuators

import (
	"context"

	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Actuator reads and sets the capacity of one target.
//
// Read returns the capacity now. Set asks for capacity n; reason is the
// decision's explanation, for targets that record it (Kubernetes Events).
// Both honour ctx cancellation. Set must be idempotent: setting the capacity
// the target already has is a no-op, not an error.
type Actuator interface {
	Read(ctx context.Context) (scaling.Capacity, error)
	Set(ctx context.Context, n int32, reason string) error
}
