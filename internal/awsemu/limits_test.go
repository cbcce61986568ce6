package awsemu

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/google/go-cmp/cmp"
)

// Describe calls answer in pages of MaxRecords (20 to 100, default 100)
// with a Marker to go on; a one-page reader sees only the first 100.
func TestDescribePages(t *testing.T) {
	w := newWorld(t, Options{InstanceQuota: 1000})
	// A large answer is read off the connection while the SDK closes the
	// request body, which now and then closes the connection under it
	// (aws/aws-sdk-go-v2#1825): the SDK retries that, as it would here.
	w.rds = rds.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")},
		func(o *rds.Options) { o.BaseEndpoint = aws.String(w.url) })
	for i := range 130 {
		w.emu.AddCluster(ClusterSpec{ID: fmt.Sprintf("c%03d", i), Engine: "aurora-postgresql", WriterID: fmt.Sprintf("c%03d-w", i),
			WriterClass: "db.r7g.large", SubnetGroup: "s", AZs: []string{"us-east-1a"}})
	}
	ctx := context.Background()
	first, err := w.rds.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n, m := len(first.DBClusters), aws.ToString(first.Marker); n != 100 || m == "" {
		t.Fatalf("first page: %d clusters, marker %q; want 100 and a marker", n, m)
	}
	var ids []string
	p := rds.NewDescribeDBClustersPaginator(w.rds, &rds.DescribeDBClustersInput{MaxRecords: aws.Int32(40)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range out.DBClusters {
			ids = append(ids, aws.ToString(c.DBClusterIdentifier))
		}
	}
	if pages != 4 || len(ids) != 130 || ids[129] != "c129" {
		t.Errorf("clusters in pages of 40: %d pages, %d clusters, last %v; want 4, 130, c129", pages, len(ids), ids[len(ids)-1])
	}
	n := 0
	ip := rds.NewDescribeDBInstancesPaginator(w.rds, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(100)})
	for ip.HasMorePages() {
		out, err := ip.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.DBInstances)
	}
	if n != 130 {
		t.Errorf("instances over every page: %d, want 130", n)
	}
	_, err = w.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(10)})
	if code(err) != "InvalidParameterValue" {
		t.Errorf("MaxRecords 10: %v, want InvalidParameterValue", err)
	}
}

// The account's request limit is a token bucket per service for every
// caller together: Burst requests at once, then PerSecond.
func TestRequestLimits(t *testing.T) {
	w := newWorld(t, Options{RequestLimits: map[string]RequestLimit{ServiceRDS: {PerSecond: 2, Burst: 3}}})
	w.emu.SetRequestLimit(ServiceLambda, RequestLimit{PerSecond: 1, Burst: 1})
	w.emu.AddFunction("f", "1")
	ctx := context.Background()
	describe := func() string {
		_, err := w.rds.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
		return code(err)
	}
	var got []string
	for range 4 {
		got = append(got, describe())
	}
	w.clock.Step(time.Second) // two tokens back
	for range 3 {
		got = append(got, describe())
	}
	want := []string{"", "", "", "ThrottlingException", "", "", "ThrottlingException"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RDS answers (-want +got):\n%s", diff)
	}
	_, err := w.lambda.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("f")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.lambda.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("f")})
	if code(err) != "TooManyRequestsException" {
		t.Errorf("second Lambda call within a second: %v, want TooManyRequestsException", err)
	}
	calls := w.emu.Calls()
	if c := calls[len(calls)-1]; c.Service != ServiceLambda || c.Code != "TooManyRequestsException" || !c.At.Equal(t0.Add(time.Second)) {
		t.Errorf("last call recorded as %+v", c)
	}
}
