package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/viper"
)

func TestLeaderElectionDefaults(t *testing.T) {
	c, err := Parse([]byte("leader_election: {enabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := LeaderElection{Enabled: true, LeaseName: "scaled", LeaseDuration: 15 * time.Second,
		RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, Shards: 1}
	if diff := cmp.Diff(want, c.LeaderElection); diff != "" {
		t.Errorf("leader_election (-want +got):\n%s", diff)
	}
}

func TestLeaderElectionValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(l *LeaderElection)
		want   []string
	}{
		{"defaults", func(l *LeaderElection) {}, nil},
		{"disabled is not checked", func(l *LeaderElection) { l.Enabled, l.LeaseName = false, "" }, nil},
		{"names", func(l *LeaderElection) { l.Namespace, l.LeaseName = "Kube_System", "" }, []string{
			`leader_election.namespace: "Kube_System": must be a DNS label: at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit`,
			`leader_election.lease_name: "": must be a DNS subdomain name: at most 253 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit`,
		}},
		{"timing order", func(l *LeaderElection) {
			l.LeaseDuration, l.RenewDeadline, l.RetryPeriod = 5*time.Second, 5*time.Second, 5*time.Second
		}, []string{
			`leader_election.renew_deadline: 5s: must be > 1.2 x retry_period (5s)`,
			`leader_election.lease_duration: 5s: must be > renew_deadline (5s)`,
		}},
		{"zero retry", func(l *LeaderElection) { l.RetryPeriod = 0 }, []string{
			`leader_election.retry_period: 0s: must be > 0`,
		}},
		{"shards", func(l *LeaderElection) { l.Shards = 8 }, nil},
		{"no shard", func(l *LeaderElection) { l.Shards = 0 }, []string{
			`leader_election.shards: 0: must be between 1 and 64`,
		}},
		{"too many shards", func(l *LeaderElection) { l.Shards = 65 }, []string{
			`leader_election.shards: 65: must be between 1 and 64`,
		}},
		{"a lease name too long to label presence leases", func(l *LeaderElection) {
			l.Shards, l.LeaseName = 4, strings.Repeat("s", 64)
		}, []string{
			`leader_election.lease_name: "` + strings.Repeat("s", 64) + `": must be at most 63 characters with shards > 1 (it labels the replicas' presence Leases)`,
		}},
		{"a long lease name without shards", func(l *LeaderElection) { l.LeaseName = strings.Repeat("s", 64) }, nil},
		{"cold standby", func(l *LeaderElection) { l.Standby = StandbyCold }, nil},
		{"warm standby", func(l *LeaderElection) { l.Shards, l.Standby = 4, StandbyWarm }, nil},
		{"an unknown standby", func(l *LeaderElection) { l.Standby = "hot" }, []string{
			`leader_election.standby: "hot": must be one of warm, cold`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			c.LeaderElection.Enabled = true
			tc.mutate(&c.LeaderElection)
			if diff := cmp.Diff(tc.want, messages(Validate(c))); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// Standby is cold by default only where there are shards to split: one
// Lease keeps its warm standby.
func TestColdStandby(t *testing.T) {
	for _, tc := range []struct {
		shards  int
		standby string
		want    bool
	}{
		{1, "", false},
		{4, "", true},
		{1, StandbyCold, true},
		{4, StandbyWarm, false},
		{4, StandbyCold, true},
	} {
		l := LeaderElection{Shards: tc.shards, Standby: tc.standby}
		if got := l.ColdStandby(); got != tc.want {
			t.Errorf("shards %d, standby %q: cold %v, want %v", tc.shards, tc.standby, got, tc.want)
		}
	}
}

func TestLeaderElectionFromEnvironment(t *testing.T) {
	t.Setenv("SCALED_LEADER_ELECTION_ENABLED", "true")
	t.Setenv("SCALED_LEADER_ELECTION_LEASE_DURATION", "30s")
	t.Setenv("SCALED_LEADER_ELECTION_SHARDS", "4")
	c, err := Parse([]byte(validYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := Override(c, viper.New()); err != nil {
		t.Fatal(err)
	}
	if !c.LeaderElection.Enabled || c.LeaderElection.LeaseDuration != 30*time.Second || c.LeaderElection.Shards != 4 {
		t.Errorf("leader_election = %+v, want enabled with a 30s lease and 4 shards from the environment", c.LeaderElection)
	}
}
