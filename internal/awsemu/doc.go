// Package awsemu is an in-process emulator of the few Amazon RDS and AWS
// Lambda operations scaled uses, for tests: an http.Handler that the real
// aws-sdk-go-v2 clients reach through BaseEndpoint, so that their signing,
// serialisation, retries and error parsing run unchanged.
//
// It reproduces:
//   - the RDS Query API (version 2014-10-31): form-encoded Action=... requests,
//     XML responses and <ErrorResponse> errors, for DescribeDBClusters,
//     DescribeDBInstances (by identifier or the db-cluster-id filter),
//     CreateDBInstance (into an Aurora cluster), CreateDBInstanceReadReplica and
//     DeleteDBInstance, with tags on created instances and DBClusterMembers,
//     ReadReplicaDBInstanceIdentifiers and IsClusterWriter kept in step;
//   - the Lambda REST-JSON API: Put/Get/DeleteProvisionedConcurrencyConfig
//     (/2019-09-30/functions/{name}/provisioned-concurrency?Qualifier=...) and
//     GetAccountSettings (/2016-08-19/account-settings), with errors carried
//     in X-Amzn-ErrorType and a JSON body;
//   - asynchronous state on an injected clock: an instance is "creating" for
//     CreateDelay, then "available"; "deleting" for DeleteDelay, then gone;
//     a provisioned-concurrency config is IN_PROGRESS for AllocationDelay, then
//     READY, or FAILED with a reason when a failure was injected;
//   - the error codes of the RDS and Lambda API references: DBClusterNotFoundFault,
//     DBInstanceNotFound, DBInstanceAlreadyExists, InstanceQuotaExceeded,
//     InvalidDBInstanceState, InvalidDBClusterStateFault, InvalidParameterCombination,
//     Throttling and AccessDenied (RDS); ResourceNotFoundException,
//     ProvisionedConcurrencyConfigNotFoundException, InvalidParameterValueException,
//     ResourceConflictException, TooManyRequestsException and AccessDeniedException (Lambda);
//   - quotas: the account's DB instance quota, 15 readers per Aurora cluster
//     and 15 read replicas per source instance, the account's concurrency limit
//     and the 100 unreserved executions Lambda always keeps;
//   - injected throttling (the next n calls of an operation) and access denial
//     (every call of an operation until allowed again).
//
// It does not reproduce: signature checking (any credentials pass), regions,
// pagination (every list fits one page), instance modifications, failover and
// promotion, Aurora Serverless, cross-region replicas, final snapshots,
// reserved concurrency per function, aliases with routing weights, and the
// exact message texts of AWS (codes and HTTP statuses are the documented ones;
// where the references do not say which code a limit returns, as for the
// 16th Aurora reader or replica, it answers InstanceQuotaExceeded).
package awsemu
