package actuators

import (
	"encoding/json"
	"os"
	"path"
	"strings"
	"testing"
)

// The IAM policies of deploy/aws, read as IAM reads them: these tests check
// what each lets scaled's role do, with an evaluator of the few condition
// operators they use (IAM User Guide, "Policy evaluation logic" and
// "Condition operators"): an explicit Deny wins, then any Allow.

type iamPolicy struct {
	Version   string
	Statement []iamStatement
}

type iamStatement struct {
	Sid       string
	Effect    string
	Action    stringOrList
	Resource  stringOrList
	Condition map[string]map[string]stringOrList
}

// stringOrList is a policy field that may be one string or a list.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

// iamRequest is one authorisation: an action on a resource, with the
// request's context keys (aws:RequestTag/..., aws:TagKeys, aws:ResourceTag/...).
type iamRequest struct {
	action, resource string
	keys             map[string][]string
}

func loadPolicy(t *testing.T, file string, placeholders ...string) iamPolicy {
	t.Helper()
	b, err := os.ReadFile(path.Join("../../deploy/aws", file))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(placeholders...).Replace(string(b))
	var p iamPolicy
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("%s: version %q", file, p.Version)
	}
	for _, s := range p.Statement {
		if s.Sid == "" || (s.Effect != "Allow" && s.Effect != "Deny") || len(s.Action) == 0 || len(s.Resource) == 0 {
			t.Errorf("%s: statement %+v needs a Sid, an Effect, an Action and a Resource", file, s)
		}
		for op := range s.Condition {
			if !knownOperators[op] {
				t.Errorf("%s: %s: condition operator %s is not one this test evaluates", file, s.Sid, op)
			}
		}
	}
	return p
}

var knownOperators = map[string]bool{"StringEquals": true, "StringEqualsIfExists": true, "StringNotEquals": true, "Null": true,
	"ForAnyValue:StringEquals": true, "Bool": true}

// allows evaluates req against p.
func (p iamPolicy) allows(req iamRequest) bool {
	allowed := false
	for _, s := range p.Statement {
		if !matchAny(s.Action, req.action) || !matchAny(s.Resource, req.resource) || !conditionsHold(s.Condition, req.keys) {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches IAM's wildcards: * any run, ? one character.
func glob(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return s == ""
}

func conditionsHold(cond map[string]map[string]stringOrList, keys map[string][]string) bool {
	for op, block := range cond {
		for key, want := range block {
			got, present := keys[key]
			ok := false
			switch op {
			case "StringEquals": // a missing key never matches
				ok = present && anyIn(got, want)
			case "StringEqualsIfExists": // a missing key matches
				ok = !present || anyIn(got, want)
			case "StringNotEquals": // a missing key always does
				ok = !present || !anyIn(got, want)
			case "Null":
				ok = (want[0] == "true") == !present
			case "ForAnyValue:StringEquals":
				ok = present && anyIn(got, want)
			case "Bool": // a missing key never matches
				ok = present && anyIn(got, want)
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

func anyIn(got, want []string) bool {
	for _, g := range got {
		for _, w := range want {
			if g == w {
				return true
			}
		}
	}
	return false
}

// tagged is the context of a request that carries tags, for tag-on-create.
func tagged(tags map[string]string) map[string][]string {
	keys := map[string][]string{}
	for k, v := range tags {
		keys["aws:RequestTag/"+k] = []string{v}
		keys["aws:TagKeys"] = append(keys["aws:TagKeys"], k)
	}
	return keys
}

func owned(owner string) map[string][]string {
	if owner == "" {
		return map[string][]string{}
	}
	return map[string][]string{"aws:ResourceTag/" + TagOwner: {owner}}
}

func TestIAMPolicies(t *testing.T) {
	const arn = "arn:aws:rds:eu-west-1:123456789012:"
	ours := map[string]string{TagOwner: "orders-db", TagManagedBy: "scaled", "team": "data"}
	theirs := map[string]string{TagOwner: "someone-else", TagManagedBy: "scaled"}
	untagged := map[string]string{"team": "data"}
	private := func(keys map[string][]string) map[string][]string {
		return merge(keys, map[string][]string{"rds:PubliclyAccessible": {"false"}})
	}
	replicaCases := func(create, parent, reader string) []struct {
		name string
		req  iamRequest
		want bool
	} {
		return []struct {
			name string
			req  iamRequest
			want bool
		}{
			{"create a reader with the owner tag", iamRequest{create, arn + "db:" + reader, private(tagged(ours))}, true},
			{"... and tag it as it is created", iamRequest{"rds:AddTagsToResource", arn + "db:" + reader, tagged(ours)}, true},
			{"create on the parent", iamRequest{create, arn + parent, private(tagged(ours))}, true},
			{"create without the owner tag", iamRequest{create, arn + "db:" + reader, private(tagged(untagged))}, false},
			{"create with another owner", iamRequest{create, arn + "db:" + reader, private(tagged(theirs))}, false},
			{"create a name outside the template", iamRequest{create, arn + "db:reporting", private(tagged(ours))}, false},
			{"tag another owner's reader as ours", iamRequest{"rds:AddTagsToResource", arn + "db:" + reader,
				merge(tagged(ours), owned("someone-else"))}, false},
			{"remove a tag", iamRequest{"rds:RemoveTagsFromResource", arn + "db:" + reader, owned("orders-db")}, false},
			{"delete a reader it created", iamRequest{"rds:DeleteDBInstance", arn + "db:" + reader, owned("orders-db")}, true},
			{"delete another owner's reader", iamRequest{"rds:DeleteDBInstance", arn + "db:" + reader, owned("someone-else")}, false},
			{"delete an untagged reader", iamRequest{"rds:DeleteDBInstance", arn + "db:" + reader, owned("")}, false},
			{"delete the writer or source", iamRequest{"rds:DeleteDBInstance", arn + "db:orders", owned("orders-db")}, false},
			{"modify an instance", iamRequest{"rds:ModifyDBInstance", arn + "db:" + reader, owned("orders-db")}, false},
			{"fail the cluster over", iamRequest{"rds:FailoverDBCluster", arn + "cluster:orders", nil}, false},
			{"list instances", iamRequest{"rds:DescribeDBInstances", arn + "db:orders", nil}, true},
			{"read a global database, whose listing tells a secondary", iamRequest{"rds:DescribeGlobalClusters", "arn:aws:rds::123456789012:global-cluster:orders", nil}, create == "rds:CreateDBInstance"},
			{"pass the monitoring role to Enhanced Monitoring", iamRequest{"iam:PassRole", "arn:aws:iam::123456789012:role/rds-monitoring-role",
				map[string][]string{"iam:PassedToService": {"monitoring.rds.amazonaws.com"}}}, true},
			{"pass the monitoring role to another service", iamRequest{"iam:PassRole", "arn:aws:iam::123456789012:role/rds-monitoring-role",
				map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}}}, false},
			{"mark a reader it created as being deleted", iamRequest{"rds:AddTagsToResource", arn + "db:" + reader,
				merge(tagged(map[string]string{TagOwner: "orders-db", TagDeleting: "2026-03-01T12:00:00Z"}), owned("orders-db"))}, true},
			{"pass another role", iamRequest{"iam:PassRole", "arn:aws:iam::123456789012:role/admin", nil}, false},
		}
	}
	placeholders := []string{"REGION", "eu-west-1", "ACCOUNT", "123456789012", "SCALER", "orders-db", "MONITORING_ROLE", "rds-monitoring-role"}
	for _, tc := range []struct {
		file, create, parent, reader string
		placeholders                 []string
	}{
		{"aurora-policy.json", "rds:CreateDBInstance", "cluster:orders", "orders-scaled-1", []string{"CLUSTER", "orders"}},
		{"rds-policy.json", "rds:CreateDBInstanceReadReplica", "db:orders", "orders-scaled-1", []string{"SOURCE", "orders"}},
	} {
		p := loadPolicy(t, tc.file, append(placeholders, tc.placeholders...)...)
		cases := replicaCases(tc.create, tc.parent, tc.reader)
		{
			// rds:PubliclyAccessible is a condition key of CreateDBInstance
			// and CreateDBInstanceReadReplica (Service Authorization
			// Reference, "Actions, resources, and condition keys for Amazon RDS").
			cases = append(cases, []struct {
				name string
				req  iamRequest
				want bool
			}{
				{"create a public reader", iamRequest{tc.create, arn + "db:" + tc.reader,
					merge(tagged(ours), map[string][]string{"rds:PubliclyAccessible": {"true"}})}, false},
				{"create a reader without saying whether it is public", iamRequest{tc.create, arn + "db:" + tc.reader, tagged(ours)}, false},
			}...)
		}
		for _, c := range cases {
			if got := p.allows(c.req); got != c.want {
				t.Errorf("%s: %s (%s on %s): allowed %v, want %v", tc.file, c.name, c.req.action, c.req.resource, got, c.want)
			}
		}
	}

	lambda := loadPolicy(t, "lambda-policy.json", "REGION", "eu-west-1", "ACCOUNT", "123456789012", "FUNCTION", "checkout", "QUALIFIER", "live")
	const fn = "arn:aws:lambda:eu-west-1:123456789012:function:checkout"
	for _, c := range []struct {
		action, resource string
		want             bool
	}{
		{"lambda:PutProvisionedConcurrencyConfig", fn + ":live", true},
		{"lambda:DeleteProvisionedConcurrencyConfig", fn + ":live", true},
		{"lambda:PutProvisionedConcurrencyConfig", fn + ":canary", false},
		{"lambda:PutProvisionedConcurrencyConfig", fn + ":7", false},
		{"lambda:GetProvisionedConcurrencyConfig", fn + ":7", true}, // the alias's version, read
		{"lambda:GetAlias", fn, true},
		{"lambda:GetFunctionConcurrency", fn, true},
		{"lambda:ListProvisionedConcurrencyConfigs", fn, true},
		{"lambda:GetAccountSettings", "*", true},
		{"lambda:PutFunctionConcurrency", fn, false},
		{"lambda:UpdateAlias", fn + ":live", false},
		{"lambda:GetProvisionedConcurrencyConfig", "arn:aws:lambda:eu-west-1:123456789012:function:search:live", false},
	} {
		if got := lambda.allows(iamRequest{action: c.action, resource: c.resource}); got != c.want {
			t.Errorf("lambda-policy.json: %s on %s: allowed %v, want %v", c.action, c.resource, got, c.want)
		}
	}

	// The trust policy lets only scaled's service account assume the role.
	b, err := os.ReadFile("../../deploy/aws/trust-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var trust struct {
		Statement []struct {
			Action    string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal(b, &trust); err != nil {
		t.Fatal(err)
	}
	eq := trust.Statement[0].Condition["StringEquals"]
	if trust.Statement[0].Action != "sts:AssumeRoleWithWebIdentity" || eq["OIDC_PROVIDER:sub"] != "system:serviceaccount:scaled:scaled" ||
		eq["OIDC_PROVIDER:aud"] != "sts.amazonaws.com" {
		t.Errorf("trust policy %+v", trust)
	}
}

func merge(a, b map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
