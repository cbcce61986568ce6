package awsemu

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const rdsNamespace = "http://rds.amazonaws.com/doc/2014-10-31/"

// Tag is an RDS resource tag.
type Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type cluster struct {
	ID, Engine, EngineVersion, Status, SubnetGroup string
	EngineMode                                     string     // "provisioned", or "serverless" (Serverless v1)
	GlobalCluster                                  string     // the global database it belongs to, if any
	Secondary                                      bool       // a global database's secondary: no writer
	ServerlessV2                                   [2]float64 // MinCapacity, MaxCapacity in ACUs; zero: none set
	AZs                                            []string
	WriterID                                       string // "" while failing over, or headless
	hist                                           []clusterStamp
	failoverEnd                                    time.Time // non-zero while failing over
	failoverFrom, failoverTo                       string
}

// Settings are the monitoring settings an instance carries and a new
// reader should copy: Enhanced Monitoring, Performance Insights and the CA.
type Settings struct {
	MonitoringInterval  int // seconds, 0 is off
	MonitoringRoleARN   string
	PerformanceInsights bool
	PIRetentionDays     int
	CACertificate       string
}

// Network is what decides whether a client can reach an instance, and its
// storage: what a read replica should take from its source.
type Network struct {
	SecurityGroups []string // VPC security group IDs
	Public         bool     // PubliclyAccessible
	StorageType    string   // gp2, gp3, io1, ...
	MaxAllocated   int      // storage autoscaling ceiling in GiB, 0 is off
}

type instance struct {
	ID, Class, Engine, EngineVersion, Status string
	AZ, SubnetGroup, ParameterGroup          string
	ClusterID                                string // Aurora member
	SourceID                                 string // RDS read replica of
	PromotionTier                            int
	Settings
	Network
	Tags       []Tag
	CreateTime *time.Time

	hist     []instStamp
	born     time.Time // the request that made it (a seeded one: a day ago)
	readyAt  time.Time // creating -> available
	revertAt time.Time // a degraded status ends
	revertTo string

	deleteAsked bool
	phases      []Phase
	phaseEnd    time.Time
	goneAt      time.Time
}

// ClusterSpec seeds an Aurora cluster with an available writer.
type ClusterSpec struct {
	ID, Engine, EngineVersion string
	WriterID, WriterClass     string
	ParameterGroup            string
	SubnetGroup               string
	AZs                       []string // the writer lives in AZs[0]
	WriterSettings            Settings
	WriterPublic              bool // the writer's PubliclyAccessible
	// EngineMode is "provisioned" (the default) or "serverless", an Aurora
	// Serverless v1 cluster, which has no reader: "You can't create an
	// Aurora Replica for an Aurora Serverless v1 DB cluster" (Aurora User
	// Guide, "Adding Aurora Replicas to a DB cluster").
	EngineMode string
	// ServerlessV2 is the cluster's Serverless v2 capacity range
	// (MinCapacity, MaxCapacity), which must be set before a db.serverless
	// instance is added ("Clusters that use Aurora Serverless v2 must have
	// a capacity range specified"); zero: none.
	ServerlessV2 [2]float64
	// GlobalCluster names the Aurora global database the cluster belongs
	// to; Secondary makes it a secondary cluster, which "doesn't have a
	// writer primary DB instance" (Aurora User Guide, "Using Amazon Aurora
	// global databases"): WriterID is then one of its readers.
	GlobalCluster string
	Secondary     bool
}

// AddCluster seeds an available cluster and its writer, created a day ago.
func (e *Emulator) AddCluster(s ClusterSpec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	born := e.clock.Now().Add(-24 * time.Hour)
	c := &cluster{ID: s.ID, Engine: s.Engine, EngineVersion: s.EngineVersion, SubnetGroup: s.SubnetGroup, AZs: s.AZs,
		EngineMode: s.EngineMode, ServerlessV2: s.ServerlessV2, GlobalCluster: s.GlobalCluster, Secondary: s.Secondary}
	if c.EngineMode == "" {
		c.EngineMode = "provisioned"
	}
	writer := s.WriterID
	if s.Secondary {
		writer = ""
	}
	e.setCluster(c, StatusAvailable, writer, born)
	e.clusters[s.ID] = c
	w := &instance{ID: s.WriterID, Class: s.WriterClass, Engine: s.Engine, EngineVersion: s.EngineVersion,
		AZ: s.AZs[0], SubnetGroup: s.SubnetGroup, ParameterGroup: s.ParameterGroup, ClusterID: s.ID, PromotionTier: 1,
		Settings: s.WriterSettings, CreateTime: &born, born: born}
	w.Public = s.WriterPublic
	e.setStatus(w, StatusAvailable, born)
	e.instances[s.WriterID] = w
}

// SetClusterStatus sets a cluster's status (e.g. "modifying").
func (e *Emulator) SetClusterStatus(id, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	c := e.clusters[id]
	e.setCluster(c, status, c.WriterID, e.clock.Now())
}

// InstanceSpec seeds an instance. Set ClusterID for an Aurora reader made by
// someone else, SourceID for a read replica, neither for a standalone source.
type InstanceSpec struct {
	ID, Class, Engine, AZ, SubnetGroup, ParameterGroup string
	ClusterID, SourceID                                string
	Tags                                               []Tag
	Status                                             string // default available
	PromotionTier                                      int    // default 1, as CreateDBInstance's
	Settings                                           Settings
	Network                                            Network
	Created                                            time.Time // default a day ago
}

// AddInstance seeds an instance.
func (e *Emulator) AddInstance(s InstanceSpec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.Status == "" {
		s.Status = StatusAvailable
	}
	born := s.Created
	if born.IsZero() {
		born = e.clock.Now().Add(-24 * time.Hour)
	}
	tier := s.PromotionTier
	if tier == 0 {
		tier = 1
	}
	in := &instance{ID: s.ID, Class: s.Class, Engine: s.Engine, AZ: s.AZ, SubnetGroup: s.SubnetGroup,
		ParameterGroup: s.ParameterGroup, ClusterID: s.ClusterID, SourceID: s.SourceID, PromotionTier: tier,
		Settings: s.Settings, Network: s.Network, Tags: s.Tags, CreateTime: &born, born: born, readyAt: e.clock.Now().Add(e.opt.CreateDelay)}
	e.setStatus(in, s.Status, born)
	e.instances[s.ID] = in
}

// InstanceState is what a test may check about an instance, as it is now.
type InstanceState struct {
	ID, Class, Engine, Status, AZ, SubnetGroup, ParameterGroup, ClusterID, SourceID string
	PromotionTier                                                                   int
	Settings                                                                        Settings
	Network                                                                         Network
	Writer                                                                          bool // its cluster's writer now
	DeleteAsked                                                                     bool // DeleteDBInstance was accepted
	Tags                                                                            map[string]string
}

// Instances returns every instance, by identifier, as it is now.
func (e *Emulator) Instances() []InstanceState {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	var out []InstanceState
	for _, id := range slices.Sorted(maps.Keys(e.instances)) {
		in := e.instances[id]
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		c := e.clusters[in.ClusterID]
		out = append(out, InstanceState{ID: in.ID, Class: in.Class, Engine: in.Engine, Status: in.Status, AZ: in.AZ,
			SubnetGroup: in.SubnetGroup, ParameterGroup: in.ParameterGroup, ClusterID: in.ClusterID, SourceID: in.SourceID,
			PromotionTier: in.PromotionTier, Settings: in.Settings, Network: in.Network, Writer: c != nil && c.WriterID == in.ID,
			DeleteAsked: in.deleteAsked, Tags: tags})
	}
	return out
}

// apiError is a service error: the HTTP status, the error code the SDK
// matches on and its message. Each service writes it in its own wire shape
// (RDS an <ErrorResponse>, Lambda a JSON body and an X-Amzn-ErrorType header).
type apiError struct {
	status  int
	code    string
	message string
}

func apiErr(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// rdsActions are the RDS actions the emulator answers, by name.
var rdsActions = map[string]func(*Emulator, map[string]string) (string, *apiError){
	"DescribeDBClusters":          (*Emulator).describeDBClusters,
	"DescribeDBInstances":         (*Emulator).describeDBInstances,
	"CreateDBInstance":            (*Emulator).createDBInstance,
	"CreateDBInstanceReadReplica": (*Emulator).createReadReplica,
	"DeleteDBInstance":            (*Emulator).deleteDBInstance,
	"DescribeEvents":              (*Emulator).describeEvents,
	"DescribeGlobalClusters":      (*Emulator).describeGlobalClusters,
	"AddTagsToResource":           (*Emulator).addTags,
}

func (e *Emulator) serveRDS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		e.writeRDSError(w, apiErr(http.StatusBadRequest, "MalformedQueryString", "want a form-encoded POST"))
		return
	}
	form := r.PostForm
	op := form.Get("Action")
	params := map[string]string{}
	for k := range form {
		params[k] = form.Get(k)
	}
	var body string
	var err *apiError
	switch code, throttled := e.injected(op); {
	case form.Get("Version") != "2014-10-31":
		err = apiErr(http.StatusBadRequest, "InvalidAction", "version %q is not 2014-10-31", form.Get("Version"))
	case !e.admit(ServiceRDS):
		err = rdsRateExceeded()
	case throttled:
		err = apiErr(http.StatusBadRequest, "Throttling", "Rate exceeded")
	case code == "denied":
		err = apiErr(http.StatusForbidden, "AccessDenied",
			"User: arn:aws:sts::%s:assumed-role/scaled/emulator is not authorized to perform: rds:%s because no identity-based policy allows the rds:%s action",
			e.opt.AccountID, op, op)
	case rdsActions[op] == nil:
		err = apiErr(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", op)
	default:
		body, err = rdsActions[op](e, params)
	}
	if err != nil {
		e.record(ServiceRDS, op, params, err.code)
		e.writeRDSError(w, err)
		return
	}
	if e.lost(op) {
		e.calls = append(e.calls, Call{Op: op, Service: ServiceRDS, At: e.clock.Now(), Attempt: e.attempt, Params: params, Code: "InternalFailure", Lost: true})
		e.writeRDSError(w, apiErr(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."))
		return
	}
	e.record(ServiceRDS, op, params, "")
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		op, rdsNamespace, op, body, op, e.requestID(), op)
}

func (e *Emulator) writeRDSError(w http.ResponseWriter, err *apiError) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(err.status)
	var msg bytes.Buffer
	_ = xml.EscapeText(&msg, []byte(err.message))
	typ := "Sender"
	if err.status >= 500 {
		typ = "Receiver"
	}
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		rdsNamespace, typ, err.code, msg.String(), e.requestID())
}

// Wire shapes of the responses.
type (
	xCluster struct {
		XMLName             xml.Name       `xml:"DBCluster"`
		DBClusterIdentifier string         `xml:"DBClusterIdentifier"`
		DBClusterArn        string         `xml:"DBClusterArn"`
		Engine              string         `xml:"Engine"`
		EngineVersion       string         `xml:"EngineVersion"`
		EngineMode          string         `xml:"EngineMode"`
		Status              string         `xml:"Status"`
		DBSubnetGroup       string         `xml:"DBSubnetGroup"`
		GlobalCluster       string         `xml:"GlobalClusterIdentifier,omitempty"`
		ServerlessV2        *xServerlessV2 `xml:"ServerlessV2ScalingConfiguration,omitempty"`
		AvailabilityZones   []string       `xml:"AvailabilityZones>AvailabilityZone"`
		Members             []xMember      `xml:"DBClusterMembers>DBClusterMember"`
	}
	xServerlessV2 struct {
		MinCapacity float64 `xml:"MinCapacity"`
		MaxCapacity float64 `xml:"MaxCapacity"`
	}
	xGlobalCluster struct {
		XMLName                 xml.Name        `xml:"GlobalClusterMember"`
		GlobalClusterIdentifier string          `xml:"GlobalClusterIdentifier"`
		Status                  string          `xml:"Status"`
		Members                 []xGlobalMember `xml:"GlobalClusterMembers>GlobalClusterMember"`
	}
	xGlobalMember struct {
		DBClusterArn string `xml:"DBClusterArn"`
		IsWriter     bool   `xml:"IsWriter"`
	}
	xMember struct {
		DBInstanceIdentifier string `xml:"DBInstanceIdentifier"`
		IsClusterWriter      bool   `xml:"IsClusterWriter"`
		PromotionTier        int    `xml:"PromotionTier"`
	}
	xInstance struct {
		XMLName              xml.Name    `xml:"DBInstance"`
		DBInstanceIdentifier string      `xml:"DBInstanceIdentifier"`
		DBInstanceArn        string      `xml:"DBInstanceArn"`
		DBInstanceClass      string      `xml:"DBInstanceClass"`
		Engine               string      `xml:"Engine"`
		EngineVersion        string      `xml:"EngineVersion,omitempty"`
		DBInstanceStatus     string      `xml:"DBInstanceStatus"`
		AvailabilityZone     string      `xml:"AvailabilityZone,omitempty"`
		DBClusterIdentifier  string      `xml:"DBClusterIdentifier,omitempty"`
		InstanceCreateTime   string      `xml:"InstanceCreateTime,omitempty"`
		PromotionTier        *int        `xml:"PromotionTier,omitempty"`
		ReplicaSource        string      `xml:"ReadReplicaSourceDBInstanceIdentifier,omitempty"`
		Replicas             []string    `xml:"ReadReplicaDBInstanceIdentifiers>ReadReplicaDBInstanceIdentifier"`
		ParameterGroups      []xParamGrp `xml:"DBParameterGroups>DBParameterGroup"`
		SubnetGroup          *xSubnetGrp `xml:"DBSubnetGroup,omitempty"`
		MonitoringInterval   int         `xml:"MonitoringInterval"`
		MonitoringRoleArn    string      `xml:"MonitoringRoleArn,omitempty"`
		PIEnabled            bool        `xml:"PerformanceInsightsEnabled"`
		PIRetention          int         `xml:"PerformanceInsightsRetentionPeriod,omitempty"`
		CACertificate        string      `xml:"CACertificateIdentifier,omitempty"`
		SecurityGroups       []xSG       `xml:"VpcSecurityGroups>VpcSecurityGroupMembership"`
		Public               bool        `xml:"PubliclyAccessible"`
		StorageType          string      `xml:"StorageType,omitempty"`
		MaxAllocated         int         `xml:"MaxAllocatedStorage,omitempty"`
		Tags                 []Tag       `xml:"TagList>Tag"`
	}
	xSG struct {
		ID     string `xml:"VpcSecurityGroupId"`
		Status string `xml:"Status"`
	}
	xParamGrp struct {
		DBParameterGroupName string `xml:"DBParameterGroupName"`
		ParameterApplyStatus string `xml:"ParameterApplyStatus"`
	}
	xSubnetGrp struct {
		DBSubnetGroupName string    `xml:"DBSubnetGroupName"`
		Subnets           []xSubnet `xml:"Subnets>Subnet"`
	}
	xSubnet struct {
		SubnetIdentifier string `xml:"SubnetIdentifier"`
		AZ               string `xml:"SubnetAvailabilityZone>Name"`
	}
)

func (e *Emulator) arn(kind, id string) string {
	return fmt.Sprintf("arn:aws:rds:%s:%s:%s:%s", e.opt.Region, e.opt.AccountID, kind, id)
}

// subnetAZs are the AZs a subnet group covers: those of every cluster using
// it, or three of the region's.
func (e *Emulator) subnetAZs(group string) []string {
	for _, id := range slices.Sorted(maps.Keys(e.clusters)) {
		if c := e.clusters[id]; c.SubnetGroup == group && len(c.AZs) > 0 {
			return c.AZs
		}
	}
	return []string{e.opt.Region + "a", e.opt.Region + "b", e.opt.Region + "c"}
}

// wireInstance renders an instance as seen at a time, with the status it
// showed then and the read replicas then visible.
func (e *Emulator) wireInstance(in *instance, status string, view []seen) xInstance {
	x := xInstance{DBInstanceIdentifier: in.ID, DBInstanceArn: e.arn("db", in.ID), DBInstanceClass: in.Class, Engine: in.Engine,
		EngineVersion: in.EngineVersion, DBInstanceStatus: status, AvailabilityZone: in.AZ, DBClusterIdentifier: in.ClusterID,
		ReplicaSource: in.SourceID, Tags: in.Tags, MonitoringInterval: in.MonitoringInterval, MonitoringRoleArn: in.MonitoringRoleARN,
		PIEnabled: in.PerformanceInsights, PIRetention: in.PIRetentionDays, CACertificate: in.CACertificate,
		Public: in.Public, StorageType: in.StorageType, MaxAllocated: in.MaxAllocated}
	for _, sg := range in.SecurityGroups {
		x.SecurityGroups = append(x.SecurityGroups, xSG{ID: sg, Status: "active"})
	}
	if in.ClusterID != "" {
		tier := in.PromotionTier
		x.PromotionTier = &tier
	}
	for _, s := range view {
		if s.in.SourceID == in.ID {
			x.Replicas = append(x.Replicas, s.in.ID)
		}
	}
	if in.CreateTime != nil && status != StatusCreating {
		x.InstanceCreateTime = in.CreateTime.UTC().Format(time.RFC3339)
	}
	if in.ParameterGroup != "" {
		x.ParameterGroups = []xParamGrp{{DBParameterGroupName: in.ParameterGroup, ParameterApplyStatus: "in-sync"}}
	}
	if in.SubnetGroup != "" {
		sg := &xSubnetGrp{DBSubnetGroupName: in.SubnetGroup}
		for i, az := range e.subnetAZs(in.SubnetGroup) {
			sg.Subnets = append(sg.Subnets, xSubnet{SubnetIdentifier: fmt.Sprintf("subnet-%04d", i), AZ: az})
		}
		x.SubnetGroup = sg
	}
	return x
}

func marshal(v any) string {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(err) // the wire shapes above always marshal
	}
	return string(b)
}

func (e *Emulator) describeDBClusters(p map[string]string) (string, *apiError) {
	ids := slices.Sorted(maps.Keys(e.clusters))
	if id := p["DBClusterIdentifier"]; id != "" {
		if e.clusters[id] == nil {
			return "", apiErr(http.StatusNotFound, "DBClusterNotFoundFault", "DBCluster %s not found.", id)
		}
		ids = []string{id}
	}
	t := e.clock.Now().Add(-e.opt.ClusterLag)
	view := e.visibleAt(t)
	return page(p, "DBClusters", ids, func(id string) any {
		c := e.clusters[id]
		status, writer := c.viewAt(t)
		x := xCluster{DBClusterIdentifier: c.ID, DBClusterArn: e.arn("cluster", c.ID), Engine: c.Engine, EngineVersion: c.EngineVersion,
			EngineMode: c.EngineMode, Status: status, DBSubnetGroup: c.SubnetGroup, AvailabilityZones: c.AZs, GlobalCluster: c.GlobalCluster}
		if c.ServerlessV2[1] > 0 {
			x.ServerlessV2 = &xServerlessV2{MinCapacity: c.ServerlessV2[0], MaxCapacity: c.ServerlessV2[1]}
		}
		for _, s := range view {
			if s.in.ClusterID == c.ID {
				x.Members = append(x.Members, xMember{DBInstanceIdentifier: s.in.ID, IsClusterWriter: s.in.ID == writer, PromotionTier: s.in.PromotionTier})
			}
		}
		return x
	})
}

// describeGlobalClusters lists the global database named
// GlobalClusterIdentifier: its members in this account and region, the
// primary as the writer (the emulator holds one region; a secondary's
// primary elsewhere is not listed).
func (e *Emulator) describeGlobalClusters(p map[string]string) (string, *apiError) {
	id := p["GlobalClusterIdentifier"]
	g := xGlobalCluster{GlobalClusterIdentifier: id, Status: "available"}
	for _, cid := range slices.Sorted(maps.Keys(e.clusters)) {
		if c := e.clusters[cid]; c.GlobalCluster == id && id != "" {
			g.Members = append(g.Members, xGlobalMember{DBClusterArn: e.arn("cluster", c.ID), IsWriter: !c.Secondary})
		}
	}
	if len(g.Members) == 0 {
		return "", apiErr(http.StatusNotFound, "GlobalClusterNotFoundFault", "Global cluster %s not found.", id)
	}
	return "<GlobalClusters>" + marshal(g) + "</GlobalClusters>", nil
}

// filters reads Filters.Filter.N.Name and Filters.Filter.N.Values.Value.M.
func filters(p map[string]string) map[string][]string {
	out := map[string][]string{}
	for n := 1; ; n++ {
		name, ok := p[fmt.Sprintf("Filters.Filter.%d.Name", n)]
		if !ok {
			return out
		}
		for m := 1; ; m++ {
			v, ok := p[fmt.Sprintf("Filters.Filter.%d.Values.Value.%d", n, m)]
			if !ok {
				break
			}
			out[name] = append(out[name], v)
		}
	}
}

// tags reads Tags.Tag.N.Key and .Value.
func tags(p map[string]string) []Tag {
	var out []Tag
	for n := 1; ; n++ {
		k, ok := p[fmt.Sprintf("Tags.Tag.%d.Key", n)]
		if !ok {
			return out
		}
		out = append(out, Tag{Key: k, Value: p[fmt.Sprintf("Tags.Tag.%d.Value", n)]})
	}
}

func (e *Emulator) describeDBInstances(p map[string]string) (string, *apiError) {
	view := e.visibleAt(e.clock.Now().Add(-e.opt.InstanceLag))
	f := filters(p)
	for name := range f {
		if name != "db-cluster-id" && name != "db-instance-id" {
			return "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "Unrecognized filter name: %s.", name)
		}
	}
	id := p["DBInstanceIdentifier"]
	var match []seen
	for _, s := range view {
		in := s.in
		if id != "" && in.ID != id {
			continue
		}
		if v, ok := f["db-cluster-id"]; ok && !slices.Contains(v, in.ClusterID) && !slices.Contains(v, e.arn("cluster", in.ClusterID)) {
			continue
		}
		if v, ok := f["db-instance-id"]; ok && !slices.Contains(v, in.ID) && !slices.Contains(v, e.arn("db", in.ID)) {
			continue
		}
		match = append(match, s)
	}
	if id != "" && len(match) == 0 {
		return "", apiErr(http.StatusNotFound, "DBInstanceNotFound", "DBInstance %s not found.", id)
	}
	return page(p, "DBInstances", match, func(s seen) any { return e.wireInstance(s.in, s.status, view) })
}

// checkNew refuses an identifier in use and a full account.
func (e *Emulator) checkNew(id string) *apiError {
	if id == "" {
		return apiErr(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter DBInstanceIdentifier")
	}
	if e.instances[id] != nil {
		return apiErr(http.StatusBadRequest, "DBInstanceAlreadyExists", "DB instance already exists")
	}
	if len(e.instances) >= e.opt.InstanceQuota {
		return apiErr(http.StatusBadRequest, "InstanceQuotaExceeded", "The request would result in the user exceeding the allowed number of DB instances (%d).", e.opt.InstanceQuota)
	}
	return nil
}

// settings reads the monitoring settings of a create request.
func settings(p map[string]string) (Settings, *apiError) {
	var s Settings
	if v := p["MonitoringInterval"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains([]string{"0", "1", "5", "10", "15", "30", "60"}, v) {
			return s, apiErr(http.StatusBadRequest, "InvalidParameterValue", "Invalid MonitoringInterval %s: valid values are 0, 1, 5, 10, 15, 30, 60.", v)
		}
		s.MonitoringInterval = n
	}
	s.MonitoringRoleARN = p["MonitoringRoleArn"]
	if s.MonitoringInterval > 0 && s.MonitoringRoleARN == "" {
		return s, apiErr(http.StatusBadRequest, "InvalidParameterCombination", "A MonitoringRoleARN value is required if you specify a MonitoringInterval value other than 0.")
	}
	s.PerformanceInsights = p["EnablePerformanceInsights"] == "true"
	if v := p["PerformanceInsightsRetentionPeriod"]; v != "" {
		s.PIRetentionDays, _ = strconv.Atoi(v)
	}
	s.CACertificate = p["CACertificateIdentifier"]
	return s, nil
}

// placeIn checks that zone az can take a new instance of class, or, with az
// "", picks the zone of zones with room and the fewest instances.
func (e *Emulator) placeIn(az, class string, zones []string, inZone func(string) int) (string, *apiError) {
	fits := func(z string) *apiError {
		switch {
		case e.unoffered[z+"/"+class]:
			return apiErr(http.StatusBadRequest, "InvalidParameterCombination", "DB instance class %s is not offered in availability zone %s.", class, z)
		case e.noIPs[z]:
			return apiErr(http.StatusBadRequest, "InsufficientAvailableIPsInSubnetFault",
				"The requested operation can't be performed because there aren't enough available IP addresses in the subnet of availability zone %s.", z)
		case e.noCap[z]:
			return apiErr(http.StatusBadRequest, "InsufficientDBInstanceCapacity",
				"Cannot create a database instance because there is insufficient capacity in availability zone %s. Try another availability zone or instance class.", z)
		}
		return nil
	}
	if az != "" {
		return az, fits(az)
	}
	best := ""
	for _, z := range zones {
		if fits(z) == nil && (best == "" || inZone(z) < inZone(best)) {
			best = z
		}
	}
	if best == "" {
		return "", apiErr(http.StatusBadRequest, "InsufficientDBInstanceCapacity",
			"Cannot create a database instance because there is insufficient capacity of class %s in every availability zone of the subnet group.", class)
	}
	return best, nil
}

func (e *Emulator) createDBInstance(p map[string]string) (string, *apiError) {
	id := p["DBInstanceIdentifier"]
	if err := e.checkNew(id); err != nil {
		return "", err
	}
	for _, req := range []string{"DBInstanceClass", "Engine"} {
		if p[req] == "" {
			return "", apiErr(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter %s", req)
		}
	}
	s, aerr := settings(p)
	if aerr != nil {
		return "", aerr
	}
	tier := 1
	if v := p["PromotionTier"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 15 {
			return "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "Invalid PromotionTier %s: valid values are 0 to 15.", v)
		}
		tier = n
	}
	now := e.clock.Now()
	in := &instance{ID: id, Class: p["DBInstanceClass"], Engine: p["Engine"], AZ: p["AvailabilityZone"],
		SubnetGroup: p["DBSubnetGroupName"], ParameterGroup: p["DBParameterGroupName"], Tags: tags(p), PromotionTier: tier,
		Settings: s, born: now, readyAt: now.Add(e.opt.CreateDelay)}
	if cid := p["DBClusterIdentifier"]; cid != "" {
		c := e.clusters[cid]
		switch {
		case c == nil:
			return "", apiErr(http.StatusNotFound, "DBClusterNotFoundFault", "DBCluster %s not found.", cid)
		case c.Status != StatusAvailable:
			return "", apiErr(http.StatusBadRequest, "InvalidDBClusterStateFault", "DB cluster %s is not in the available state (%s).", cid, c.Status)
		case !strings.HasPrefix(c.Engine, "aurora"):
			// A Multi-AZ DB cluster's shape is fixed (the emulator's code).
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "Cannot add a DB instance to Multi-AZ DB cluster %s.", cid)
		case c.EngineMode == "serverless":
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "Cannot add a DB instance to Aurora Serverless v1 DB cluster %s.", cid)
		case in.Class == ServerlessClass && c.ServerlessV2[1] == 0:
			// The emulator's code and text: the references say only that
			// the range must be set first.
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination",
				"DB cluster %s has no ServerlessV2ScalingConfiguration: set its capacity range before adding a %s DB instance.", cid, ServerlessClass)
		case in.Engine != c.Engine:
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "The engine %s does not match the cluster's engine %s.", in.Engine, c.Engine)
		case in.SubnetGroup != "" && in.SubnetGroup != c.SubnetGroup:
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "The DB subnet group %s does not match the cluster's %s.", in.SubnetGroup, c.SubnetGroup)
		case in.AZ != "" && !slices.Contains(c.AZs, in.AZ):
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "Availability zone %s is not covered by the cluster's subnet group.", in.AZ)
		}
		members := 0
		for _, o := range e.instances {
			if o.ClusterID == cid {
				members++
			}
		}
		if members-1 >= MaxReaders { // every member but the writer is a reader, being deleted or not
			return "", apiErr(http.StatusBadRequest, "InstanceQuotaExceeded", "Cluster %s already has %d readers.", cid, MaxReaders)
		}
		if err := e.keyFault("DB cluster", cid); err != nil {
			return "", err
		}
		az, err := e.placeIn(in.AZ, in.Class, c.AZs, func(z string) int { return e.inZone(z, cid, "") })
		if err != nil {
			return "", err
		}
		in.AZ, in.ClusterID, in.SubnetGroup, in.EngineVersion = az, cid, c.SubnetGroup, c.EngineVersion
	}
	// Left out, PubliclyAccessible follows the VPC: public where the
	// subnets' VPC has an internet gateway (RDS API Reference,
	// CreateDBInstance, PubliclyAccessible); PublicByDefault stands for one.
	in.Public = e.opt.PublicByDefault
	if v := p["PubliclyAccessible"]; v != "" {
		in.Public = v == "true"
	}
	e.setStatus(in, StatusCreating, now)
	e.instances[id] = in
	return marshal(e.wireInstance(in, in.Status, nil)), nil
}

// ServerlessClass is the instance class of Aurora Serverless v2 instances.
const ServerlessClass = "db.serverless"

// inZone counts the instances of a cluster, or of a source and its
// replicas, in zone z.
func (e *Emulator) inZone(z, cluster, source string) int {
	n := 0
	for _, in := range e.instances {
		if in.AZ == z && ((cluster != "" && in.ClusterID == cluster) || (source != "" && (in.ID == source || in.SourceID == source))) {
			n++
		}
	}
	return n
}

// replicaParameterGroups is whether a same-Region read replica of engine
// may name a DB parameter group: CreateDBInstanceReadReplica's reference
// supports it only for Oracle and Db2 (and for MySQL across Regions and
// Multi-AZ DB cluster sources, which the emulator does not have).
func replicaParameterGroups(engine string) bool {
	return strings.HasPrefix(engine, "oracle-") || strings.HasPrefix(engine, "db2-")
}

// ReplicaLimit is the read replicas a source of engine may have: 15, but
// Db2 3 and Oracle and SQL Server 5 (RDS API Reference,
// CreateDBInstanceReadReplica, SourceDBInstanceIdentifier).
func ReplicaLimit(engine string) int {
	switch {
	case strings.HasPrefix(engine, "db2-"):
		return 3
	case strings.HasPrefix(engine, "oracle-"), strings.HasPrefix(engine, "sqlserver-"):
		return 5
	}
	return MaxReaders
}

// replicaNetwork is what a read replica gets when the request leaves a
// setting out: CreateDBInstanceReadReplica's VpcSecurityGroupIds default to
// "the default security group for the VPC", PubliclyAccessible follows
// CreateDBInstance's default (Options.PublicByDefault: a default VPC's
// subnets make it public), StorageType defaults to the engine's default
// (gp2 here) and storage autoscaling is off without MaxAllocatedStorage
// (RDS API Reference, CreateDBInstanceReadReplica).
func (e *Emulator) replicaNetwork(p map[string]string) Network {
	n := Network{Public: e.opt.PublicByDefault, StorageType: "gp2"}
	for i := 1; ; i++ {
		v, ok := p[fmt.Sprintf("VpcSecurityGroupIds.VpcSecurityGroupId.%d", i)]
		if !ok {
			break
		}
		n.SecurityGroups = append(n.SecurityGroups, v)
	}
	if len(n.SecurityGroups) == 0 {
		n.SecurityGroups = []string{DefaultSecurityGroup}
	}
	if v := p["PubliclyAccessible"]; v != "" {
		n.Public = v == "true"
	}
	if v := p["StorageType"]; v != "" {
		n.StorageType = v
	}
	if v := p["MaxAllocatedStorage"]; v != "" {
		n.MaxAllocated, _ = strconv.Atoi(v)
	}
	return n
}

// DefaultSecurityGroup is the VPC's default security group, which a replica
// created without VpcSecurityGroupIds gets.
const DefaultSecurityGroup = "sg-vpc-default"

func (e *Emulator) createReadReplica(p map[string]string) (string, *apiError) {
	id, sid := p["DBInstanceIdentifier"], p["SourceDBInstanceIdentifier"]
	src := e.instances[sid]
	replicas := 0
	for _, o := range e.instances {
		if o.SourceID == sid {
			replicas++
		}
	}
	switch {
	case sid == "":
		return "", apiErr(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter SourceDBInstanceIdentifier")
	case src == nil:
		return "", apiErr(http.StatusNotFound, "DBInstanceNotFound", "DBInstance %s not found.", sid)
	case src.ClusterID != "":
		return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "%s is a member of DB cluster %s; add an Aurora reader instead.", sid, src.ClusterID)
	case src.Status != StatusAvailable:
		return "", apiErr(http.StatusBadRequest, "InvalidDBInstanceState", "DB instance %s is not in the available state (%s).", sid, src.Status)
	case replicas >= ReplicaLimit(src.Engine):
		return "", apiErr(http.StatusBadRequest, "InstanceQuotaExceeded", "DB instance %s already has %d read replicas.", sid, ReplicaLimit(src.Engine))
	case p["DBParameterGroupName"] != "" && !replicaParameterGroups(src.Engine):
		return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination",
			"A DB parameter group cannot be specified for a same-Region read replica of a %s DB instance.", src.Engine)
	}
	if err := e.checkNew(id); err != nil {
		return "", err
	}
	if err := e.keyFault("DB instance", sid); err != nil {
		return "", err
	}
	s, aerr := settings(p)
	if aerr != nil {
		return "", aerr
	}
	now := e.clock.Now()
	in := &instance{ID: id, Class: p["DBInstanceClass"], Engine: src.Engine, EngineVersion: src.EngineVersion,
		AZ: p["AvailabilityZone"], SubnetGroup: src.SubnetGroup, ParameterGroup: p["DBParameterGroupName"], SourceID: sid,
		Settings: s, Tags: tags(p), born: now, readyAt: now.Add(e.opt.CreateDelay)}
	in.Network = e.replicaNetwork(p)
	if in.Class == "" {
		in.Class = src.Class
	}
	if in.ParameterGroup == "" {
		in.ParameterGroup = src.ParameterGroup
	}
	az, err := e.placeIn(in.AZ, in.Class, e.subnetAZs(src.SubnetGroup), func(z string) int { return e.inZone(z, "", sid) })
	if err != nil {
		return "", err
	}
	in.AZ = az
	e.setStatus(in, StatusCreating, now)
	e.instances[id] = in
	return marshal(e.wireInstance(in, in.Status, nil)), nil
}

func (e *Emulator) deleteDBInstance(p map[string]string) (string, *apiError) {
	id := p["DBInstanceIdentifier"]
	in := e.instances[id]
	switch {
	case in == nil:
		return "", apiErr(http.StatusNotFound, "DBInstanceNotFound", "DBInstance %s not found.", id)
	case in.deleteAsked:
		// The message terraform-provider-aws's resourceInstanceDelete tolerates.
		return "", apiErr(http.StatusBadRequest, "InvalidDBInstanceState", "Instance %s is already being deleted.", id)
	case busyStatuses[in.Status]:
		return "", apiErr(http.StatusBadRequest, "InvalidDBInstanceState", "Instance %s is not in a state that allows deletion (%s).", id, in.Status)
	case in.ClusterID == "" && p["SkipFinalSnapshot"] != "true" && p["FinalDBSnapshotIdentifier"] == "":
		return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
	case in.SourceID != "" && p["FinalDBSnapshotIdentifier"] != "":
		return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "A final snapshot cannot be taken of a read replica.")
	}
	e.beginDelete(in, e.clock.Now())
	return marshal(e.wireInstance(in, in.Status, nil)), nil
}

// addTags is AddTagsToResource on a DB instance (ResourceName its ARN): a
// key already there takes the new value (RDS API Reference, AddTagsToResource).
func (e *Emulator) addTags(p map[string]string) (string, *apiError) {
	arn := p["ResourceName"]
	id := arn[strings.LastIndex(arn, ":")+1:]
	in := e.instances[id]
	if in == nil || arn != e.arn("db", id) {
		return "", apiErr(http.StatusNotFound, "DBInstanceNotFound", "DBInstance %s not found.", arn)
	}
	for _, t := range tags(p) {
		found := false
		for i := range in.Tags {
			if in.Tags[i].Key == t.Key {
				in.Tags[i].Value, found = t.Value, true
			}
		}
		if !found {
			in.Tags = append(in.Tags, t)
		}
	}
	return "", nil
}
