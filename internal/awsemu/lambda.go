package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type function struct {
	name       string
	qualifiers map[string]bool // published versions and aliases
	configs    map[string]*pcConfig
	failNext   map[string]string // qualifier -> reason of the next allocation's failure
}

type pcConfig struct {
	Requested, Allocated, Available int
	Status, StatusReason            string
	LastModified                    time.Time
	readyAt                         time.Time
	failReason                      string
}

// AddFunction seeds a function with its published versions and aliases.
func (e *Emulator) AddFunction(name string, qualifiers ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &function{name: name, qualifiers: map[string]bool{}, configs: map[string]*pcConfig{}, failNext: map[string]string{}}
	for _, q := range qualifiers {
		f.qualifiers[q] = true
	}
	e.functions[name] = f
}

// FailAllocation makes the allocation in progress, or else the next one, of
// function:qualifier end FAILED with reason.
func (e *Emulator) FailAllocation(function, qualifier, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.functions[function]
	if pc := f.configs[qualifier]; pc != nil && pc.Status == "IN_PROGRESS" {
		pc.failReason = reason
		return
	}
	f.failNext[qualifier] = reason
}

// SetConcurrency sets the account's concurrent executions limit.
func (e *Emulator) SetConcurrency(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opt.Concurrency = n
}

// ProvisionedConfig is a config as a test may check it.
type ProvisionedConfig struct {
	Requested, Allocated, Available int
	Status, StatusReason            string
}

// Provisioned returns function:qualifier's config and whether there is one.
func (e *Emulator) Provisioned(function, qualifier string) (ProvisionedConfig, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	pc := e.functions[function].configs[qualifier]
	if pc == nil {
		return ProvisionedConfig{}, false
	}
	return ProvisionedConfig{pc.Requested, pc.Allocated, pc.Available, pc.Status, pc.StatusReason}, true
}

// unreserved is the account's concurrency that no function holds.
func (e *Emulator) unreserved() int {
	n := e.opt.Concurrency
	for _, f := range e.functions {
		for _, pc := range f.configs {
			n -= pc.Requested
		}
	}
	return n
}

func (e *Emulator) serveLambda(w http.ResponseWriter, r *http.Request) {
	var op, fn string
	q := r.URL.Query().Get("Qualifier")
	if strings.HasPrefix(r.URL.Path, "/2016-08-19/account-settings") {
		op = "GetAccountSettings"
	} else {
		rest := strings.TrimPrefix(r.URL.EscapedPath(), "/2019-09-30/functions/")
		name, tail, _ := strings.Cut(rest, "/")
		fn, _ = url.PathUnescape(name)
		if i := strings.LastIndex(fn, "function:"); i >= 0 { // an ARN or partial ARN
			fn = fn[i+len("function:"):]
		}
		if tail == "provisioned-concurrency" {
			switch r.Method {
			case http.MethodPut:
				op = "PutProvisionedConcurrencyConfig"
			case http.MethodGet:
				op = "GetProvisionedConcurrencyConfig"
			case http.MethodDelete:
				op = "DeleteProvisionedConcurrencyConfig"
			}
		}
	}
	params := map[string]string{"FunctionName": fn, "Qualifier": q}
	var body map[string]any
	if r.Method == http.MethodPut {
		_ = json.NewDecoder(r.Body).Decode(&body)
		for k, v := range body {
			params[k] = fmt.Sprint(v)
		}
	}
	status, out, err := e.lambdaOp(op, fn, q, body)
	if err != nil {
		e.record(op, params, err.code)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", err.code)
		w.Header().Set("X-Amzn-RequestId", e.requestID())
		if err.code == "TooManyRequestsException" {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(err.status)
		m := map[string]string{"Type": "User", "message": err.message}
		if err.code == "TooManyRequestsException" {
			m["Reason"] = "CallerRateLimitExceeded"
		}
		_ = json.NewEncoder(w).Encode(m)
		return
	}
	e.record(op, params, "")
	w.Header().Set("X-Amzn-RequestId", e.requestID())
	if out == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func (e *Emulator) lambdaOp(op, fn, q string, body map[string]any) (int, any, *apiError) {
	if op == "" {
		return 0, nil, apiErr(http.StatusNotFound, "UnknownOperationException", "Unknown operation")
	}
	if code, throttled := e.injected(op); throttled {
		return 0, nil, apiErr(http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
	} else if code == "denied" {
		return 0, nil, apiErr(http.StatusForbidden, "AccessDeniedException",
			"User: arn:aws:sts::%s:assumed-role/scaled/emulator is not authorized to perform: lambda:%s on resource: arn:aws:lambda:%s:%s:function:%s because no identity-based policy allows the lambda:%s action",
			e.opt.AccountID, op, e.opt.Region, e.opt.AccountID, fn, op)
	}
	if op == "GetAccountSettings" {
		return http.StatusOK, map[string]any{
			"AccountLimit": map[string]any{
				"CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800, "TotalCodeSize": 80530636800,
				"ConcurrentExecutions": e.opt.Concurrency, "UnreservedConcurrentExecutions": e.unreserved(),
			},
			"AccountUsage": map[string]any{"FunctionCount": len(e.functions), "TotalCodeSize": 0},
		}, nil
	}
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", e.opt.Region, e.opt.AccountID, fn)
	f := e.functions[fn]
	switch {
	case f == nil:
		return 0, nil, apiErr(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s", arn)
	case q == "":
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "Qualifier is required")
	case q == "$LATEST":
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	case !f.qualifiers[q]:
		return 0, nil, apiErr(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s:%s", arn, q)
	}
	pc := f.configs[q]
	switch op {
	case "GetProvisionedConcurrencyConfig":
		if pc == nil {
			return 0, nil, apiErr(http.StatusNotFound, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
		}
		return http.StatusOK, pc.wire(), nil
	case "DeleteProvisionedConcurrencyConfig":
		if pc == nil {
			return 0, nil, apiErr(http.StatusNotFound, "ResourceNotFoundException", "No Provisioned Concurrency Config found for %s:%s", arn, q)
		}
		delete(f.configs, q)
		return http.StatusNoContent, nil, nil
	}
	// PutProvisionedConcurrencyConfig
	v, ok := body["ProvisionedConcurrentExecutions"].(float64)
	if !ok || v < 1 || v != float64(int(v)) {
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "ProvisionedConcurrentExecutions must be an integer >= 1")
	}
	n, old := int(v), 0
	if pc != nil {
		old = pc.Requested
	}
	if e.unreserved()+old-n < MinUnreserved {
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException",
			"Specified ProvisionedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", MinUnreserved)
	}
	if pc == nil {
		pc = &pcConfig{}
		f.configs[q] = pc
	}
	now := e.clock.Now()
	pc.Requested, pc.Status, pc.StatusReason, pc.LastModified, pc.readyAt = n, "IN_PROGRESS", "", now, now.Add(e.opt.AllocationDelay)
	if reason, ok := f.failNext[q]; ok {
		pc.failReason = reason
		delete(f.failNext, q)
	}
	return http.StatusAccepted, pc.wire(), nil
}

func (pc *pcConfig) wire() map[string]any {
	m := map[string]any{
		"RequestedProvisionedConcurrentExecutions": pc.Requested,
		"AllocatedProvisionedConcurrentExecutions": pc.Allocated,
		"AvailableProvisionedConcurrentExecutions": pc.Available,
		"Status":       pc.Status,
		"LastModified": pc.LastModified.UTC().Format("2006-01-02T15:04:05.000-0700"),
	}
	if pc.StatusReason != "" {
		m["StatusReason"] = pc.StatusReason
	}
	return m
}
