package awsemu

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Services whose requests an account-level limit counts (Options.RequestLimits).
const (
	ServiceRDS    = "rds"
	ServiceLambda = "lambda"
)

// RequestLimit is an account's request budget for one service in one
// region, for every caller together: a token bucket that holds Burst tokens
// and refills at PerSecond. Each request takes a token; a request that finds
// the bucket empty is throttled and takes none. This is how RDS applies its
// limit ("Request throttling for the Amazon RDS API", RDS User Guide: a
// token bucket per account and Region, by default 300 requests of burst and
// 12 per second sustained, answered "ThrottlingException ... Rate
// exceeded"); Lambda's control plane allows 15 requests per second
// (Lambda Developer Guide, "Lambda quotas": control plane API requests,
// excluding invocation, GetFunction and GetPolicy) and answers 429
// TooManyRequestsException (Lambda API Reference, common errors).
type RequestLimit struct {
	PerSecond float64
	Burst     int
}

// AWS's documented defaults.
var (
	RDSRequestLimit    = RequestLimit{PerSecond: 12, Burst: 300}
	LambdaRequestLimit = RequestLimit{PerSecond: 15, Burst: 15}
)

type bucket struct {
	limit  RequestLimit
	tokens float64
	at     time.Time
}

// SetRequestLimit limits the requests of service (ServiceRDS, ServiceLambda)
// from now on, the bucket full; a zero limit removes it.
func (e *Emulator) SetRequestLimit(service string, l RequestLimit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l == (RequestLimit{}) {
		delete(e.buckets, service)
		return
	}
	e.buckets[service] = &bucket{limit: l, tokens: float64(l.Burst), at: e.clock.Now()}
}

// admit takes a token of service's bucket, and reports false when there is
// none: the request is throttled.
func (e *Emulator) admit(service string) bool {
	b := e.buckets[service]
	if b == nil {
		return true
	}
	now := e.clock.Now()
	if now.After(b.at) {
		b.tokens = min(float64(b.limit.Burst), b.tokens+now.Sub(b.at).Seconds()*b.limit.PerSecond)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// The account-level throttling answers, in each service's wire shape.
func rdsRateExceeded() *apiError {
	return apiErr(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

func lambdaRateExceeded() *apiError {
	return apiErr(http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
}

// page answers the page of items that a Describe call's p asks for (pageOf),
// each item as wire makes it, in a <list> element, and the next page's
// Marker if any.
func page[T any](p map[string]string, list string, items []T, wire func(T) any) (string, *apiError) {
	from, to, next, err := pageOf(p, len(items))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%s>", list)
	for _, x := range items[from:to] {
		b.WriteString(marshal(wire(x)))
	}
	fmt.Fprintf(&b, "</%s>", list)
	if next != "" {
		fmt.Fprintf(&b, "<Marker>%s</Marker>", next)
	}
	return b.String(), nil
}

// pageOf reads the MaxRecords and Marker of an RDS Describe call (RDS API
// Reference, DescribeDBClusters and DescribeDBInstances: MaxRecords 20 to
// 100, default 100; Marker from the previous page) and returns the range of
// n records to answer and the marker of the next page ("" for the last).
func pageOf(p map[string]string, n int) (from, to int, next string, err *apiError) {
	size := 100
	if v := p["MaxRecords"]; v != "" {
		m, cerr := strconv.Atoi(v)
		if cerr != nil || m < 20 || m > 100 {
			return 0, 0, "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "MaxRecords must be between 20 and 100.")
		}
		size = m
	}
	if v := p["Marker"]; v != "" {
		m, cerr := strconv.Atoi(v)
		if cerr != nil || m < 0 || m > n {
			return 0, 0, "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "Invalid Marker %s.", v)
		}
		from = m
	}
	to = min(n, from+size)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}
