// Package awsemu is an in-process emulator of the few Amazon RDS and AWS
// Lambda operations scaled uses, for tests: an http.Handler that the real
// aws-sdk-go-v2 clients reach through BaseEndpoint, so that their signing,
// serialisation, retries and error parsing run unchanged. It is as unkind
// as AWS where a test asks it to be, and each unkindness is switchable.
//
// Wire protocols:
//   - the RDS Query API (version 2014-10-31): form-encoded Action=... requests,
//     XML responses and <ErrorResponse> errors, for DescribeDBClusters,
//     DescribeDBInstances (by identifier, or the db-cluster-id and
//     db-instance-id filters), CreateDBInstance (into an Aurora cluster),
//     CreateDBInstanceReadReplica and DeleteDBInstance, with tags, promotion
//     tiers, Enhanced Monitoring, Performance Insights and the CA certificate
//     on created instances;
//   - the Lambda REST-JSON API: Put/Get/DeleteProvisionedConcurrencyConfig
//     (/2019-09-30/functions/{name}/provisioned-concurrency?Qualifier=...),
//     ListProvisionedConcurrencyConfigs (?List=ALL), GetFunctionConcurrency,
//     GetAlias (/2015-03-31/functions/{name}/aliases/{alias}) and
//     GetAccountSettings, with errors carried in X-Amzn-ErrorType and a JSON body.
//
// DB instances and Aurora clusters go through the statuses of the RDS User
// Guide ("Viewing DB instance status") and the Aurora User Guide ("DB
// cluster status"), on an injected clock:
//   - creating for CreateDelay, then available;
//   - after DeleteDBInstance, the DeletePhases (e.g. still available, then
//     delete-precheck, modifying or configuring-log-exports: the statuses
//     terraform-provider-aws's waitDBClusterInstanceDeleted and
//     waitDBInstanceDeleted wait through), then deleting for DeleteDelay,
//     then gone; a second DeleteDBInstance answers InvalidDBInstanceState
//     "is already being deleted", which its resourceClusterInstanceDelete
//     tolerates;
//   - any status a test sets, for good (failed, incompatible-parameters,
//     inaccessible-encryption-credentials, stopped) or for a while
//     (modifying, backing-up, configuring-*, storage-optimization, which
//     serve, the last one "fully operational" per the guide; rebooting,
//     which does not);
//   - failover (Aurora User Guide, "Fault tolerance for an Aurora DB
//     cluster"): the cluster is failing-over with no member marked writer
//     for FailoverDelay, then the target, or the reader of the lowest
//     promotion tier, the largest of the tier, becomes the writer and the
//     old writer a reader; with no reader the old writer is restarted in
//     place; deleting the writer fails the cluster over;
//   - Describe answers that lag: DescribeDBClusters and DescribeDBInstances
//     answer with the state of ClusterLag and InstanceLag ago (instances
//     created since are not listed yet, deleted ones still are), while
//     writes act on the present; a ClusterLag longer than FailoverDelay
//     names the old writer after the failover is over (the topology the
//     API reports "is not current", as AWS's own JDBC wrapper says);
//   - failover events (DescribeEvents, source type db-cluster, category
//     failover: RDS-EVENT-0073 at the start, RDS-EVENT-0071 at the end),
//     shown EventLag late, paged by MaxRecords and Marker (events.go);
//   - DescribeDBClusters and DescribeDBInstances in pages of MaxRecords
//     (20 to 100, default 100) with a Marker to go on (RDS API Reference);
//   - the account's request limits (Options.RequestLimits, limits.go): a
//     token bucket per service for every caller together, as RDS applies
//     its limit ("Request throttling for the Amazon RDS API": 300 requests
//     of burst and 12 per second by default, answered ThrottlingException
//     "Rate exceeded") and Lambda its control plane's 15 requests per second
//     ("Lambda quotas"; 429 TooManyRequestsException with Reason
//     CallerRateLimitExceeded); every call records its service and time;
//   - lost answers (LoseAnswers): the operation is carried out and answered
//     500 InternalFailure, so the SDK retries it;
//   - AddTagsToResource on a DB instance;
//   - read replicas: at most 15 per source, 5 for Oracle and SQL Server, 3
//     for Db2 (CreateDBInstanceReadReplica, SourceDBInstanceIdentifier);
//     VpcSecurityGroupIds left out give the VPC's default security group,
//     PubliclyAccessible left out follows PublicByDefault (a default VPC
//     makes instances public);
//   - InsufficientAvailableIPsInSubnetFault in a zone set by SetZoneIPs
//     (documented for a proxy's subnets; answered for instances, the
//     emulator's choice); no instance added to a Multi-AZ DB cluster
//     (engine mysql or postgres) nor to an Aurora Serverless v1 cluster
//     (EngineMode serverless); a db.serverless (Serverless v2) instance
//     only in a cluster with a capacity range (ServerlessV2, listed as
//     ServerlessV2ScalingConfiguration; the refusal's code and text are
//     the emulator's);
//   - global databases: a cluster lists its GlobalClusterIdentifier; a
//     secondary has no writer; DescribeGlobalClusters lists the members in
//     this region, the primary as IsWriter; PromoteSecondary makes a
//     secondary the primary, its best reader the writer, as a switchover
//     or failover of the global database does;
//   - KMSKeyNotAccessibleFault for a new instance in a cluster, or replica
//     of a source, whose key SetKeyAccessible made unusable;
//   - Lambda: ListProvisionedConcurrencyConfigs in pages of MaxItems (at
//     most 50, NextMarker), and ResourceConflictException "An update is in
//     progress for resource" while UpdateFunction's update runs;
//   - zones: a zone without capacity answers InsufficientDBInstanceCapacity
//     (the RDS status table: "create a new instance using a different
//     instance class or AZ"), a class not offered in a zone
//     InvalidParameterCombination; with no zone named, the emulator places
//     the instance in the emptiest zone that takes it, as AWS chooses one.
//
// Rules taken from the API references: CreateDBInstanceReadReplica takes
// DBParameterGroupName for a same-Region replica only of Oracle and Db2
// ("only supported for MySQL DB instances for cross-Region read replicas,
// for Multi-AZ DB cluster read replica instances, for Db2 DB instances, and
// for Oracle DB instances"); DeleteDBInstance needs SkipFinalSnapshot or a
// snapshot name outside a cluster, and a replica cannot have a final
// snapshot; a cluster that is not available refuses new instances
// (InvalidDBClusterStateFault; Aurora Auto Scaling also acts only on an
// available cluster); an Aurora cluster has at most 15 readers and a source
// at most 15 replicas, those being deleted included; the account's DB
// instance quota.
//
// Lambda follows the Developer Guide ("Configuring provisioned
// concurrency", "Managing concurrency"): one config per version, on the
// version or on one alias that points to it (ResourceConflictException
// otherwise, with the messages LocalStack's AWS-validated snapshots
// record); none on $LATEST or an alias that points to it; none changed or
// deleted while the alias has a routing configuration ("Alias with weights
// can not be used with Provisioned Concurrency"); moving an alias
// re-allocates its config (IN_PROGRESS, nothing available, for
// AllocationDelay); provisioned concurrency counts towards the function's
// reserved concurrency and may not exceed it; a function without a
// reservation takes it from the account's unreserved pool, which Lambda
// keeps at MinUnreserved or more ("decreases account's
// UnreservedConcurrentExecution below its minimum value of [100]", [10] on
// accounts with a low concurrency quota); deleting a config that is not
// there succeeds. A config is IN_PROGRESS for AllocationDelay, then READY,
// or FAILED with a reason when a failure was injected.
//
// Error codes are those of the RDS and Lambda API references:
// DBClusterNotFoundFault, DBInstanceNotFound, DBInstanceAlreadyExists,
// InstanceQuotaExceeded, InsufficientDBInstanceCapacity,
// InvalidDBInstanceState, InvalidDBClusterStateFault,
// InvalidParameterCombination, Throttling and AccessDenied (RDS);
// ResourceNotFoundException, ProvisionedConcurrencyConfigNotFoundException,
// InvalidParameterValueException, ResourceConflictException,
// TooManyRequestsException and AccessDeniedException (Lambda). Throttling
// (the next n calls of an operation) and access denial (every call of an
// operation until allowed again) are injected.
//
// It does not reproduce: signature checking, regions, markers that stay
// valid while the list changes between pages (a marker is a position),
// ModifyDBInstance, FailoverDBCluster over the wire
// (tests call Failover), the capacity of Aurora Serverless v2 instances
// (ACUs), a global database's other regions and its failover states,
// cross-Region replicas, final snapshots, instances that fail after creation for lack
// of capacity, and AWS's message texts except those quoted above. Where
// the references say nothing it chooses, and says so: the 16th reader or
// replica answers InstanceQuotaExceeded; DeleteDBInstance is refused with
// InvalidDBInstanceState during creating and the transitional statuses
// (modifying, rebooting, backing-up, configuring-*, ...); a class not
// offered in a zone is InvalidParameterCombination; readers equal in tier
// and size are promoted in identifier order (AWS: "an arbitrary replica");
// a lag is a constant age of the answer, and turning it on later cannot
// show history the emulator has already forgotten.
package awsemu
