package leader

import (
	"errors"
	"strconv"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// newClient is a fake clientset that, like the API server, gives every
// written Lease a new resourceVersion and refuses an update that carries an
// old one (409 Conflict). client-go's fake checks neither, and without the
// check two electors could both take one Lease. Reactors run under the
// fake's lock, so the check and the write are one step.
func newClient() *fake.Clientset {
	c := fake.NewClientset()
	version := 0
	c.PrependReactor("*", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		var l *coordinationv1.Lease
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			l = a.GetObject().(*coordinationv1.Lease)
		case k8stesting.UpdateActionImpl:
			l = a.GetObject().(*coordinationv1.Lease)
			cur, err := c.Tracker().Get(a.GetResource(), a.GetNamespace(), l.Name)
			if err == nil && cur.(*coordinationv1.Lease).ResourceVersion != l.ResourceVersion {
				return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), l.Name, errors.New("the object has been modified"))
			}
		default:
			return false, nil, nil
		}
		version++
		l.ResourceVersion = strconv.Itoa(version)
		return false, nil, nil
	})
	return c
}
