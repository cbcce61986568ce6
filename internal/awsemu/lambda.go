package awsemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type function struct {
	name     string
	versions map[string]bool // published versions
	aliases  map[string]*alias
	reserved *int // PutFunctionConcurrency, nil without
	configs  map[string]*pcConfig
	failNext map[string]string // qualifier -> reason of the next allocation's failure
	updating time.Time         // an update of the function's code or configuration runs until then
}

type alias struct {
	version string             // a published version or $LATEST
	weights map[string]float64 // routing configuration: other version -> share
}

type pcConfig struct {
	Requested, Allocated, Available int
	Status, StatusReason            string
	LastModified                    time.Time
	readyAt                         time.Time
	failReason                      string
}

// AddFunction seeds a function with its published versions (numbers) and
// aliases (names), each alias pointing to the highest version listed (1
// when none is).
func (e *Emulator) AddFunction(name string, qualifiers ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &function{name: name, versions: map[string]bool{}, aliases: map[string]*alias{}, configs: map[string]*pcConfig{},
		failNext: map[string]string{}}
	latest := 0
	for _, q := range qualifiers {
		if n, err := strconv.Atoi(q); err == nil {
			f.versions[q] = true
			latest = max(latest, n)
		}
	}
	if latest == 0 {
		latest = 1
		f.versions["1"] = true
	}
	for _, q := range qualifiers {
		if _, err := strconv.Atoi(q); err != nil {
			f.aliases[q] = &alias{version: strconv.Itoa(latest)}
		}
	}
	e.functions[name] = f
}

// SetAlias points an alias at version (a published one, or "$LATEST") with
// an optional routing configuration. Moving an alias that has provisioned
// concurrency re-allocates it: the config is IN_PROGRESS with nothing
// available for AllocationDelay, as Lambda deallocates from the old version
// and allocates to the new one.
func (e *Emulator) SetAlias(function, name, version string, weights map[string]float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	f := e.functions[function]
	if version != "$LATEST" {
		f.versions[version] = true
	}
	a := f.aliases[name]
	if a == nil {
		a = &alias{}
		f.aliases[name] = a
	}
	if pc := f.configs[name]; pc != nil && a.version != version {
		pc.Status, pc.Allocated, pc.Available, pc.readyAt = "IN_PROGRESS", 0, 0, e.clock.Now().Add(e.opt.AllocationDelay)
	}
	a.version, a.weights = version, weights
}

// UpdateFunction starts an update of function's code or configuration
// that lasts d (LastUpdateStatus InProgress): until it ends, changes of its
// provisioned concurrency answer ResourceConflictException "The operation
// cannot be performed at this time. An update is in progress for resource"
// (Lambda API Reference: "another operation is in progress"; the message
// Lambda's function states brought, AWS Compute Blog "Tracking the state of
// Lambda functions").
func (e *Emulator) UpdateFunction(function string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.functions[function].updating = e.clock.Now().Add(d)
}

// SetReservedConcurrency reserves n concurrency for a function, as
// PutFunctionConcurrency does; a negative n removes the reservation.
func (e *Emulator) SetReservedConcurrency(function string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.functions[function]
	if n < 0 {
		f.reserved = nil
		return
	}
	f.reserved = &n
}

// SeedProvisioned gives function:qualifier a READY config of n, as if made
// long ago by someone else, without Put's checks.
func (e *Emulator) SeedProvisioned(function, qualifier string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.functions[function].configs[qualifier] = &pcConfig{Requested: n, Allocated: n, Available: n, Status: "READY",
		LastModified: e.clock.Now().Add(-24 * time.Hour)}
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

// SetMinUnreserved sets the concurrency Lambda keeps unreserved (100, or 10
// on accounts with a low concurrency quota).
func (e *Emulator) SetMinUnreserved(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opt.MinUnreserved = n
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

func (e *Emulator) advanceLambda(now time.Time) {
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

// provisionedTotal is the concurrency f's configs request.
func (f *function) provisionedTotal() int {
	n := 0
	for _, pc := range f.configs {
		n += pc.Requested
	}
	return n
}

// unreserved is the account's concurrency that no function holds: reserved
// concurrency, and the provisioned concurrency of functions without a
// reservation, which Lambda takes from the unreserved pool (its refusal
// says a config "decreases account's UnreservedConcurrentExecution").
func (e *Emulator) unreserved() int {
	n := e.opt.Concurrency
	for _, f := range e.functions {
		if f.reserved != nil {
			n -= *f.reserved
		} else {
			n -= f.provisionedTotal()
		}
	}
	return n
}

// version is what qualifier q of f runs: itself for a version, the
// alias's version for an alias; ok is false when q names neither.
func (f *function) version(q string) (string, bool) {
	if f.versions[q] {
		return q, true
	}
	if a := f.aliases[q]; a != nil {
		return a.version, true
	}
	return "", false
}

// lambdaRequest is one parsed Lambda request.
type lambdaRequest struct {
	op, fn, qual, aliasName string
	marker, maxItems        string // ListProvisionedConcurrencyConfigs' paging
	body                    map[string]any
}

func parseLambda(r *http.Request) lambdaRequest {
	req := lambdaRequest{qual: r.URL.Query().Get("Qualifier"), marker: r.URL.Query().Get("Marker"), maxItems: r.URL.Query().Get("MaxItems")}
	if strings.HasPrefix(r.URL.Path, "/2016-08-19/account-settings") {
		req.op = "GetAccountSettings"
		return req
	}
	rest := r.URL.EscapedPath()
	rest = rest[strings.Index(rest, "/functions/")+len("/functions/"):]
	name, tail, _ := strings.Cut(rest, "/")
	req.fn, _ = url.PathUnescape(name)
	if i := strings.LastIndex(req.fn, "function:"); i >= 0 { // an ARN or partial ARN
		req.fn = req.fn[i+len("function:"):]
	}
	switch {
	case tail == "provisioned-concurrency" && r.Method == http.MethodGet && r.URL.Query().Get("List") == "ALL":
		req.op = "ListProvisionedConcurrencyConfigs"
	case tail == "provisioned-concurrency" && r.Method == http.MethodPut:
		req.op = "PutProvisionedConcurrencyConfig"
	case tail == "provisioned-concurrency" && r.Method == http.MethodGet:
		req.op = "GetProvisionedConcurrencyConfig"
	case tail == "provisioned-concurrency" && r.Method == http.MethodDelete:
		req.op = "DeleteProvisionedConcurrencyConfig"
	case tail == "concurrency" && r.Method == http.MethodGet:
		req.op = "GetFunctionConcurrency"
	case strings.HasPrefix(tail, "aliases/") && r.Method == http.MethodGet:
		req.op = "GetAlias"
		req.aliasName, _ = url.PathUnescape(strings.TrimPrefix(tail, "aliases/"))
	}
	if r.Method == http.MethodPut {
		_ = json.NewDecoder(r.Body).Decode(&req.body)
	}
	return req
}

func (e *Emulator) serveLambda(w http.ResponseWriter, r *http.Request) {
	req := parseLambda(r)
	params := map[string]string{"FunctionName": req.fn, "Qualifier": req.qual}
	if req.aliasName != "" {
		params["Name"] = req.aliasName
	}
	for k, v := range req.body {
		params[k] = fmt.Sprint(v)
	}
	status, out, err := e.lambdaOp(req)
	if err != nil {
		e.record(ServiceLambda, req.op, params, err.code)
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
	e.record(ServiceLambda, req.op, params, "")
	w.Header().Set("X-Amzn-RequestId", e.requestID())
	if out == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func (e *Emulator) lambdaOp(req lambdaRequest) (int, any, *apiError) {
	op, fn, q := req.op, req.fn, req.qual
	if op == "" {
		return 0, nil, apiErr(http.StatusNotFound, "UnknownOperationException", "Unknown operation")
	}
	if !e.admit(ServiceLambda) {
		return 0, nil, lambdaRateExceeded()
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
	if f == nil {
		return 0, nil, apiErr(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s", arn)
	}
	switch op {
	case "GetAlias":
		a := f.aliases[req.aliasName]
		if a == nil {
			return 0, nil, apiErr(http.StatusNotFound, "ResourceNotFoundException", "Cannot find alias arn: %s:%s", arn, req.aliasName)
		}
		out := map[string]any{"AliasArn": arn + ":" + req.aliasName, "Name": req.aliasName, "FunctionVersion": a.version,
			"Description": "", "RevisionId": fmt.Sprintf("00000000-0000-4000-8000-%012d", len(a.weights))}
		if len(a.weights) > 0 {
			out["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": a.weights}
		}
		return http.StatusOK, out, nil
	case "GetFunctionConcurrency":
		if f.reserved == nil {
			return http.StatusOK, map[string]any{}, nil
		}
		return http.StatusOK, map[string]any{"ReservedConcurrentExecutions": *f.reserved}, nil
	case "ListProvisionedConcurrencyConfigs":
		// Pages of MaxItems (1 to 50, default 50), NextMarker to go on
		// (Lambda API Reference, ListProvisionedConcurrencyConfigs).
		size, from := 50, 0
		if req.maxItems != "" {
			n, err := strconv.Atoi(req.maxItems)
			if err != nil || n < 1 || n > 50 {
				return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "MaxItems must be between 1 and 50.")
			}
			size = n
		}
		if req.marker != "" {
			n, err := strconv.Atoi(req.marker)
			if err != nil || n < 0 {
				return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "Invalid Marker.")
			}
			from = n
		}
		keys := slices.Sorted(maps.Keys(f.configs))
		list := []map[string]any{}
		for i := from; i < len(keys) && i < from+size; i++ {
			item := f.configs[keys[i]].wire()
			item["FunctionArn"] = arn + ":" + keys[i]
			list = append(list, item)
		}
		out := map[string]any{"ProvisionedConcurrencyConfigs": list}
		if from+size < len(keys) {
			out["NextMarker"] = strconv.Itoa(from + size)
		}
		return http.StatusOK, out, nil
	}
	// Get, Put and Delete of one qualifier's provisioned concurrency.
	version, exists := f.version(q)
	switch {
	case q == "":
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "Qualifier is required")
	case q == "$LATEST" && op == "PutProvisionedConcurrencyConfig":
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	case q == "$LATEST":
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "The function resource provided must be an alias or a published version.")
	case !exists:
		return 0, nil, apiErr(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s:%s", arn, q)
	}
	pc := f.configs[q]
	a := f.aliases[q]
	if op != "GetProvisionedConcurrencyConfig" && e.clock.Now().Before(f.updating) {
		return 0, nil, apiErr(http.StatusConflict, "ResourceConflictException",
			"The operation cannot be performed at this time. An update is in progress for resource: %s", arn)
	}
	switch op {
	case "GetProvisionedConcurrencyConfig":
		if pc == nil {
			return 0, nil, apiErr(http.StatusNotFound, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
		}
		return http.StatusOK, pc.wire(), nil
	case "DeleteProvisionedConcurrencyConfig":
		if a != nil && len(a.weights) > 0 {
			return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "Alias with weights can not be used with Provisioned Concurrency")
		}
		delete(f.configs, q) // deleting a config that is not there succeeds
		return http.StatusNoContent, nil, nil
	}
	// PutProvisionedConcurrencyConfig (Lambda Developer Guide, "Configuring
	// provisioned concurrency"): one config per version, on it or on one
	// alias that points to it; none on $LATEST; none while an alias has a
	// routing configuration.
	if version == "$LATEST" {
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	if a != nil && len(a.weights) > 0 {
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "Alias with weights can not be used with Provisioned Concurrency")
	}
	for other, opc := range f.configs {
		if other == q || opc == nil {
			continue
		}
		switch ov, _ := f.version(other); {
		case a != nil && ov == version:
			return 0, nil, apiErr(http.StatusConflict, "ResourceConflictException", "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
		case a == nil && f.aliases[other] != nil && ov == q:
			return 0, nil, apiErr(http.StatusConflict, "ResourceConflictException", "Version is pointed by a Provisioned Concurrency alias")
		}
	}
	v, ok := req.body["ProvisionedConcurrentExecutions"].(float64)
	if !ok || v < 1 || v != float64(int(v)) {
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException", "ProvisionedConcurrentExecutions must be an integer >= 1")
	}
	n, old := int(v), 0
	if pc != nil {
		old = pc.Requested
	}
	switch {
	case f.reserved != nil && f.provisionedTotal()-old+n > *f.reserved:
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException",
			"Specified ConcurrentExecutions for function exceeds its reserved concurrency of [%d].", *f.reserved)
	case f.reserved == nil && e.unreserved()+old-n < e.opt.MinUnreserved:
		return 0, nil, apiErr(http.StatusBadRequest, "InvalidParameterValueException",
			"Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", e.opt.MinUnreserved)
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
