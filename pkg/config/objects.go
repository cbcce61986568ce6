package config

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
)

// ScalerObjects is the scaler_objects block: whether scaled also runs the
// Scaler objects of the Kubernetes API (scaled.dev/v1alpha1, one scaler
// each, written by the teams that own the workloads), which of them, and
// what they may reach. A Scaler may only scale a workload of its own
// namespace; the rest is the platform's to allow here.
type ScalerObjects struct {
	// Enabled watches Scaler objects and runs each beside the file's
	// scalers, known as namespace/name.
	Enabled bool `json:"enabled,omitempty"`
	// Namespaces are the namespaces watched; empty: every namespace.
	Namespaces []string `json:"namespaces,omitempty"`
	// LabelSelector runs only the Scalers it selects, in Kubernetes label
	// selector syntax (scaled.dev/tier=gold, team in (a,b)); empty: all.
	LabelSelector string `json:"label_selector,omitempty"`
	// ConfineQueries makes every query of a Scaler read only its own
	// namespace's series: the query is parsed with Prometheus' parser and
	// namespace_label="<namespace>" is enforced on every selector, as
	// prom-label-proxy does; a query whose own matcher on that label
	// excludes the namespace is refused. Default true.
	ConfineQueries bool `json:"confine_queries,omitempty"`
	// NamespaceLabel is the label that carries a series' namespace (the
	// Prometheus Operator and kube-state-metrics write namespace).
	NamespaceLabel string `json:"namespace_label,omitempty"`
	// AllowAWS lists what the Scalers of each namespace may scale outside
	// the cluster; any other such target is refused. Default: nothing.
	AllowAWS []AWSGrant `json:"allow_aws,omitempty"`
	// StatusQPS and StatusBurst limit the requests of the status writer,
	// which has a client of its own, so that a status never delays a scale.
	StatusQPS   float64 `json:"status_qps,omitempty"`
	StatusBurst int     `json:"status_burst,omitempty"`
	// StatusRefresh is how long an unchanged status waits, at the least,
	// before it is written again with fresh signal values and decision
	// time: a replica writing for more Scalers than StatusQPS / 2 x
	// StatusRefresh refreshes them less often, so that refreshes take at
	// most half of StatusQPS. A change of capacity, outcome or condition is
	// written at once (at most once per Scaler per interval).
	StatusRefresh time.Duration `json:"status_refresh,omitempty"`
}

// AWSGrant lets the Scalers of one namespace scale the resources it names,
// in one region and account, with the reader options it fixes. A Scaler
// may set beside the identifier only the keys the grant lists in
// ScalerMaySet; every other key it fixes is the grant's value or, where the
// grant leaves it out, the daemon's default.
type AWSGrant struct {
	Namespace string `json:"namespace,omitempty"`
	// Resources are <kind>:<identifier> patterns, where * matches any run
	// of characters within one segment of an ARN (never ':' or '/'):
	// aurora:orders-db (a cluster), rds:reports-* (source instances),
	// lambda:checkout (a function, every qualifier). An identifier written
	// as an ARN is granted only by a pattern that spells out its account
	// and region.
	Resources []string `json:"resources,omitempty"`
	// Region is the one region the resources are granted in; a Scaler that
	// leaves its region unset is put there. Empty: scaled's own default
	// region only, and a Scaler may not set region.
	Region string `json:"region,omitempty"`
	// Account is the account an identifier written as an ARN must name.
	// Empty: no ARN, only names, which resolve in scaled's own account.
	Account string `json:"account,omitempty"`
	// Owner is the ownership tag (scaled.dev/owner) of the readers the
	// Scalers create, which decides the readers they may delete. Default:
	// each Scaler's own <namespace>/<name>.
	Owner string `json:"owner,omitempty"`
	// InstanceClass, NameTemplate, ParameterGroup and AvailabilityZones
	// of new readers; each defaults as in the aurora and rds blocks.
	InstanceClass     string   `json:"instance_class,omitempty"`
	NameTemplate      string   `json:"name_template,omitempty"`
	ParameterGroup    string   `json:"parameter_group,omitempty"`
	AvailabilityZones []string `json:"availability_zones,omitempty"`
	// Tags are put on every reader the Scalers create; with tags in
	// ScalerMaySet a Scaler's own tags are added, the grant's winning.
	Tags map[string]string `json:"tags,omitempty"`
	// ScalerMaySet are the keys of GrantKeys a Scaler may set itself (the
	// grant's value, if any, is then only its default). Default: none.
	ScalerMaySet []string `json:"scaler_may_set,omitempty"`
}

// GrantKeys are the reader options of an aurora or rds block that an
// AWSGrant fixes unless it lists them in scaler_may_set.
var GrantKeys = []string{"owner", "instance_class", "name_template", "parameter_group", "availability_zones", "tags"}

// AWS regions (us-east-1, us-gov-west-1, cn-north-1) and account IDs.
var (
	awsRegionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	awsAccountRE = regexp.MustCompile(`^[0-9]{12}$`)
)

// Defaults of the scaler_objects block.
const (
	DefaultNamespaceLabel = "namespace"
	DefaultStatusQPS      = 20
	DefaultStatusBurst    = 50
	DefaultStatusRefresh  = 5 * time.Minute
)

// DefaultScalerObjects is Scaler objects off, with queries confined when
// they are turned on.
func DefaultScalerObjects() ScalerObjects {
	return ScalerObjects{
		ConfineQueries: true,
		NamespaceLabel: DefaultNamespaceLabel,
		StatusQPS:      DefaultStatusQPS,
		StatusBurst:    DefaultStatusBurst,
		StatusRefresh:  DefaultStatusRefresh,
	}
}

func init() {
	globalKeys = append(globalKeys,
		globalKey{"scaler_objects.enabled", "scaler-objects", "also run the Scaler objects of the Kubernetes API",
			func(c *Config) any { return &c.ScalerObjects.Enabled }},
		globalKey{"scaler_objects.label_selector", "scaler-objects.label-selector", "run only the Scaler objects this label selector selects",
			func(c *Config) any { return &c.ScalerObjects.LabelSelector }},
	)
}

// AllowsAWS reports whether the Scalers of namespace may scale resource,
// named <kind>:<identifier> (actuators.Reach).
func (o *ScalerObjects) AllowsAWS(namespace, resource string) bool {
	return len(o.AWSGrantsOf(namespace, resource)) > 0
}

// AWSGrantsOf returns the indexes in AllowAWS of the grants that let the
// Scalers of namespace scale resource, in order.
func (o *ScalerObjects) AWSGrantsOf(namespace, resource string) []int {
	var out []int
	for i, g := range o.AllowAWS {
		if g.Namespace != namespace {
			continue
		}
		if slices.ContainsFunc(g.Resources, func(pattern string) bool { return globMatch(pattern, resource) }) {
			out = append(out, i)
		}
	}
	return out
}

// globMatch matches s against pattern, in which * is any run of
// characters within one segment of an ARN (none of ':' and '/') and every
// other character is itself: lambda:*-shop grants a function of scaled's
// own account, never arn:aws:lambda:<region>:<another account>:function:x-shop.
func globMatch(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, "[^:/]*") + "$"
	ok, _ := regexp.MatchString(re, s)
	return ok
}

// Prometheus label names (the data model's legacy names, which every
// Prometheus-compatible back end accepts).
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func validateScalerObjects(o *ScalerObjects) field.ErrorList {
	if !o.Enabled {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("scaler_objects")
	seen := map[string]int{}
	for i, ns := range o.Namespaces {
		ip := p.Child("namespaces").Index(i)
		if len(validation.IsDNS1123Label(ns)) > 0 {
			errs = append(errs, fielderr.Invalid(ip, ns, "must be a namespace name: a DNS label of at most 63 lower-case letters, digits or '-'"))
		} else if j, dup := seen[ns]; dup {
			errs = append(errs, fielderr.Duplicate(ip, ns, "duplicate of %s", p.Child("namespaces").Index(j)))
		}
		seen[ns] = i
	}
	if _, err := labels.Parse(o.LabelSelector); err != nil {
		errs = append(errs, fielderr.Invalid(p.Child("label_selector"), o.LabelSelector, "must be a Kubernetes label selector such as team=shop or tier in (a,b): %v", err))
	}
	if o.ConfineQueries && !labelNameRE.MatchString(o.NamespaceLabel) {
		errs = append(errs, fielderr.Invalid(p.Child("namespace_label"), o.NamespaceLabel, "must be a Prometheus label name: letters, digits and '_', not starting with a digit"))
	}
	kinds := kindNames(actuators.Kinds())
	for i, g := range o.AllowAWS {
		gp := p.Child("allow_aws").Index(i)
		if len(validation.IsDNS1123Label(g.Namespace)) > 0 {
			errs = append(errs, fielderr.Invalid(gp.Child("namespace"), g.Namespace, "must be a namespace name: a DNS label of at most 63 lower-case letters, digits or '-'"))
		}
		if len(g.Resources) == 0 {
			errs = append(errs, fielderr.Required(gp.Child("resources"), nil, "must list at least one <kind>:<identifier> pattern"))
		}
		if g.Region != "" && !awsRegionRE.MatchString(g.Region) {
			errs = append(errs, fielderr.Invalid(gp.Child("region"), g.Region, "must be an AWS region such as eu-west-1"))
		}
		if g.Account != "" && !awsAccountRE.MatchString(g.Account) {
			errs = append(errs, fielderr.Invalid(gp.Child("account"), g.Account, "must be an AWS account ID: 12 digits, quoted"))
		}
		if g.NameTemplate != "" && !strings.Contains(g.NameTemplate, "{index}") {
			errs = append(errs, fielderr.Invalid(gp.Child("name_template"), g.NameTemplate, "must contain {index}"))
		}
		for _, k := range slices.Sorted(maps.Keys(g.Tags)) {
			if strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "scaled.dev/") {
				errs = append(errs, fielderr.Invalid(gp.Child("tags"), k, "keys starting with aws: or scaled.dev/ are reserved"))
			}
		}
		for j, k := range g.ScalerMaySet {
			if !slices.Contains(GrantKeys, k) {
				errs = append(errs, fielderr.NotSupported(gp.Child("scaler_may_set").Index(j), k, GrantKeys))
			}
		}
		for j, r := range g.Resources {
			kind, id, ok := strings.Cut(r, ":")
			switch {
			case !ok || id == "":
				errs = append(errs, fielderr.Invalid(gp.Child("resources").Index(j), r, "must be <kind>:<identifier>, such as aurora:orders-db or lambda:checkout-*"))
			case !slices.Contains(kinds, kind):
				errs = append(errs, fielderr.Invalid(gp.Child("resources").Index(j), r, "must start with a target kind: %s", strings.Join(kinds, ", ")))
			}
		}
	}
	if o.StatusQPS <= 0 {
		errs = append(errs, fielderr.Invalid(p.Child("status_qps"), o.StatusQPS, "must be > 0"))
	}
	if o.StatusBurst < 1 {
		errs = append(errs, fielderr.Invalid(p.Child("status_burst"), o.StatusBurst, "must be >= 1"))
	}
	if o.StatusRefresh < time.Minute {
		errs = append(errs, fielderr.Invalid(p.Child("status_refresh"), o.StatusRefresh, "must be >= 1m: each refresh is one write per Scaler"))
	}
	return errs
}

// validateHasScalers refuses a config that would run nothing: no scaler in
// the file and Scaler objects not enabled. An empty list is almost always a
// mistake (a key misspelt, a file emptied by a bad edit), so a config that
// means to run only Scaler objects must say so.
func validateHasScalers(c *Config) field.ErrorList {
	if len(c.Scalers) > 0 || c.ScalerObjects.Enabled {
		return nil
	}
	return field.ErrorList{fielderr.Required(field.NewPath("scalers"), fielderr.Shown("none"),
		"must list at least one scaler, or set scaler_objects.enabled: true to run only the Scaler objects of the Kubernetes API")}
}
