package main

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/internal/awsemu"
)

// The daemon's Aurora targets share one listing and one RDS budget, which
// aws.rds bounds, and export what they asked of AWS.
func TestRunSharesOneAWSBudgetPerRegion(t *testing.T) {
	emu := awsemu.New(clock.RealClock{}, awsemu.Options{})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	for i := range 3 {
		id := fmt.Sprintf("c%d", i)
		emu.AddCluster(awsemu.ClusterSpec{ID: id, Engine: "aurora-postgresql", EngineVersion: "16.4", WriterID: id + "-writer",
			WriterClass: "db.r7g.large", SubnetGroup: "subnets", AZs: []string{"us-east-1a"}})
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	trace, err := filepath.Abs("../../testdata/traces/demo.csv")
	if err != nil {
		t.Fatal(err)
	}
	cfg := `
dry_run: true
interval: 15s
listen: LISTEN
aws: {rds: {requests_per_second: 2, burst: 4}}
scalers:
`
	for i := range 3 {
		cfg += fmt.Sprintf(`
  - name: orders-%d
    target: {kind: aurora, aurora: {region: us-east-1, cluster_identifier: c%d, endpoint: %s}}
    signals: [{name: rps, replay: {trace: %s, speed: 60, loop: true, expr: rate}}]
    policies:
      - {name: rps, type: target_tracking, target_tracking: {signal: rps, target_type: average_value, target: 0.2}}
    bounds: {min: 1, max: 15}
`, i, i, srv.URL, trace)
	}
	start := time.Now()
	d := startDaemon(t, cfg)
	waitUntil(t, 20*time.Second, "the three targets read and AWS requests counted", func() bool {
		return d.metric(t, `scaled_aws_api_requests_total{operation="DescribeDBInstances",outcome="success",service="rds"}`) &&
			d.metric(t, `scaled_aws_api_tokens{region="us-east-1",service="rds"}`) &&
			len(d.decisions(t, "orders-2", 1)) > 0
	})
	time.Sleep(3 * time.Second) // ticks every 0.25 s: a budget that did not hold would show
	calls := emu.Calls()
	took := time.Since(start).Seconds()
	var own []string
	for _, c := range calls {
		if c.Params["DBClusterIdentifier"] != "" || c.Params["Filters.Filter.1.Name"] != "" {
			own = append(own, c.Op)
		}
	}
	if len(own) > 0 {
		t.Errorf("targets read their own clusters (%v): the shared listing serves them", own)
	}
	if most := 4 + 2*took; float64(len(calls)) > most {
		t.Errorf("%d RDS requests in %.1fs, over aws.rds's burst of 4 and 2 per second (%.0f)", len(calls), took, most)
	}
	t.Logf("%d RDS requests in %.1fs; not sent for want of a token: %v", len(calls), took,
		d.metric(t, `scaled_aws_api_requests_total{operation="DescribeDBClusters",outcome="not_sent",service="rds"}`))
}
