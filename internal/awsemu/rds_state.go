package awsemu

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// The state machine of DB instances and Aurora clusters: what each status
// means to the emulator, failover, the phases of a deletion, and the
// lagging views Describe answers from.

// Instance statuses (RDS User Guide, "Viewing DB instance status").
const (
	StatusAvailable      = "available"
	StatusCreating       = "creating"
	StatusDeleting       = "deleting"
	StatusDeletePrecheck = "delete-precheck"
	StatusRebooting      = "rebooting"
	StatusFailingOver    = "failing-over" // a cluster status
)

// servingStatuses are those in which an instance serves queries: the table
// calls storage-optimization "fully operational", and modifications,
// backups and configuration changes leave the engine running.
var servingStatuses = map[string]bool{
	"available": true, "backing-up": true, "modifying": true, "storage-optimization": true,
	"configuring-enhanced-monitoring": true, "configuring-iam-database-auth": true, "configuring-log-exports": true,
}

// Serving reports whether an instance in status serves queries.
func Serving(status string) bool { return servingStatuses[status] }

// busyStatuses are transitions during which the emulator refuses
// DeleteDBInstance with InvalidDBInstanceState (its choice: the references
// name no list).
var busyStatuses = map[string]bool{
	"creating": true, "modifying": true, "rebooting": true, "upgrading": true, "maintenance": true,
	"starting": true, "stopping": true, "renaming": true, "resetting-master-credentials": true,
	"moving-to-vpc": true, "converting-to-vpc": true, "storage-optimization": true, "backing-up": true,
	"configuring-enhanced-monitoring": true, "configuring-iam-database-auth": true, "configuring-log-exports": true,
}

type instStamp struct {
	at     time.Time
	status string
}

func (s instStamp) when() time.Time { return s.at }

type clusterStamp struct {
	at             time.Time
	status, writer string
}

func (s clusterStamp) when() time.Time { return s.at }

// setStatus changes an instance's status at time at, for the lagging views.
func (e *Emulator) setStatus(in *instance, status string, at time.Time) {
	in.Status = status
	in.hist = append(in.hist, instStamp{at, status})
}

// setCluster changes a cluster's status and writer at time at.
func (e *Emulator) setCluster(c *cluster, status, writer string, at time.Time) {
	c.Status, c.WriterID = status, writer
	c.hist = append(c.hist, clusterStamp{at, status, writer})
}

// statusAt is the status an instance showed at t, and whether it existed then.
func (in *instance) statusAt(t time.Time) (string, bool) {
	if t.Before(in.born) || (!in.goneAt.IsZero() && !t.Before(in.goneAt)) {
		return "", false
	}
	s := in.hist[0].status
	for _, h := range in.hist {
		if h.at.After(t) {
			break
		}
		s = h.status
	}
	return s, true
}

// viewAt is a cluster's status and writer as they were at t.
func (c *cluster) viewAt(t time.Time) (status, writer string) {
	h := c.hist[0]
	for _, s := range c.hist {
		if s.at.After(t) {
			break
		}
		h = s
	}
	return h.status, h.writer
}

// seen is one instance as a lagging Describe shows it.
type seen struct {
	in     *instance
	status string
}

// visibleAt lists the instances that existed at t, by identifier, with
// the status each showed then.
func (e *Emulator) visibleAt(t time.Time) []seen {
	var out []seen
	add := func(in *instance) {
		if s, ok := in.statusAt(t); ok {
			out = append(out, seen{in, s})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(e.instances)) {
		add(e.instances[id])
	}
	for _, in := range e.gone {
		add(in)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].in.ID < out[j].in.ID })
	return out
}

// Failover starts a failover of cluster id now, as FailoverDBCluster does:
// for FailoverDelay the cluster is "failing-over" and no member is the
// writer; then target (or, if target is "" or cannot serve, the reader
// Aurora would pick: lowest promotion tier, then largest class) becomes the
// writer and the old writer a reader. Crash makes the old writer reboot
// through the window, as when it fails.
func (e *Emulator) Failover(id, target string, crash bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	c := e.clusters[id]
	if c == nil || !c.failoverEnd.IsZero() {
		return
	}
	e.startFailover(c, target, crash, e.clock.Now())
}

func (e *Emulator) startFailover(c *cluster, target string, crash bool, at time.Time) {
	old := c.WriterID
	c.failoverFrom, c.failoverTo, c.failoverEnd = old, target, at.Add(e.opt.FailoverDelay)
	e.setCluster(c, StatusFailingOver, "", at)
	msg := "Started cross AZ failover to DB instance"
	if target != "" {
		msg += ": " + target
	}
	e.addEvent(at, c.ID, msg)
	if w := e.instances[old]; w != nil && crash && !w.deleteAsked {
		e.setStatus(w, StatusRebooting, at)
		w.revertAt, w.revertTo = c.failoverEnd, StatusAvailable
	}
}

// PromoteSecondary makes secondary cluster id of a global database its
// primary, as a switchover or failover of the global database does: the
// reader Aurora would promote (lowest tier, then largest class) becomes the
// writer. The rest of the global database is not modelled.
func (e *Emulator) PromoteSecondary(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	c := e.clusters[id]
	if c == nil || !c.Secondary {
		return
	}
	c.Secondary = false
	c.failoverFrom, c.failoverTo = "", ""
	e.endFailover(c, e.clock.Now())
}

// endFailover promotes the new writer (Aurora User Guide, "Fault tolerance
// for an Aurora DB cluster": the replica of the lowest tier, the largest of
// a tier, then any; with no replica, the old writer is restarted in place).
func (e *Emulator) endFailover(c *cluster, at time.Time) {
	c.failoverEnd = time.Time{}
	eligible := func(in *instance) bool {
		return in != nil && in.ClusterID == c.ID && !in.deleteAsked && Serving(in.Status)
	}
	next := ""
	if t := e.instances[c.failoverTo]; eligible(t) && c.failoverTo != c.failoverFrom {
		next = t.ID
	} else {
		var cand []*instance
		for _, in := range e.instances {
			if in.ID != c.failoverFrom && eligible(in) {
				cand = append(cand, in)
			}
		}
		sort.Slice(cand, func(i, j int) bool {
			a, b := cand[i], cand[j]
			if a.PromotionTier != b.PromotionTier {
				return a.PromotionTier < b.PromotionTier
			}
			if sa, sb := classSize(a.Class), classSize(b.Class); sa != sb {
				return sa > sb
			}
			return a.ID < b.ID
		})
		switch old := e.instances[c.failoverFrom]; {
		case len(cand) > 0:
			next = cand[0].ID
		case old != nil && !old.deleteAsked:
			next = old.ID
		}
	}
	if old := e.instances[c.failoverFrom]; old != nil && old.Status == StatusRebooting && next == old.ID {
		old.revertAt = time.Time{}
		e.setStatus(old, StatusAvailable, at)
	}
	e.setCluster(c, StatusAvailable, next, at)
	e.addEvent(at, c.ID, "Completed failover to DB instance: "+next)
}

// classSize orders instance classes by their size suffix.
func classSize(class string) int {
	sizes := []string{"micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
		"12xlarge", "16xlarge", "24xlarge", "32xlarge", "48xlarge"}
	suffix := class[strings.LastIndex(class, ".")+1:]
	for i, s := range sizes {
		if s == suffix {
			return i
		}
	}
	return -1
}

// beginDelete runs DeleteDBInstance's effect: the delete phases, then
// "deleting" for DeleteDelay, then gone. Deleting a cluster's writer fails
// the cluster over first.
func (e *Emulator) beginDelete(in *instance, at time.Time) {
	in.deleteAsked, in.revertAt = true, time.Time{}
	in.phases = append(append([]Phase(nil), e.opt.DeletePhases...), Phase{StatusDeleting, e.opt.DeleteDelay})
	if c := e.clusters[in.ClusterID]; c != nil && c.WriterID == in.ID {
		e.startFailover(c, "", false, at)
	}
	e.nextPhase(in, at)
}

// nextPhase moves a deleted instance to its next phase, or away.
func (e *Emulator) nextPhase(in *instance, at time.Time) {
	if len(in.phases) == 0 {
		in.goneAt, in.phaseEnd = at, time.Time{}
		delete(e.instances, in.ID)
		e.gone = append(e.gone, in)
		return
	}
	p := in.phases[0]
	in.phases = in.phases[1:]
	in.phaseEnd = at.Add(p.For)
	if p.Status != "" && p.Status != in.Status {
		e.setStatus(in, p.Status, at)
	}
}

// SetInstanceStatus puts an instance in status until something else changes
// it (e.g. "failed", "incompatible-parameters", "stopped").
func (e *Emulator) SetInstanceStatus(id, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	if in := e.instances[id]; in != nil && !in.deleteAsked {
		in.revertAt = time.Time{}
		e.setStatus(in, status, e.clock.Now())
	}
}

// DegradeInstance puts an instance in status (e.g. "modifying",
// "backing-up", "rebooting") for d, then back to available.
func (e *Emulator) DegradeInstance(id, status string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	in := e.instances[id]
	if in == nil || in.deleteAsked || in.Status == StatusCreating {
		return
	}
	now := e.clock.Now()
	e.setStatus(in, status, now)
	in.revertAt, in.revertTo = now.Add(d), StatusAvailable
}

// ClusterState is what a test may check about a cluster, as it is now.
type ClusterState struct {
	Status, Writer string
}

// Cluster returns cluster id as it is now (not as a lagging Describe shows it).
func (e *Emulator) Cluster(id string) ClusterState {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	c := e.clusters[id]
	if c == nil {
		return ClusterState{}
	}
	return ClusterState{Status: c.Status, Writer: c.WriterID}
}
