package actuators

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Tags on every reader scaled creates. Only a reader whose owner tag holds
// the target's owner is ever deleted.
const (
	TagOwner     = "scaled.dev/owner"
	TagManagedBy = "scaled.dev/managed-by"
)

// replica is one reader (Aurora) or read replica (RDS) as listed.
type replica struct {
	ID      string
	Status  string    // the DB instance status: creating, available, deleting, ...
	Owned   bool      // carries this target's owner tag
	Created time.Time // zero while it is being created
	AZ      string
}

// replicaState is a target as one list call found it.
type replicaState struct {
	Readers []replica // never the writer or the source
	Taken   map[string]bool
	Zones   []string       // to spread new readers over
	InZone  map[string]int // instances per zone, the writer or source included
}

// replicaBackend is what differs between Aurora readers and RDS replicas.
type replicaBackend interface {
	list(ctx context.Context) (*replicaState, error)
	// create asks for a new reader named id in az ("" lets AWS choose).
	create(ctx context.Context, id, az string, tags map[string]string) error
	remove(ctx context.Context, id string) error
	// owned reports whether the instance id carries owner, after a create
	// that AWS answered with DBInstanceAlreadyExists.
	owned(ctx context.Context, id string) (bool, error)
}

// replicaSet counts and changes readers the same way for both kinds:
// creating ones count as coming, deleting ones as gone; scale-out picks
// deterministic names and the emptiest zone; scale-in deletes only owned,
// available readers, newest first.
type replicaSet struct {
	backend replicaBackend
	kind    string // aurora, rds
	parent  string // cluster or source identifier
	opt     config.ReplicaOptions
	max     int32
	o       AWSOptions

	mu     sync.Mutex
	status string
}

// newReplicaSet fills the options' defaults (owner: the scaler; the kind's
// name template), makes the RDS client (at opt.Endpoint if set) and hands
// both to newBackend. It makes no call.
func newReplicaSet(kind, parent, defaultName string, max int32, opt config.ReplicaOptions, o AWSOptions,
	newBackend func(*rds.Client, config.ReplicaOptions) replicaBackend) replicaSet {
	o.fill()
	if opt.Owner == "" {
		opt.Owner = o.Scaler
	}
	if opt.NameTemplate == "" {
		opt.NameTemplate = defaultName
	}
	client := rds.NewFromConfig(o.Config, func(ro *rds.Options) {
		if opt.Endpoint != "" {
			ro.BaseEndpoint = aws.String(opt.Endpoint)
		}
	})
	o.Metrics.start(o.Scaler)
	return replicaSet{backend: newBackend(client, opt), kind: kind, parent: parent, opt: opt, max: max, o: o}
}

func (r *replicaSet) Read(ctx context.Context) (scaling.Capacity, error) {
	st, err := r.backend.list(ctx)
	if err != nil {
		return scaling.Capacity{}, r.o.Metrics.count(r.o.Scaler, err)
	}
	c := r.capacity(st)
	r.setStatus(st)
	return c, nil
}

func (r *replicaSet) capacity(st *replicaState) scaling.Capacity {
	var c scaling.Capacity
	for _, x := range st.Readers {
		if going(x.Status) {
			continue
		}
		c.Current++
		if x.Status == "available" {
			c.Ready++
		}
	}
	return c
}

func going(status string) bool { return status == "deleting" || status == "deleted" }

func (r *replicaSet) setStatus(st *replicaState) {
	counts := map[string]int{}
	notReady := false
	for _, x := range st.Readers {
		counts[x.Status]++
		notReady = notReady || x.Status != "available"
	}
	s := ""
	if notReady {
		var parts []string
		for _, k := range sortedStatus(counts) {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
		s = "readers " + strings.Join(parts, ", ")
	}
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

func sortedStatus(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Status lists the readers that are not available, by status.
func (r *replicaSet) Status() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Set re-reads the target and creates or deletes readers to reach n. It is
// idempotent across restarts: names are the lowest free ones of the
// template, and readers being created already count.
func (r *replicaSet) Set(ctx context.Context, n int32, reason string) error {
	st, err := r.backend.list(ctx)
	if err != nil {
		return r.o.Metrics.count(r.o.Scaler, err)
	}
	r.setStatus(st)
	cur := r.capacity(st).Current
	want, why := n, ""
	switch {
	case n > r.max:
		want, why = r.max, fmt.Sprintf("%s allows at most %d readers", r.kind, r.max)
	case n < r.opt.MinReaders:
		want, why = r.opt.MinReaders, fmt.Sprintf("min_readers is %d", r.opt.MinReaders)
	}
	switch {
	case want > cur:
		err = r.scaleOut(ctx, st, int(want-cur), reason)
	case want < cur:
		var got int32
		got, err = r.scaleIn(ctx, st, cur, want, reason)
		if err == nil && got != want {
			want, why = got, r.keptReason(st)
		}
	}
	if err != nil {
		return r.o.Metrics.count(r.o.Scaler, err)
	}
	if want != n {
		return &LimitedError{Asked: n, Got: want, Reason: why}
	}
	return nil
}

func (r *replicaSet) scaleOut(ctx context.Context, st *replicaState, k int, reason string) error {
	tags := map[string]string{TagOwner: r.opt.Owner, TagManagedBy: "scaled"}
	for key, v := range r.opt.Tags {
		tags[key] = v
	}
	for i := 0; i < k; i++ {
		id := r.freeName(st)
		az := pickZone(st)
		err := r.backend.create(ctx, id, az, tags)
		if AWSErrorCode(err) == "DBInstanceAlreadyExists" {
			// An earlier attempt whose answer was lost, or a stranger's name.
			own, oerr := r.backend.owned(ctx, id)
			switch {
			case oerr != nil:
				return oerr
			case own:
				err = nil
			default:
				return fmt.Errorf("reader name %q is taken by an instance scaled did not create; change name_template: %w", id, err)
			}
		}
		if err != nil {
			return err
		}
		st.Taken[id] = true
		if az != "" {
			st.InZone[az]++
		}
		r.o.Logger.Info("reader created", zap.String("instance", id), zap.String("zone", az), zap.String("reason", reason))
	}
	return nil
}

// freeName is the template with the lowest index whose name is not taken.
func (r *replicaSet) freeName(st *replicaState) string {
	for i := 1; ; i++ {
		id := strings.ToLower(config.RenderName(r.opt.NameTemplate, r.parent, r.o.Scaler, i))
		if !st.Taken[id] {
			return id
		}
	}
}

// pickZone is the zone with the fewest instances, the first listed on a tie.
func pickZone(st *replicaState) string {
	best := ""
	for _, z := range st.Zones {
		if best == "" || st.InZone[z] < st.InZone[best] {
			best = z
		}
	}
	return best
}

// scaleIn deletes owned, available readers, newest first, and returns the
// count it reaches.
func (r *replicaSet) scaleIn(ctx context.Context, st *replicaState, cur, want int32, reason string) (int32, error) {
	var cand []replica
	for _, x := range st.Readers {
		if x.Owned && x.Status == "available" {
			cand = append(cand, x)
		}
	}
	sort.Slice(cand, func(i, j int) bool {
		if !cand[i].Created.Equal(cand[j].Created) {
			return cand[i].Created.After(cand[j].Created)
		}
		return cand[i].ID > cand[j].ID
	})
	for _, x := range cand {
		if cur == want {
			break
		}
		if err := r.backend.remove(ctx, x.ID); err != nil {
			return cur, err
		}
		cur--
		r.o.Logger.Info("reader deleted", zap.String("instance", x.ID), zap.String("reason", reason))
	}
	return cur, nil
}

func (r *replicaSet) keptReason(st *replicaState) string {
	foreign, busy := 0, 0
	for _, x := range st.Readers {
		switch {
		case going(x.Status):
		case !x.Owned:
			foreign++
		case x.Status != "available":
			busy++
		}
	}
	var parts []string
	if foreign > 0 {
		parts = append(parts, fmt.Sprintf("%d readers scaled did not create are never deleted", foreign))
	}
	if busy > 0 {
		parts = append(parts, fmt.Sprintf("%d readers scaled created are not available yet and cannot be deleted", busy))
	}
	if len(parts) == 0 {
		return "no deletable reader left"
	}
	return strings.Join(parts, "; ")
}

// ownedBy reports whether tags carry owner.
func ownedBy(owner string, key, value *string) bool {
	return key != nil && value != nil && *key == TagOwner && *value == owner
}

var errNoWriter = errors.New("the cluster has no writer to copy the engine and class from")
