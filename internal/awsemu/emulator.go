package awsemu

import (
	"fmt"
	"net/http"
	"sort"
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
	DefaultInstanceQuota   = 40 // RDS "DB instances" per account and region
	DefaultConcurrency     = 1000
	// MaxReaders is Aurora's limit of readers per cluster and RDS's of read
	// replicas per source instance.
	MaxReaders = 15
	// MinUnreserved is the concurrency Lambda always keeps unreserved.
	MinUnreserved = 100
)

// Options shape an Emulator. Zero fields take the defaults above.
type Options struct {
	CreateDelay     time.Duration // creating -> available
	DeleteDelay     time.Duration // deleting -> gone
	AllocationDelay time.Duration // IN_PROGRESS -> READY or FAILED
	InstanceQuota   int           // DB instances in the account
	Concurrency     int           // the account's concurrent executions
	AccountID       string        // in ARNs (default 123456789012)
	Region          string        // in ARNs (default us-east-1)
}

// Call is one request the emulator answered, for assertions.
type Call struct {
	Op     string            // RDS Action or Lambda operation name
	Params map[string]string // RDS form values, or Lambda's FunctionName, Qualifier and body fields
	Code   string            // error code answered, "" on success
}

// Emulator holds the state of one account and region. It is safe for
// concurrent use; state moves on when a request arrives, by the clock.
type Emulator struct {
	clock clock.PassiveClock
	opt   Options

	mu        sync.Mutex
	clusters  map[string]*cluster
	instances map[string]*instance
	functions map[string]*function
	throttle  map[string]int
	deny      map[string]bool
	calls     []Call
	seq       int
}

var _ http.Handler = (*Emulator)(nil)

// New returns an empty emulator on clk.
func New(clk clock.PassiveClock, opt Options) *Emulator {
	if opt.CreateDelay == 0 {
		opt.CreateDelay = DefaultCreateDelay
	}
	if opt.DeleteDelay == 0 {
		opt.DeleteDelay = DefaultDeleteDelay
	}
	if opt.AllocationDelay == 0 {
		opt.AllocationDelay = DefaultAllocationDelay
	}
	if opt.InstanceQuota == 0 {
		opt.InstanceQuota = DefaultInstanceQuota
	}
	if opt.Concurrency == 0 {
		opt.Concurrency = DefaultConcurrency
	}
	if opt.AccountID == "" {
		opt.AccountID = "123456789012"
	}
	if opt.Region == "" {
		opt.Region = "us-east-1"
	}
	return &Emulator{
		clock: clk, opt: opt,
		clusters: map[string]*cluster{}, instances: map[string]*instance{}, functions: map[string]*function{},
		throttle: map[string]int{}, deny: map[string]bool{},
	}
}

// ServeHTTP answers RDS Query requests (POST, form-encoded Action) and
// Lambda REST-JSON requests (by path).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	if strings.HasPrefix(r.URL.Path, "/2019-09-30/functions/") || strings.HasPrefix(r.URL.Path, "/2016-08-19/account-settings") {
		e.serveLambda(w, r)
		return
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

// Deny makes every call of op (or "*") answer access denied until Allow.
func (e *Emulator) Deny(op string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deny[op] = true
}

// Allow undoes Deny.
func (e *Emulator) Allow(op string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.deny, op)
}

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

func (e *Emulator) record(op string, params map[string]string, code string) {
	e.calls = append(e.calls, Call{Op: op, Params: params, Code: code})
}

func (e *Emulator) requestID() string {
	e.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", e.seq)
}

// advance moves every asynchronous change whose time has come.
func (e *Emulator) advance() {
	now := e.clock.Now()
	for id, in := range e.instances {
		switch {
		case in.Status == "creating" && !now.Before(in.readyAt):
			in.Status = "available"
			t := in.readyAt
			in.CreateTime = &t
		case in.Status == "deleting" && !now.Before(in.goneAt):
			delete(e.instances, id)
			if src := e.instances[in.SourceID]; src != nil {
				src.Replicas = without(src.Replicas, id)
			}
		}
	}
	for _, f := range e.functions {
		for _, pc := range f.configs {
			if pc.Status == "IN_PROGRESS" && !now.Before(pc.readyAt) {
				if pc.failReason != "" {
					pc.Status, pc.StatusReason = "FAILED", pc.failReason
					pc.failReason = ""
					continue
				}
				pc.Status, pc.Allocated, pc.Available = "READY", pc.Requested, pc.Requested
			}
		}
	}
}

func without(list []string, s string) []string {
	out := list[:0:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
