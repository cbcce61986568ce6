//go:build kube

package kube

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/kubetest"
	"github.com/scaled-dev/scaled/internal/promtest"
	"github.com/scaled-dev/scaled/pkg/sources"
)

// maxQuery is a query as large as the schema admits (4096 bytes) and as
// deep as the check allows: a chain of 50 sums, each over a long selector.
func maxQuery(i int) string {
	term := func(j int) string { return fmt.Sprintf(`sum(rate(x{l="%d-%d-`, i, j) }
	const terms = 50
	var b strings.Builder
	for j := range terms {
		if j > 0 {
			b.WriteString(" + ")
		}
		pad := (4096-3*(terms-1))/terms - len(term(j)) - len(`"}[1m]))`)
		b.WriteString(term(j) + strings.Repeat("v", pad) + `"}[1m]))`)
	}
	return b.String()
}

// Eight Scalers of one namespace, each with the most signals and the
// largest queries the schema admits, delay a new Scaler of another
// namespace by no more than 2 s over its start on a quiet controller.
func TestScalersOfOneNamespaceDoNotDelayAnother(t *testing.T) {
	c := scalersCluster(t)
	flood, calm := c.namespace(t, "flood", 1, "web"), c.namespace(t, "calm", 1, "web")
	prom := promtest.Start(t)
	c.objectsDaemon(t, "scaled-fair", prom.URL(), 15*time.Second, "", flood, calm)

	spec := func(signals []string) string {
		return fmt.Sprintf(`target: {kind: kubernetes, kubernetes: {api_version: apps/v1, kind: Deployment, name: web}}
signals: [%s]
policies: [{name: p, type: target_tracking, target_tracking: {signal: s0, target_type: average_value, target: 10}}]
bounds: {min: 1, max: 8}
`, strings.Join(signals, ", "))
	}
	// started is how long a Scaler takes from its apply to a status that
	// says scaled took its spec in.
	started := func(ns, name, spec string) time.Duration {
		t.Helper()
		start := time.Now()
		if out, err := kubectl(t, scalerManifest(ns, name, spec), "apply", "-f", "-"); err != nil {
			t.Fatalf("apply %s/%s: %v\n%s", ns, name, err, out)
		}
		kubetest.Eventually(t, 120*time.Second, ns+"/"+name+" taken in", func() (bool, error) {
			_, s := scalerObject(t, c.dyn, ns, name)
			reason, _ := condition(s, "Ready")
			return s.ObservedGeneration == 1 && reason != "" && reason != "NotStarted", nil
		})
		return time.Since(start)
	}
	small := spec([]string{`{name: s0, query: 'sum(x)'}`})
	quiet := started(calm, "first", small)

	if q := maxQuery(0); len(q) > sources.MaxQueryBytes || len(q) < sources.MaxQueryBytes-50 || sources.CheckPromQL(q) != nil {
		t.Fatalf("the large query is %d bytes and checks %v: want a valid query of about %d bytes", len(q), sources.CheckPromQL(q), sources.MaxQueryBytes)
	}
	var big []string
	for i := range 16 {
		big = append(big, fmt.Sprintf("{name: s%d, query: '%s'}", i, maxQuery(i)))
	}
	for i := range 8 {
		if out, err := kubectl(t, scalerManifest(flood, fmt.Sprintf("big%d", i), spec(big)), "apply", "-f", "-"); err != nil {
			t.Fatalf("apply flood/big%d: %v\n%s", i, err, out)
		}
	}
	loaded := started(calm, "second", small)
	t.Logf("a new Scaler of another namespace took %s to be taken in beside 8 Scalers of 16 max-size queries, %s on a quiet controller",
		loaded.Round(10*time.Millisecond), quiet.Round(10*time.Millisecond))
	if loaded > quiet+2*time.Second {
		t.Errorf("delayed by %s over its quiet start, want at most 2 s", (loaded - quiet).Round(10*time.Millisecond))
	}
}
