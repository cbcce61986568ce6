package awsemu

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	DefaultCreateDelay     = 10 * time.Minute
	DefaultDeleteDelay     = 5 * time.Minute
	DefaultAllocationDelay = 90 * time.Second
	DefaultFailoverDelay   = time.Minute
	DefaultInstanceQuota   = 40 // RDS "DB instances" per account and region
	DefaultConcurrency     = 1000
	// MaxReaders is Aurora's limit of readers per cluster and RDS's of read
	// replicas per source instance.
	MaxReaders = 15
	// DefaultMinUnreserved is the concurrency Lambda keeps unreserved on most
	// accounts; accounts with a low concurrency quota see 10 (Options.MinUnreserved).
	DefaultMinUnreserved = 100
)

// Phase is a status an instance shows for a while, e.g. after DeleteDBInstance.
type Phase struct {
	Status string        // "" keeps the status the instance had
	For    time.Duration // how long it lasts
}

// Options shape an Emulator. Zero fields take the defaults above; the
// behaviours that make the emulator unkind (lag, delete phases, a low Lambda
// minimum) are off unless set here or through their setters.
type Options struct {
	CreateDelay     time.Duration // creating -> available
	DeleteDelay     time.Duration // deleting -> gone
	AllocationDelay time.Duration // IN_PROGRESS -> READY or FAILED
	FailoverDelay   time.Duration // failing-over, no writer, -> the new writer
	// DeletePhases are shown after DeleteDBInstance, before "deleting": e.g.
	// {"", 30s} (still what it was), {"delete-precheck", 2m}, {"modifying", 30s}.
	DeletePhases []Phase
	// ClusterLag and InstanceLag make DescribeDBClusters and
	// DescribeDBInstances answer with the state that was true that long ago.
	ClusterLag, InstanceLag time.Duration
	// EventLag is how long an event takes to show in DescribeEvents.
	EventLag time.Duration
	// PublicByDefault makes an instance created without PubliclyAccessible
	// public, as in a default VPC (CreateDBInstance's default).
	PublicByDefault bool
	InstanceQuota   int // DB instances in the account
	Concurrency     int // the account's concurrent executions
	MinUnreserved   int // the concurrency Lambda keeps unreserved (default 100)
	// RequestLimits are the account's request budgets by service
	// (ServiceRDS, ServiceLambda; limits.go); a service left out is not limited.
	RequestLimits map[string]RequestLimit
	AccountID     string
	Region        string
}

// Call is one request the emulator answered, for assertions.
type Call struct {
	Op      string            // RDS Action or Lambda operation name
	Service string            // ServiceRDS or ServiceLambda
	At      time.Time         // the emulator's clock when it was answered
	Attempt int               // the SDK's attempt of the operation (amz-sdk-request), 1 for the first
	Params  map[string]string // RDS form values, or Lambda's FunctionName, Qualifier and body fields
	Code    string            // error code answered, "" on success
	Lost    bool              // the operation was carried out, its answer lost (LoseAnswers)
}

// Emulator holds the state of one account and region. It is safe for
// concurrent use; state moves on when a request arrives, by the clock.
type Emulator struct {
	clock clock.PassiveClock
	opt   Options

	mu        sync.Mutex
	clusters  map[string]*cluster
	instances map[string]*instance
	gone      []*instance // deleted, still visible to a lagging Describe
	functions map[string]*function
	noCap     map[string]bool // zones without capacity
	noIPs     map[string]bool // zones whose subnet has no free address
	noKey     map[string]bool // clusters and source instances whose KMS key RDS cannot use
	unoffered map[string]bool // zone + "/" + class
	throttle  map[string]int
	lose      map[string]int
	deny      map[string]bool
	buckets   map[string]*bucket // account request limits by service
	attempt   int                // of the request being answered
	events    []event
	calls     []Call
	seq       int
}

var _ http.Handler = (*Emulator)(nil)

// New returns an empty emulator on clk.
func New(clk clock.PassiveClock, opt Options) *Emulator {
	opt.CreateDelay = cmp.Or(opt.CreateDelay, DefaultCreateDelay)
	opt.DeleteDelay = cmp.Or(opt.DeleteDelay, DefaultDeleteDelay)
	opt.AllocationDelay = cmp.Or(opt.AllocationDelay, DefaultAllocationDelay)
	opt.FailoverDelay = cmp.Or(opt.FailoverDelay, DefaultFailoverDelay)
	opt.InstanceQuota = cmp.Or(opt.InstanceQuota, DefaultInstanceQuota)
	opt.Concurrency = cmp.Or(opt.Concurrency, DefaultConcurrency)
	opt.MinUnreserved = cmp.Or(opt.MinUnreserved, DefaultMinUnreserved)
	opt.AccountID = cmp.Or(opt.AccountID, "123456789012")
	opt.Region = cmp.Or(opt.Region, "us-east-1")
	buckets := map[string]*bucket{}
	for svc, l := range opt.RequestLimits {
		buckets[svc] = &bucket{limit: l, tokens: float64(l.Burst), at: clk.Now()}
	}
	return &Emulator{
		clock: clk, opt: opt, buckets: buckets,
		clusters: map[string]*cluster{}, instances: map[string]*instance{}, functions: map[string]*function{},
		noCap: map[string]bool{}, noIPs: map[string]bool{}, noKey: map[string]bool{}, unoffered: map[string]bool{},
		throttle: map[string]int{}, lose: map[string]int{}, deny: map[string]bool{},
	}
}

// ServeHTTP answers RDS Query requests (POST, form-encoded Action) and
// Lambda REST-JSON requests (by path).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	e.attempt = 1
	fmt.Sscanf(r.Header.Get("amz-sdk-request"), "attempt=%d", &e.attempt)
	for _, p := range []string{"/2019-09-30/functions/", "/2015-03-31/functions/", "/2016-08-19/account-settings"} {
		if strings.HasPrefix(r.URL.Path, p) {
			e.serveLambda(w, r)
			return
		}
	}
	e.serveRDS(w, r)
}

// Throttle makes the next n calls of op (an RDS Action or Lambda operation
// name, or "*" for any) answer with the service's throttling error.
func (e *Emulator) Throttle(op string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttle[op] += n
}

// LoseAnswers makes the next n successful calls of op (or "*" for any) be
// carried out and then answered 500 InternalFailure, as when AWS acted and
// the answer was lost on the way: the SDK retries them, and the retry meets
// what the first call did (DBInstanceAlreadyExists, InvalidDBInstanceState).
func (e *Emulator) LoseAnswers(op string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lose[op] += n
}

// lost reports whether the answer of this successful call of op is to be lost.
func (e *Emulator) lost(op string) bool {
	for _, k := range []string{op, "*"} {
		if e.lose[k] > 0 {
			e.lose[k]--
			return true
		}
	}
	return false
}

// Deny makes every call of op (or "*") answer access denied until Allow.
func (e *Emulator) Deny(op string) { e.set(e.deny, op, true) }

// Allow undoes Deny.
func (e *Emulator) Allow(op string) { e.set(e.deny, op, false) }

// set puts key in the fault set faults (on) or takes it out.
func (e *Emulator) set(faults map[string]bool, key string, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if on {
		faults[key] = true
	} else {
		delete(faults, key)
	}
}

// SetLag makes DescribeDBClusters and DescribeDBInstances answer with the
// state of that long ago (0: the present).
func (e *Emulator) SetLag(cluster, instance time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	e.opt.ClusterLag, e.opt.InstanceLag = cluster, instance
}

// SetDeletePhases sets what instances deleted from now on show before "deleting".
func (e *Emulator) SetDeletePhases(phases ...Phase) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opt.DeletePhases = append([]Phase(nil), phases...)
}

// SetZoneCapacity makes zone az refuse (false) or accept (true) new DB
// instances of every class with InsufficientDBInstanceCapacity.
func (e *Emulator) SetZoneCapacity(az string, ok bool) {
	e.set(e.noCap, az, !ok)
}

// SetZoneIPs makes the subnet of zone az have no free address (false) or
// some (true): a new instance there answers
// InsufficientAvailableIPsInSubnetFault. The RDS API Reference documents
// that fault for a proxy's subnets; the emulator answers it for an
// instance's as well, its choice.
func (e *Emulator) SetZoneIPs(az string, ok bool) {
	e.set(e.noIPs, az, !ok)
}

// SetKeyAccessible makes the KMS key that encrypts cluster or source
// instance id unusable by RDS (false: disabled, scheduled for deletion, or
// its key policy no longer grants RDS its use) or usable again (true): a
// new instance in that cluster, or a read replica of that source, answers
// KMSKeyNotAccessibleFault, which the RDS API Reference lists among
// CreateDBInstance's and CreateDBInstanceReadReplica's errors ("An error
// occurred accessing an AWS KMS key"). The message is the emulator's.
func (e *Emulator) SetKeyAccessible(id string, ok bool) {
	e.set(e.noKey, id, !ok)
}

// keyFault is the answer to a new instance whose storage takes the key of
// cluster or source id, when RDS cannot use it.
func (e *Emulator) keyFault(kind, id string) *apiError {
	if !e.noKey[id] {
		return nil
	}
	return apiErr(http.StatusBadRequest, "KMSKeyNotAccessibleFault",
		"The KMS key that encrypts %s %s is not accessible: it is disabled, pending deletion, or its key policy does not grant RDS its use.", kind, id)
}

// Unoffer makes zone az refuse DB instances of class (a class not offered there).
func (e *Emulator) Unoffer(az, class string) { e.set(e.unoffered, az+"/"+class, true) }

// Calls returns every request answered so far, oldest first.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// CallsOf returns the calls of op only.
func (e *Emulator) CallsOf(op string) []Call {
	var out []Call
	for _, c := range e.Calls() {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// injected answers the throttling or denial due to op, if any: the code and
// whether it is a throttle.
func (e *Emulator) injected(op string) (code string, throttled bool) {
	if e.deny[op] || e.deny["*"] {
		return "denied", false
	}
	for _, k := range []string{op, "*"} {
		if e.throttle[k] > 0 {
			e.throttle[k]--
			return "throttled", true
		}
	}
	return "", false
}

func (e *Emulator) record(service, op string, params map[string]string, code string) {
	e.calls = append(e.calls, Call{Op: op, Service: service, At: e.clock.Now(), Attempt: e.attempt, Params: params, Code: code})
}

func (e *Emulator) requestID() string {
	e.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", e.seq)
}

// advance applies every timed change whose time has come, in the order of
// their times, so that one large clock step plays out as many small ones.
func (e *Emulator) advance() {
	now := e.clock.Now()
	for {
		at, apply := e.nextEvent(now)
		if apply == nil {
			break
		}
		apply(at)
	}
	e.advanceLambda(now)
	e.forget(now)
}

// nextEvent is the earliest change due by now, and how to apply it.
func (e *Emulator) nextEvent(now time.Time) (time.Time, func(time.Time)) {
	var best time.Time
	var apply func(time.Time)
	consider := func(at time.Time, f func(time.Time)) {
		if at.IsZero() || at.After(now) || (apply != nil && !at.Before(best)) {
			return
		}
		best, apply = at, f
	}
	for _, id := range slices.Sorted(maps.Keys(e.clusters)) {
		c := e.clusters[id]
		consider(c.failoverEnd, func(at time.Time) { e.endFailover(c, at) })
	}
	for _, id := range slices.Sorted(maps.Keys(e.instances)) {
		in := e.instances[id]
		switch {
		case in.deleteAsked:
			consider(in.phaseEnd, func(at time.Time) { e.nextPhase(in, at) })
		case in.Status == "creating":
			consider(in.readyAt, func(at time.Time) {
				in.CreateTime = &at
				e.setStatus(in, "available", at)
			})
		default:
			consider(in.revertAt, func(at time.Time) {
				in.revertAt = time.Time{}
				e.setStatus(in, in.revertTo, at)
			})
		}
	}
	return best, apply
}

// forget drops history no lagging answer can show any more.
func (e *Emulator) forget(now time.Time) {
	horizon := now.Add(-max(e.opt.ClusterLag, e.opt.InstanceLag))
	kept := e.gone[:0]
	for _, in := range e.gone {
		if in.goneAt.After(horizon) {
			kept = append(kept, in)
		}
	}
	e.gone = kept
	for _, in := range e.instances {
		in.hist = trim(in.hist, horizon)
	}
	for _, c := range e.clusters {
		c.hist = trim(c.hist, horizon)
	}
}

// trim keeps the last entry at or before horizon and every later one.
func trim[T interface{ when() time.Time }](h []T, horizon time.Time) []T {
	i := 0
	for i+1 < len(h) && !h[i+1].when().After(horizon) {
		i++
	}
	return h[i:]
}
