package awsemu

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
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
	AZs                                            []string
	WriterID                                       string
}

type instance struct {
	ID, Class, Engine, EngineVersion, Status string
	AZ, SubnetGroup, ParameterGroup          string
	ClusterID                                string // Aurora member
	SourceID                                 string // RDS read replica of
	Replicas                                 []string
	Tags                                     []Tag
	CreateTime                               *time.Time
	readyAt, goneAt                          time.Time
}

// ClusterSpec seeds an Aurora cluster with an available writer.
type ClusterSpec struct {
	ID, Engine, EngineVersion string
	WriterID, WriterClass     string
	ParameterGroup            string
	SubnetGroup               string
	AZs                       []string // the writer lives in AZs[0]
}

// AddCluster seeds an available cluster and its writer.
func (e *Emulator) AddCluster(s ClusterSpec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clusters[s.ID] = &cluster{ID: s.ID, Engine: s.Engine, EngineVersion: s.EngineVersion, Status: "available",
		SubnetGroup: s.SubnetGroup, AZs: s.AZs, WriterID: s.WriterID}
	t := e.clock.Now().Add(-24 * time.Hour)
	e.instances[s.WriterID] = &instance{ID: s.WriterID, Class: s.WriterClass, Engine: s.Engine, EngineVersion: s.EngineVersion,
		Status: "available", AZ: s.AZs[0], SubnetGroup: s.SubnetGroup, ParameterGroup: s.ParameterGroup, ClusterID: s.ID, CreateTime: &t}
}

// SetClusterStatus sets a cluster's status (e.g. "modifying").
func (e *Emulator) SetClusterStatus(id, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clusters[id].Status = status
}

// InstanceSpec seeds an instance. Set ClusterID for an Aurora reader made by
// someone else, SourceID for a read replica, neither for a standalone source.
type InstanceSpec struct {
	ID, Class, Engine, AZ, SubnetGroup, ParameterGroup string
	ClusterID, SourceID                                string
	Tags                                               []Tag
	Status                                             string // default available
}

// AddInstance seeds an instance created a day ago.
func (e *Emulator) AddInstance(s InstanceSpec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.Status == "" {
		s.Status = "available"
	}
	t := e.clock.Now().Add(-24 * time.Hour)
	e.instances[s.ID] = &instance{ID: s.ID, Class: s.Class, Engine: s.Engine, Status: s.Status, AZ: s.AZ,
		SubnetGroup: s.SubnetGroup, ParameterGroup: s.ParameterGroup, ClusterID: s.ClusterID, SourceID: s.SourceID,
		Tags: s.Tags, CreateTime: &t, readyAt: e.clock.Now().Add(e.opt.CreateDelay)}
	if src := e.instances[s.SourceID]; src != nil {
		src.Replicas = append(src.Replicas, s.ID)
	}
}

// InstanceState is what a test may check about an instance.
type InstanceState struct {
	ID, Class, Engine, Status, AZ, SubnetGroup, ParameterGroup, ClusterID, SourceID string
	Tags                                                                            map[string]string
}

// Instances returns every instance, by identifier.
func (e *Emulator) Instances() []InstanceState {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	var out []InstanceState
	for _, id := range sortedKeys(e.instances) {
		in := e.instances[id]
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		out = append(out, InstanceState{ID: in.ID, Class: in.Class, Engine: in.Engine, Status: in.Status, AZ: in.AZ,
			SubnetGroup: in.SubnetGroup, ParameterGroup: in.ParameterGroup, ClusterID: in.ClusterID, SourceID: in.SourceID, Tags: tags})
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
	case throttled:
		err = apiErr(http.StatusBadRequest, "Throttling", "Rate exceeded")
	case code == "denied":
		err = apiErr(http.StatusForbidden, "AccessDenied",
			"User: arn:aws:sts::%s:assumed-role/scaled/emulator is not authorized to perform: rds:%s because no identity-based policy allows the rds:%s action",
			e.opt.AccountID, op, op)
	default:
		switch op {
		case "DescribeDBClusters":
			body, err = e.describeDBClusters(params)
		case "DescribeDBInstances":
			body, err = e.describeDBInstances(params)
		case "CreateDBInstance":
			body, err = e.createDBInstance(params)
		case "CreateDBInstanceReadReplica":
			body, err = e.createReadReplica(params)
		case "DeleteDBInstance":
			body, err = e.deleteDBInstance(params)
		default:
			err = apiErr(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", op)
		}
	}
	if err != nil {
		e.record(op, params, err.code)
		e.writeRDSError(w, err)
		return
	}
	e.record(op, params, "")
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		op, rdsNamespace, op, body, op, e.requestID(), op)
}

func (e *Emulator) writeRDSError(w http.ResponseWriter, err *apiError) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(err.status)
	var msg bytes.Buffer
	_ = xml.EscapeText(&msg, []byte(err.message))
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		rdsNamespace, err.code, msg.String(), e.requestID())
}

// Wire shapes of the responses.
type (
	xCluster struct {
		XMLName             xml.Name  `xml:"DBCluster"`
		DBClusterIdentifier string    `xml:"DBClusterIdentifier"`
		DBClusterArn        string    `xml:"DBClusterArn"`
		Engine              string    `xml:"Engine"`
		EngineVersion       string    `xml:"EngineVersion"`
		Status              string    `xml:"Status"`
		DBSubnetGroup       string    `xml:"DBSubnetGroup"`
		AvailabilityZones   []string  `xml:"AvailabilityZones>AvailabilityZone"`
		Members             []xMember `xml:"DBClusterMembers>DBClusterMember"`
	}
	xMember struct {
		DBInstanceIdentifier string `xml:"DBInstanceIdentifier"`
		IsClusterWriter      bool   `xml:"IsClusterWriter"`
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
		ReplicaSource        string      `xml:"ReadReplicaSourceDBInstanceIdentifier,omitempty"`
		Replicas             []string    `xml:"ReadReplicaDBInstanceIdentifiers>ReadReplicaDBInstanceIdentifier"`
		ParameterGroups      []xParamGrp `xml:"DBParameterGroups>DBParameterGroup"`
		SubnetGroup          *xSubnetGrp `xml:"DBSubnetGroup,omitempty"`
		Tags                 []Tag       `xml:"TagList>Tag"`
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

// subnetAZs are the AZs a subnet group covers: those of every instance and
// cluster using it, or three of the region's.
func (e *Emulator) subnetAZs(group string) []string {
	for _, c := range e.clusters {
		if c.SubnetGroup == group && len(c.AZs) > 0 {
			return c.AZs
		}
	}
	return []string{e.opt.Region + "a", e.opt.Region + "b", e.opt.Region + "c"}
}

func (e *Emulator) wireInstance(in *instance) xInstance {
	x := xInstance{DBInstanceIdentifier: in.ID, DBInstanceArn: e.arn("db", in.ID), DBInstanceClass: in.Class, Engine: in.Engine,
		EngineVersion: in.EngineVersion, DBInstanceStatus: in.Status, AvailabilityZone: in.AZ, DBClusterIdentifier: in.ClusterID,
		ReplicaSource: in.SourceID, Replicas: in.Replicas, Tags: in.Tags}
	if in.CreateTime != nil {
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
	ids := sortedKeys(e.clusters)
	if id := p["DBClusterIdentifier"]; id != "" {
		if e.clusters[id] == nil {
			return "", apiErr(http.StatusNotFound, "DBClusterNotFoundFault", "DBCluster %s not found.", id)
		}
		ids = []string{id}
	}
	var b strings.Builder
	b.WriteString("<DBClusters>")
	for _, id := range ids {
		c := e.clusters[id]
		x := xCluster{DBClusterIdentifier: c.ID, DBClusterArn: e.arn("cluster", c.ID), Engine: c.Engine, EngineVersion: c.EngineVersion,
			Status: c.Status, DBSubnetGroup: c.SubnetGroup, AvailabilityZones: c.AZs}
		for _, iid := range sortedKeys(e.instances) {
			if e.instances[iid].ClusterID == c.ID {
				x.Members = append(x.Members, xMember{DBInstanceIdentifier: iid, IsClusterWriter: iid == c.WriterID})
			}
		}
		b.WriteString(marshal(x))
	}
	b.WriteString("</DBClusters>")
	return b.String(), nil
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (e *Emulator) describeDBInstances(p map[string]string) (string, *apiError) {
	ids := sortedKeys(e.instances)
	if id := p["DBInstanceIdentifier"]; id != "" {
		if e.instances[id] == nil {
			return "", apiErr(http.StatusNotFound, "DBInstanceNotFound", "DBInstance %s not found.", id)
		}
		ids = []string{id}
	}
	f := filters(p)
	for name := range f {
		if name != "db-cluster-id" && name != "db-instance-id" {
			return "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "Unrecognized filter name: %s.", name)
		}
	}
	var b strings.Builder
	b.WriteString("<DBInstances>")
	for _, id := range ids {
		in := e.instances[id]
		if v, ok := f["db-cluster-id"]; ok && !contains(v, in.ClusterID) && !contains(v, e.arn("cluster", in.ClusterID)) {
			continue
		}
		if v, ok := f["db-instance-id"]; ok && !contains(v, in.ID) {
			continue
		}
		b.WriteString(marshal(e.wireInstance(in)))
	}
	b.WriteString("</DBInstances>")
	return b.String(), nil
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
	in := &instance{ID: id, Class: p["DBInstanceClass"], Engine: p["Engine"], Status: "creating", AZ: p["AvailabilityZone"],
		SubnetGroup: p["DBSubnetGroupName"], ParameterGroup: p["DBParameterGroupName"], Tags: tags(p),
		readyAt: e.clock.Now().Add(e.opt.CreateDelay)}
	if cid := p["DBClusterIdentifier"]; cid != "" {
		c := e.clusters[cid]
		switch {
		case c == nil:
			return "", apiErr(http.StatusNotFound, "DBClusterNotFoundFault", "DBCluster %s not found.", cid)
		case c.Status != "available":
			return "", apiErr(http.StatusBadRequest, "InvalidDBClusterStateFault", "DB cluster %s is not in the available state (%s).", cid, c.Status)
		case in.Engine != c.Engine:
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "The engine %s does not match the cluster's engine %s.", in.Engine, c.Engine)
		case in.SubnetGroup != "" && in.SubnetGroup != c.SubnetGroup:
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "The DB subnet group %s does not match the cluster's %s.", in.SubnetGroup, c.SubnetGroup)
		case in.AZ != "" && !contains(c.AZs, in.AZ):
			return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "Availability zone %s is not covered by the cluster's subnet group.", in.AZ)
		}
		readers := 0
		for _, o := range e.instances {
			if o.ClusterID == cid && o.ID != c.WriterID {
				readers++
			}
		}
		if readers >= MaxReaders {
			return "", apiErr(http.StatusBadRequest, "InstanceQuotaExceeded", "Cluster %s already has %d readers.", cid, MaxReaders)
		}
		in.ClusterID, in.SubnetGroup, in.EngineVersion = cid, c.SubnetGroup, c.EngineVersion
		if in.AZ == "" {
			in.AZ = c.AZs[len(e.instances)%len(c.AZs)]
		}
	}
	e.instances[id] = in
	return marshal(e.wireInstance(in)), nil
}

func (e *Emulator) createReadReplica(p map[string]string) (string, *apiError) {
	id, sid := p["DBInstanceIdentifier"], p["SourceDBInstanceIdentifier"]
	src := e.instances[sid]
	switch {
	case sid == "":
		return "", apiErr(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter SourceDBInstanceIdentifier")
	case src == nil:
		return "", apiErr(http.StatusNotFound, "DBInstanceNotFound", "DBInstance %s not found.", sid)
	case src.ClusterID != "":
		return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "%s is a member of DB cluster %s; add an Aurora reader instead.", sid, src.ClusterID)
	case src.Status != "available":
		return "", apiErr(http.StatusBadRequest, "InvalidDBInstanceState", "DB instance %s is not in the available state (%s).", sid, src.Status)
	case len(src.Replicas) >= MaxReaders:
		return "", apiErr(http.StatusBadRequest, "InstanceQuotaExceeded", "DB instance %s already has %d read replicas.", sid, MaxReaders)
	}
	if err := e.checkNew(id); err != nil {
		return "", err
	}
	in := &instance{ID: id, Class: p["DBInstanceClass"], Engine: src.Engine, EngineVersion: src.EngineVersion, Status: "creating",
		AZ: p["AvailabilityZone"], SubnetGroup: src.SubnetGroup, ParameterGroup: p["DBParameterGroupName"], SourceID: sid,
		Tags: tags(p), readyAt: e.clock.Now().Add(e.opt.CreateDelay)}
	if in.Class == "" {
		in.Class = src.Class
	}
	if in.ParameterGroup == "" {
		in.ParameterGroup = src.ParameterGroup
	}
	if in.AZ == "" {
		in.AZ = src.AZ
	}
	e.instances[id] = in
	src.Replicas = append(src.Replicas, id)
	return marshal(e.wireInstance(in)), nil
}

func (e *Emulator) deleteDBInstance(p map[string]string) (string, *apiError) {
	id := p["DBInstanceIdentifier"]
	in := e.instances[id]
	switch {
	case in == nil:
		return "", apiErr(http.StatusNotFound, "DBInstanceNotFound", "DBInstance %s not found.", id)
	case in.Status == "deleting":
		return "", apiErr(http.StatusBadRequest, "InvalidDBInstanceState", "Instance %s is already being deleted.", id)
	case in.Status != "available":
		return "", apiErr(http.StatusBadRequest, "InvalidDBInstanceState", "Instance %s is not in the available state (%s).", id, in.Status)
	case in.ClusterID == "" && p["SkipFinalSnapshot"] != "true" && p["FinalDBSnapshotIdentifier"] == "":
		return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
	case in.SourceID != "" && p["FinalDBSnapshotIdentifier"] != "":
		return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "A final snapshot cannot be taken of a read replica.")
	}
	in.Status, in.goneAt = "deleting", e.clock.Now().Add(e.opt.DeleteDelay)
	return marshal(e.wireInstance(in)), nil
}
