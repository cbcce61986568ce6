package leader

import (
	"context"
	"slices"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/apimachinery/lease"
	"k8s.io/utils/clock"
)

// presence tells the replicas of one deployment about each other, the way
// kube-apiserver publishes its identity (KEP-1965, "API server identity" in
// the Kubernetes docs' Leases page): every replica renews a Lease of its own,
// ReplicaLease(lease_name, identity) labelled ReplicaLabel=lease_name, with
// the lease controller kube-apiserver and the kubelet use
// (k8s.io/component-helpers/apimachinery/lease), and deletes it when it
// stops.
//
// A replica is live while its Lease changes within the Lease's own
// leaseDurationSeconds, timed on this replica's clock from when it saw the
// change, as client-go's leaderelection times a Lease ("measured against the
// time of last observed renewTime", the LeaseSpec says), so that clock skew
// between hosts does not matter. A Lease first seen counts as live for one
// duration. A Lease that stopped changing is deleted by whichever replica
// sees it expire first (as kube-apiserver's lease garbage collector does),
// with its resourceVersion as a precondition, so that a renewal in between
// wins; a replica whose Lease was deleted while it lived creates it again at
// its next renewal.
type presence struct {
	client    kubernetes.Interface
	namespace string
	leaseName string
	self      string
	clock     clock.Clock
	heartbeat lease.Controller

	seen map[string]sighting // by Lease name; only the balancing loop reads and writes it
}

// sighting is a presence Lease as last listed, and when it last changed.
type sighting struct {
	holder   string
	renew    time.Time
	duration time.Duration
	version  string // resourceVersion
	changed  time.Time
}

func newPresence(client kubernetes.Interface, namespace, leaseName, self string, duration, renewEvery time.Duration, clk clock.Clock) *presence {
	label := func(l *coordinationv1.Lease) error {
		if l.Labels == nil {
			l.Labels = map[string]string{}
		}
		l.Labels[ReplicaLabel] = leaseName
		return nil
	}
	seconds := max(int32(duration/time.Second), 1)
	return &presence{
		client: client, namespace: namespace, leaseName: leaseName, self: self, clock: clk,
		heartbeat: lease.NewController(clk, client, self, seconds, nil, renewEvery,
			ReplicaLease(leaseName, self), namespace, label),
		seen: map[string]sighting{},
	}
}

// renew creates and renews this replica's Lease until ctx ends.
func (p *presence) renew(ctx context.Context) {
	p.heartbeat.Run(logr.NewContext(ctx, logr.Discard())) // its failures show as the shards' own
}

// leave deletes this replica's Lease, so that the others count it out at
// their next look instead of after a lease duration.
func (p *presence) leave(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := p.client.CoordinationV1().Leases(p.namespace).Delete(ctx, ReplicaLease(p.leaseName, p.self), metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// look lists the presence Leases and returns the identities of the live
// replicas (self included), deleting the expired Leases of others.
func (p *presence) look(ctx context.Context) ([]string, error) {
	list, err := p.client.CoordinationV1().Leases(p.namespace).List(ctx, metav1.ListOptions{LabelSelector: ReplicaLabel + "=" + p.leaseName})
	if err != nil {
		return nil, err
	}
	now := p.clock.Now()
	seen := make(map[string]sighting, len(list.Items))
	live := []string{p.self}
	for _, l := range list.Items {
		s := sighting{version: l.ResourceVersion, changed: now}
		if l.Spec.HolderIdentity != nil {
			s.holder = *l.Spec.HolderIdentity
		}
		if l.Spec.RenewTime != nil {
			s.renew = l.Spec.RenewTime.Time
		}
		if l.Spec.LeaseDurationSeconds != nil {
			s.duration = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
		}
		if old, ok := p.seen[l.Name]; ok && old.holder == s.holder && old.renew.Equal(s.renew) {
			s.changed = old.changed
		}
		seen[l.Name] = s
		switch {
		case s.holder == p.self:
		case s.holder != "" && now.Sub(s.changed) < s.duration:
			live = append(live, s.holder)
		default:
			err := p.client.CoordinationV1().Leases(p.namespace).Delete(ctx, l.Name,
				metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &s.version}})
			if err == nil || apierrors.IsNotFound(err) {
				delete(seen, l.Name)
			}
		}
	}
	p.seen = seen
	slices.Sort(live)
	return slices.Compact(live), nil
}
