package actuators

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/scaled-dev/scaled/internal/durfmt"
	"github.com/scaled-dev/scaled/pkg/scaling"
)

// Tags on every reader scaled creates. Only a reader whose owner tag holds
// the target's owner is ever deleted.
const (
	TagOwner     = "scaled.dev/owner"
	TagManagedBy = "scaled.dev/managed-by"
	// TagDeleting is set (to the time, RFC 3339) on a reader just before
	// scaled deletes it, so that a restarted process counts it as going
	// while AWS still lists it as available. It counts for deleteMemory
	// only: a deletion that did not happen is asked again after that.
	TagDeleting = "scaled.dev/deleting"
)

// deleteMemory bounds how long a deletion tag counts: longer than AWS
// lists a deleted reader before "deleting" shows.
const deleteMemory = 30 * time.Minute

// How long scaled remembers what it asked of AWS when a listing does not
// show it yet: a zone that refused an instance class is skipped for
// zoneCooldown, and a creation AWS accepted counts as coming for
// createMemory even if DescribeDBInstances does not list it yet.
const (
	zoneCooldown = 30 * time.Minute
	createMemory = 30 * time.Minute
)

// readerClass is what a reader's status means to the count. The statuses
// are those of the RDS User Guide ("Viewing DB instance status");
// terraform-provider-aws's waitDBClusterInstanceDeleted treats
// configuring-log-exports, delete-precheck, deleting and modifying as "not
// gone yet" after a delete, and its waitDBInstanceAvailable takes
// storage-optimization as a target state.
type readerClass int

const (
	readerComing   readerClass = iota // being created: counts, not ready yet
	readerServing                     // counts, and serves: ready
	readerUnready                     // counts, does not serve now (rebooting, upgrading...), comes back by itself
	readerImpaired                    // does not serve until someone acts: not counted, replaced, kept
	readerDead                        // will not serve again: not counted, replaced, and deleted if scaled's
	readerGoing                       // being deleted: not counted
)

var readerClasses = map[string]readerClass{
	"creating": readerComing,
	// Modifications, backups and configuration changes leave the engine
	// running; the User Guide calls storage-optimization "fully operational".
	"available": readerServing, "backing-up": readerServing, "modifying": readerServing, "storage-optimization": readerServing,
	"configuring-enhanced-monitoring": readerServing, "configuring-iam-database-auth": readerServing, "configuring-log-exports": readerServing,
	"inaccessible-encryption-credentials-recoverable": readerImpaired, "storage-full": readerImpaired, "stopped": readerImpaired,
	"failed": readerDead, "incompatible-parameters": readerDead, "incompatible-network": readerDead,
	"incompatible-option-group": readerDead, "incompatible-restore": readerDead, "incompatible-create": readerDead,
	"inaccessible-encryption-credentials": readerDead, "restore-error": readerDead, "insufficient-capacity": readerDead,
	"deleting": readerGoing, "delete-precheck": readerGoing,
	// Anything else (rebooting, upgrading, maintenance, starting, renaming,
	// a status added after this list) counts without serving: it neither
	// triggers a second reader nor makes room for a deletion.
}

func classOf(status string) readerClass {
	if c, ok := readerClasses[status]; ok {
		return c
	}
	return readerUnready
}

// replica is one reader (Aurora) or read replica (RDS) as listed.
type replica struct {
	ID      string
	ARN     string
	Status  string    // the DB instance status: creating, available, deleting, ...
	Owned   bool      // carries this target's owner tag
	Created time.Time // zero while it is being created
	AZ      string
	Tier    int32     // Aurora promotion tier (0 is promoted first)
	Marked  time.Time // scaled's deletion tag, when it carries one
	Class   string    // instance class, for the promotion order
	asked   bool      // scaled asked to delete it and it is still listed
}

// class is the reader's class, a deletion scaled asked for included.
func (x replica) class() readerClass {
	if x.asked {
		return readerGoing
	}
	return classOf(x.Status)
}

// replicaState is a target as one list call found it.
type replicaState struct {
	Readers []replica // never the writer or the source; going and dead ones included
	Taken   map[string]bool
	Zones   []string       // to spread new readers over
	InZone  map[string]int // instances per zone, the writer or source included
	Writers []string       // Aurora: the members DescribeDBClusters marks as writer
	// Unsettled (Aurora) says the listing shows a failover: the cluster is
	// failing-over, or has not exactly one writer.
	Unsettled bool
	// Uncountable says why the readers cannot be told apart from the writer
	// (Read fails); Hold why none may be created or deleted now (Set fails).
	Uncountable, Hold string
	// Refused (Aurora) says why the kind does not scale this cluster as it
	// is now (a global database's secondary): Read and Set fail as an
	// invalid request rather than a passing state.
	Refused string
	Notes   []string // more for Status, e.g. a setting AWS does not accept
	// Max is the engine's own ceiling when it is below the kind's (RDS:
	// Oracle and SQL Server 5, Db2 3); 0 keeps the kind's.
	Max    int32
	MaxWhy string
}

// holdKind is the kind of error a Read or Set that cannot act fails with:
// invalid_request for a cluster the kind refuses, invalid_state otherwise.
func (st *replicaState) holdKind() string {
	if st.Refused != "" {
		return AWSInvalidRequest
	}
	return AWSInvalidState
}

// replicaBackend is what differs between Aurora readers and RDS replicas.
type replicaBackend interface {
	list(ctx context.Context) (*replicaState, error)
	// create asks for a new reader named id in az ("" lets AWS choose).
	create(ctx context.Context, id, az string, tags map[string]string) error
	remove(ctx context.Context, id string) error
	// mark tags reader arn as being deleted by owner (TagDeleting), before remove.
	mark(ctx context.Context, arn string, tags map[string]string) error
	// owned reports whether the instance id carries owner, after a create
	// that AWS answered with DBInstanceAlreadyExists.
	owned(ctx context.Context, id string) (bool, error)
	// lastFailover is the time of the latest failover event since since
	// (zero: none); failovers reports whether the kind has any (Aurora).
	lastFailover(ctx context.Context, since time.Time) (time.Time, error)
	failovers() bool
}

// replicaSet counts and changes readers the same way for both kinds:
// creating ones count as coming, deleting ones (and those scaled asked to
// delete) as gone, dead ones are replaced; scale-out picks deterministic
// names and the emptiest zone that has room; scale-in deletes only owned,
// available readers, newest first, never a writer, never below what serves.
type replicaSet struct {
	backend replicaBackend
	kind    string // aurora, rds
	parent  string // cluster or source identifier
	opt     ReplicaOptions
	max     int32
	o       AWSOptions

	// op serialises Read and Set, which keep what this target asked of AWS.
	op       sync.Mutex
	deletes  map[string]time.Time // asked to delete, until no longer listed
	creates  map[string]pendingCreate
	badZones map[string]time.Time // zone -> skipped until

	// Writer safety (Aurora): a listing can name a writer that is no longer
	// the writer, and miss the one that is.
	memory     time.Duration        // writer_memory
	writerSeen map[string]time.Time // instance -> last seen as the writer
	lastWriter string               // the writer of the last settled listing
	quietUntil time.Time            // no deletion before
	quietWhy   string

	// Readers scaled created that died of their settings: no creation
	// before createHold, the wait doubling with each death.
	diedOf      map[string]string // reader -> status, counted once
	served      map[string]bool   // readers seen serving: a later death is not of their settings
	createHold  time.Time
	createWhy   string
	holdBackoff time.Duration

	mu     sync.Mutex
	status string
}

type pendingCreate struct {
	at time.Time
	az string
}

// newReplicaSet fills the options' defaults (owner: the scaler; the kind's
// name template), takes the region's RDS client and listing (at
// opt.Endpoint if set) and hands them to newBackend. It makes no call.
// Aurora and RDS are a replicaSet each.
var (
	_ Actuator       = (*replicaSet)(nil)
	_ StatusReporter = (*replicaSet)(nil)
)

func newReplicaSet(k replicaKind, parent string, opt ReplicaOptions, o AWSOptions, newBackend func(rdsInstances) replicaBackend) replicaSet {
	o.fill()
	if opt.Owner == "" {
		opt.Owner = o.Scaler
	}
	if opt.NameTemplate == "" {
		opt.NameTemplate = k.defaultName
	}
	region := o.Region
	if region == nil {
		region = privateRegion(o.Config, o.Clock)
	}
	memory := opt.WriterMemory
	if memory == 0 {
		memory = DefaultWriterMemory
	}
	core := rdsInstances{client: region.rdsClient(opt.Endpoint), reads: region.listing(opt.Endpoint), parent: parent, opt: opt}
	return replicaSet{backend: newBackend(core), kind: string(k.kind), parent: parent, opt: opt, max: k.max, o: o,
		deletes: map[string]time.Time{}, creates: map[string]pendingCreate{}, badZones: map[string]time.Time{},
		memory: memory, writerSeen: map[string]time.Time{}, diedOf: map[string]string{}, served: map[string]bool{}}
}

func (r *replicaSet) Read(ctx context.Context) (scaling.Capacity, error) {
	r.op.Lock()
	defer r.op.Unlock()
	st, err := r.list(ctx)
	if err != nil {
		return scaling.Capacity{}, err
	}
	if st.Uncountable != "" {
		return scaling.Capacity{}, &AWSError{Kind: st.holdKind(), Op: "DescribeDBClusters", Err: errors.New(st.Uncountable)}
	}
	return r.capacity(st), nil
}

// list lists the target and applies what scaled remembers asking: readers
// it asked to delete are going while listed, readers it created and AWS
// does not list yet are coming.
func (r *replicaSet) list(ctx context.Context) (*replicaState, error) {
	st, err := r.backend.list(ctx)
	if err != nil {
		return nil, err
	}
	now := r.o.Clock.Now()
	r.observeWriters(st, now)
	r.observeDeaths(st, now)
	for i := range st.Readers {
		x := &st.Readers[i]
		_, x.asked = r.deletes[x.ID]
		// A deletion asked by an earlier process, or whose answer was lost.
		x.asked = x.asked || (x.Owned && !x.Marked.IsZero() && now.Sub(x.Marked) < deleteMemory)
	}
	for id := range r.deletes {
		if !st.Taken[id] {
			delete(r.deletes, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.creates)) {
		p := r.creates[id]
		if st.Taken[id] || now.Sub(p.at) > createMemory {
			delete(r.creates, id)
			continue
		}
		st.Readers = append(st.Readers, replica{ID: id, Status: "creating", Owned: true, AZ: p.az})
		st.Taken[id] = true
		if p.az != "" {
			st.InZone[p.az]++
		}
	}
	r.setStatus(st)
	return st, nil
}

func (r *replicaSet) capacity(st *replicaState) scaling.Capacity {
	var c scaling.Capacity
	for _, x := range st.Readers {
		switch x.class() {
		case readerServing:
			c.Ready++
			c.Current++
		case readerComing, readerUnready:
			c.Current++
		}
	}
	return c
}

func (r *replicaSet) setStatus(st *replicaState) {
	counts := map[string]int{}
	notReady := false
	dead, impaired := 0, 0
	for _, x := range st.Readers {
		label := x.Status
		if x.asked && classOf(x.Status) != readerGoing {
			label += " (deletion asked)"
		}
		counts[label]++
		notReady = notReady || label != "available"
		switch x.class() {
		case readerDead:
			dead++
		case readerImpaired:
			impaired++
		}
	}
	var parts []string
	if notReady {
		var c []string
		for _, k := range slices.Sorted(maps.Keys(counts)) {
			c = append(c, fmt.Sprintf("%d %s", counts[k], k))
		}
		parts = append(parts, "readers "+strings.Join(c, ", "))
	}
	if dead > 0 {
		parts = append(parts, fmt.Sprintf("%d readers will not serve again: not counted, replaced, and deleted at the next change if scaled created them", dead))
	}
	if impaired > 0 {
		parts = append(parts, fmt.Sprintf("%d readers do not serve until someone acts on them: not counted, replaced, kept", impaired))
	}
	if st.Hold != "" {
		parts = append(parts, st.Hold)
	}
	parts = append(parts, st.Notes...)
	r.mu.Lock()
	r.status = strings.Join(parts, "; ")
	r.mu.Unlock()
}

// Status lists the readers that are not available, by status, and says why
// the target holds or what it does not apply.
func (r *replicaSet) Status() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// observeWriters remembers every writer a listing names for writer_memory,
// and starts a quiet period (no deletion) when the listing shows a
// failover: the cluster failing-over, not exactly one writer, or a writer
// other than the last one.
func (r *replicaSet) observeWriters(st *replicaState, now time.Time) {
	for _, w := range st.Writers {
		r.writerSeen[w] = now
	}
	for id, at := range r.writerSeen {
		if now.Sub(at) > r.memory {
			delete(r.writerSeen, id)
		}
	}
	switch {
	case st.Unsettled:
		r.quiet(now, now, fmt.Sprintf("cluster %s was seen failing over", r.parent))
	case len(st.Writers) == 1 && r.lastWriter != "" && r.lastWriter != st.Writers[0]:
		r.quiet(now, now, fmt.Sprintf("the writer of cluster %s changed from %s to %s", r.parent, r.lastWriter, st.Writers[0]))
	}
	if len(st.Writers) == 1 && !st.Unsettled {
		r.lastWriter = st.Writers[0]
	}
	if now.Before(r.quietUntil) {
		st.Notes = append(st.Notes, r.quietNote())
	}
}

// Creation backoff after a reader died of its settings.
const (
	firstCreateBackoff = 30 * time.Minute
	maxCreateBackoff   = 8 * time.Hour
)

// diesOfSettings are the statuses a new reader ends in when its own
// settings cannot work (RDS User Guide, "Viewing DB instance status":
// incompatible parameters, network, option group): a replacement with the
// same settings dies the same way.
var diesOfSettings = map[string]bool{"incompatible-parameters": true, "incompatible-network": true,
	"incompatible-option-group": true, "incompatible-create": true}

// observeDeaths holds creations back, with a doubling wait, after a reader
// scaled created died of its settings before it ever served, rather than
// replace it forever; and
// skips the zone of a reader that ended insufficient-capacity after AWS
// accepted it, as it does a zone that refused at once.
func (r *replicaSet) observeDeaths(st *replicaState, now time.Time) {
	for id := range r.served {
		if !st.Taken[id] {
			delete(r.served, id)
		}
	}
	for _, x := range st.Readers {
		if x.Owned && x.class() == readerServing && !r.served[x.ID] {
			r.served[x.ID] = true
			r.holdBackoff = 0 // a new reader serves: its settings work
		}
		if !x.Owned || r.diedOf[x.ID] == x.Status {
			continue
		}
		switch {
		case diesOfSettings[x.Status] && !r.served[x.ID]:
			r.diedOf[x.ID] = x.Status
			until := r.holdCreates(now)
			r.createWhy = fmt.Sprintf("reader %s that scaled created is %s: no reader is created before %s, as another with the same settings would end the same way; fix the settings (parameter group, subnet group, option group)",
				x.ID, x.Status, until.UTC().Format(time.RFC3339))
			r.o.Logger.Warn("reader died of its settings: creations held", zap.String("instance", x.ID), zap.String("status", x.Status),
				zap.Time("until", until))
			r.o.warn(WarningReaderDied, fmt.Sprintf("reader %s that scaled created is %s and never served: no reader is created for %s (until %s), as another with the same settings would end the same way; fix the settings (parameter group, subnet group, option group)",
				x.ID, x.Status, durfmt.D(r.holdBackoff), until.UTC().Format(time.RFC3339)))
		case x.Status == "insufficient-capacity" && x.AZ != "":
			r.diedOf[x.ID] = x.Status
			r.skipZone(x.AZ, x.Status)
		}
	}
	if now.Before(r.createHold) {
		st.Notes = append(st.Notes, "Warning: "+r.createWhy)
	}
}

// holdCreates holds creations back from now for a wait that doubles with
// each cause (a reader dead of its settings, an inaccessible KMS key), from
// firstCreateBackoff to maxCreateBackoff, and returns until when.
func (r *replicaSet) holdCreates(now time.Time) time.Time {
	r.holdBackoff = min(max(2*r.holdBackoff, firstCreateBackoff), maxCreateBackoff)
	r.createHold = now.Add(r.holdBackoff)
	return r.createHold
}

// keyNotAccessible holds creations back after AWS refused one with
// KMSKeyNotAccessibleFault: every new reader would take the same key, and
// only its owner can make it usable again (enable it, cancel its deletion,
// or grant RDS its use in the key policy).
func (r *replicaSet) keyNotAccessible(st *replicaState, err error) {
	until := r.holdCreates(r.o.Clock.Now())
	parent := "cluster " + r.parent
	if r.kind == string(KindRDS) {
		parent = "source instance " + r.parent
	}
	r.createWhy = fmt.Sprintf("the KMS key that encrypts %s is not accessible to RDS (KMSKeyNotAccessibleFault: %s): no reader is created before %s; enable the key, cancel its deletion, or grant RDS its use in the key policy",
		parent, apiMessage(err), until.UTC().Format(time.RFC3339))
	r.o.Logger.Warn("KMS key not accessible: creations held", zap.String("parent", r.parent), zap.Time("until", until), zap.Error(err))
	r.o.warn(WarningKeyNotAccessible, fmt.Sprintf("%s (wait %s)", r.createWhy, durfmt.D(r.holdBackoff)))
	st.Notes = append(st.Notes, "Warning: "+r.createWhy)
	r.setStatus(st)
}

// quiet holds every deletion until writer_memory after at.
func (r *replicaSet) quiet(now, at time.Time, why string) {
	until := at.Add(r.memory)
	if until.After(r.quietUntil) {
		if !now.Before(r.quietUntil) {
			r.o.Logger.Info("deletions held after a failover", zap.String("why", why), zap.Time("until", until))
		}
		r.quietUntil, r.quietWhy = until, why
	}
}

func (r *replicaSet) quietNote() string {
	return fmt.Sprintf("%s: no reader is deleted before %s (writer_memory %s)", r.quietWhy, r.quietUntil.UTC().Format(time.RFC3339), durfmt.D(r.memory))
}

// deletable decides, before any deletion, whether one may happen now: not
// during a quiet period, nor after a failover event AWS reports within
// writer_memory (DescribeEvents, read before every deletion: it can show a
// failover the cluster listing does not show yet). It returns why not, or
// the readers that must be kept besides the remembered writers: while a
// failover could be running unseen (the events could not be read), the
// readers Aurora would promote first (the best promotion tier, the largest
// class of that tier). After a restart the events cover what the process
// did not see.
func (r *replicaSet) deletable(ctx context.Context, st *replicaState) (keep map[string]bool, hold string) {
	keep = map[string]bool{}
	for id := range r.writerSeen {
		keep[id] = true
	}
	if !r.backend.failovers() {
		return keep, ""
	}
	now := r.o.Clock.Now()
	if now.Before(r.quietUntil) {
		return keep, r.quietNote()
	}
	last, err := r.backend.lastFailover(ctx, now.Add(-r.memory))
	switch {
	case err != nil:
		r.o.Logger.Warn("failover events not read: the readers Aurora would promote first are kept", zap.Error(err))
	case !last.IsZero():
		r.quiet(now, last, fmt.Sprintf("cluster %s reported a failover at %s", r.parent, last.UTC().Format(time.RFC3339)))
		if now.Before(r.quietUntil) {
			return keep, r.quietNote()
		}
	}
	if err != nil {
		for _, id := range promotionFirst(st.Readers) {
			keep[id] = true
		}
	}
	return keep, ""
}

// promotionFirst lists the serving readers Aurora would promote first: the
// lowest promotion tier, then the largest class of that tier ("Fault
// tolerance for an Aurora DB cluster"); AWS picks "an arbitrary replica"
// among equals, so every one of them.
func promotionFirst(readers []replica) []string {
	var out []string
	bestTier, bestSize := int32(1<<30), -2
	for _, x := range readers {
		if x.class() != readerServing {
			continue
		}
		switch sz := classSize(x.Class); {
		case x.Tier < bestTier || (x.Tier == bestTier && sz > bestSize):
			bestTier, bestSize, out = x.Tier, sz, []string{x.ID}
		case x.Tier == bestTier && sz == bestSize:
			out = append(out, x.ID)
		}
	}
	return out
}

// classSize orders instance classes by their size suffix (db.r7g.2xlarge:
// 2xlarge); -1 for one it does not know.
func classSize(class string) int {
	suffix := class[strings.LastIndex(class, ".")+1:]
	for i, s := range []string{"micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
		"12xlarge", "16xlarge", "24xlarge", "32xlarge", "48xlarge"} {
		if s == suffix {
			return i
		}
	}
	return -1
}

// Set re-reads the target and creates or deletes readers to reach n. It is
// idempotent across restarts: names are the lowest free ones of the
// template, and readers being created already count. It changes nothing
// while the target holds (an Aurora cluster that is not available or has
// not exactly one writer). Before any deletion it checks the cluster's
// failover events; it never deletes an instance seen as the writer within
// writer_memory, nor any reader during a quiet period after a failover
// (see deletable).
func (r *replicaSet) Set(ctx context.Context, n int32, reason string) error {
	r.op.Lock()
	defer r.op.Unlock()
	st, err := r.list(ctx)
	if err != nil {
		return err
	}
	if st.Hold != "" {
		// A busy cluster (backing up, modifying) still lets dead readers go,
		// as long as its listing names one writer; the next change may not
		// come once the count is right.
		if !st.Unsettled && st.Uncountable == "" && r.hasDead(st) {
			protect, _ := r.deletable(ctx, st)
			r.removeDead(ctx, st, protect, reason)
		}
		return &AWSError{Kind: st.holdKind(), Op: "DescribeDBClusters", Err: errors.New(st.Hold)}
	}
	cur := r.capacity(st).Current
	want, why := n, ""
	max, maxWhy := r.max, fmt.Sprintf("%s allows at most %d readers", r.kind, r.max)
	if st.Max > 0 && st.Max < max {
		max, maxWhy = st.Max, st.MaxWhy
	}
	switch {
	case n > max:
		want, why = max, maxWhy
	case n < r.opt.MinReaders:
		want, why = r.opt.MinReaders, fmt.Sprintf("min_readers is %d", r.opt.MinReaders)
	}
	got := cur
	switch {
	case want > cur && r.o.Clock.Now().Before(r.createHold):
		why = r.createWhy
	case want > cur:
		var made int32
		made, err = r.scaleOut(ctx, st, want-cur, max, reason)
		got = cur + made
		if err == nil && got < want {
			why = fmt.Sprintf("%s, and %d are listed (those being deleted or dead included)", maxWhy, len(st.Readers)-int(made))
		}
	case want < cur:
		protect, hold := r.deletable(ctx, st)
		if hold != "" {
			why = hold
			break
		}
		got, err = r.scaleIn(ctx, st, cur, want, protect, reason)
		if err == nil && got != want {
			why = r.keptReason(st, got, want, protect)
		}
	}
	// Dead readers go even when the change failed half-way (a zone out of
	// capacity, a throttled call): the next change may not come once the
	// count is right. A dead reader is not promoted (Aurora promotes a
	// reader that serves), so a quiet period does not hold its deletion:
	// only the remembered writers are kept.
	if r.hasDead(st) {
		protect, _ := r.deletable(ctx, st)
		r.removeDead(ctx, st, protect, reason)
	}
	if err != nil {
		return err
	}
	if got != n {
		return &LimitedError{Asked: n, Got: got, Reason: why}
	}
	return nil
}

// delete tags reader x as being deleted, then deletes it. AWS answering
// that it is already being deleted (an earlier process asked, or the
// answer to this process's request was lost and the SDK retried) is
// success, as terraform-provider-aws's resourceInstanceDelete takes it.
func (r *replicaSet) delete(ctx context.Context, x *replica) error {
	now := r.o.Clock.Now()
	if x.ARN != "" {
		if err := r.backend.mark(ctx, x.ARN, map[string]string{TagOwner: r.opt.Owner, TagDeleting: now.UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
	}
	if err := r.backend.remove(ctx, x.ID); err != nil && !alreadyDeleting(err) {
		return err
	}
	x.asked = true
	r.deletes[x.ID] = now
	return nil
}

// alreadyDeleting reports whether err is DeleteDBInstance's answer for an
// instance already being deleted.
func alreadyDeleting(err error) bool {
	return AWSErrorCode(err) == "InvalidDBInstanceState" && strings.Contains(apiMessage(err), "already being deleted")
}

func (r *replicaSet) hasDead(st *replicaState) bool {
	for _, x := range st.Readers {
		if x.class() == readerDead && x.Owned {
			return true
		}
	}
	return false
}

// removeDead deletes the dead readers scaled created, after the change it
// was asked for: they will not serve again, and each holds one of the 15
// places. A refusal is counted and logged, and does not fail the change:
// the next one tries again.
func (r *replicaSet) removeDead(ctx context.Context, st *replicaState, protect map[string]bool, reason string) {
	for i := range st.Readers {
		x := &st.Readers[i]
		if x.class() != readerDead || !x.Owned || protect[x.ID] {
			continue
		}
		if err := r.delete(ctx, x); err != nil {
			r.o.Logger.Warn("dead reader not deleted", zap.String("instance", x.ID), zap.String("status", x.Status),
				zap.Error(err))
			continue
		}
		r.o.Logger.Info("dead reader deleted", zap.String("instance", x.ID), zap.String("status", x.Status), zap.String("reason", reason))
	}
}

// scaleOut creates up to k readers, as many as the kind's limit leaves
// room for (AWS counts readers being deleted), and returns how many it made.
func (r *replicaSet) scaleOut(ctx context.Context, st *replicaState, k, max int32, reason string) (int32, error) {
	tags := map[string]string{TagOwner: r.opt.Owner, TagManagedBy: "scaled"}
	for key, v := range r.opt.Tags {
		tags[key] = v
	}
	room := max - int32(len(st.Readers))
	var made int32
	for made < min(k, room) {
		id := r.freeName(st)
		az, err := r.create(ctx, st, id, tags)
		if AWSErrorCode(err) == "KMSKeyNotAccessibleFault" {
			r.keyNotAccessible(st, err)
		}
		if err != nil {
			return made, err
		}
		st.Taken[id] = true
		st.Readers = append(st.Readers, replica{ID: id, Status: "creating", Owned: true, AZ: az})
		if az != "" {
			st.InZone[az]++
		}
		r.creates[id] = pendingCreate{at: r.o.Clock.Now(), az: az}
		made++
		r.o.Logger.Info("reader created", zap.String("instance", id), zap.String("zone", az), zap.String("reason", reason))
	}
	return made, nil
}

// create asks for reader id in the emptiest zone that has room. A zone
// without capacity is skipped for zoneCooldown and the next one tried; a
// zone that refuses the parameters gets one more try without a zone, and
// is skipped if that works (the class is not offered there); when every
// zone has refused, AWS chooses. It returns the zone asked for, "" when AWS chose.
func (r *replicaSet) create(ctx context.Context, st *replicaState, id string, tags map[string]string) (string, error) {
	tried := map[string]bool{}
	for {
		az := r.pickZone(st, tried)
		err := r.adopt(ctx, id, r.backend.create(ctx, id, az, tags))
		switch code := AWSErrorCode(err); {
		case err == nil:
			return az, nil
		case az != "" && (code == "InsufficientDBInstanceCapacity" || code == "InsufficientAvailableIPsInSubnetFault"):
			r.skipZone(az, code)
			tried[az] = true
		case az != "" && code == "InvalidParameterCombination":
			if r.adopt(ctx, id, r.backend.create(ctx, id, "", tags)) != nil {
				return az, err
			}
			r.skipZone(az, code)
			return "", nil
		default:
			return az, err
		}
	}
}

// adopt turns DBInstanceAlreadyExists on an instance scaled created (an
// earlier attempt whose answer was lost) into success.
func (r *replicaSet) adopt(ctx context.Context, id string, err error) error {
	if AWSErrorCode(err) != "DBInstanceAlreadyExists" {
		return err
	}
	own, oerr := r.backend.owned(ctx, id)
	switch {
	case AWSErrorKind(oerr) == AWSNotFound:
		// AWS says the name is taken but does not list it yet: an instance
		// created a moment ago, by this request whose answer was lost (the
		// SDK retried it). Counted as coming; the listing shows its owner
		// tag once it catches up, and only then may it ever be deleted.
		return nil
	case oerr != nil:
		return oerr
	case own:
		return nil
	}
	return fmt.Errorf("reader name %q is taken by an instance scaled did not create; change name_template: %w", id, err)
}

func (r *replicaSet) skipZone(az, code string) {
	until := r.o.Clock.Now().Add(zoneCooldown)
	r.badZones[az] = until
	r.o.Logger.Info("zone skipped", zap.String("zone", az), zap.String("code", code), zap.Time("until", until))
}

// freeName is the template with the lowest index whose name is not taken.
func (r *replicaSet) freeName(st *replicaState) string {
	for i := 1; ; i++ {
		id := strings.ToLower(RenderName(r.opt.NameTemplate, r.parent, r.o.Scaler, i))
		if !st.Taken[id] {
			return id
		}
	}
}

// pickZone is the zone with the fewest instances, the first listed on a
// tie, among those not refused lately nor tried in this creation; "" (AWS
// chooses) when none is left.
func (r *replicaSet) pickZone(st *replicaState, tried map[string]bool) string {
	now := r.o.Clock.Now()
	best := ""
	for _, z := range st.Zones {
		if tried[z] || now.Before(r.badZones[z]) {
			continue
		}
		if best == "" || st.InZone[z] < st.InZone[best] {
			best = z
		}
	}
	return best
}

// scaleIn deletes owned, available readers, newest first, never one in
// protect, and never so many that fewer than want readers serve; it returns
// the count it reaches.
func (r *replicaSet) scaleIn(ctx context.Context, st *replicaState, cur, want int32, protect map[string]bool, reason string) (int32, error) {
	var serving int32
	var cand []int
	for i, x := range st.Readers {
		if x.class() != readerServing {
			continue
		}
		serving++
		if x.Owned && x.Status == "available" && !protect[x.ID] {
			cand = append(cand, i)
		}
	}
	slices.SortFunc(cand, func(i, j int) int { // newest first
		a, b := st.Readers[i], st.Readers[j]
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(b.ID, a.ID))
	})
	for _, i := range cand {
		if cur == want || serving == want {
			break
		}
		x := &st.Readers[i]
		if err := r.delete(ctx, x); err != nil {
			return cur, err
		}
		cur--
		serving--
		r.o.Logger.Info("reader deleted", zap.String("instance", x.ID), zap.String("reason", reason))
	}
	return cur, nil
}

// keptReason says why scale-in stopped above want.
func (r *replicaSet) keptReason(st *replicaState, cur, want int32, protect map[string]bool) string {
	foreign, busy, writers, serving := 0, 0, 0, int32(0)
	notServing := map[string]int{}
	for _, x := range st.Readers {
		switch x.class() {
		case readerGoing, readerDead, readerImpaired:
			continue
		case readerServing:
			serving++
		default:
			notServing[x.Status]++
		}
		switch {
		case protect[x.ID]:
			writers++
		case !x.Owned:
			foreign++
		case x.Status != "available":
			busy++
		}
	}
	var parts []string
	if serving < cur && serving <= want {
		var c []string
		for _, k := range slices.Sorted(maps.Keys(notServing)) {
			c = append(c, fmt.Sprintf("%d %s", notServing[k], k))
		}
		parts = append(parts, fmt.Sprintf("only %d readers serve (%s): none is deleted while fewer than %d would", serving, strings.Join(c, ", "), want))
	}
	if writers > 0 {
		parts = append(parts, fmt.Sprintf("%d readers were the cluster's writer within writer_memory (%s), or are those Aurora would promote first while a failover could go unseen, and are not deleted", writers, durfmt.D(r.memory)))
	}
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

func goingStatus(status string) bool { return classOf(status) == readerGoing }
