package tenancy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/scaled-dev/scaled/internal/fielderr"
	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
)

// pinTarget holds the target whose reach is r, of the scaler named scaler,
// to one of the grants (indexes into rules.AllowAWS) that list its
// resource: its region and account, and the reader options the grant
// fixes. The first grant the target keeps to is applied: the region and
// every fixed key take the grant's value (or the daemon's default where the
// grant has none). When it keeps to none, the problems with the first are
// returned, each naming the key, the value and what that grant allows.
func pinTarget(r actuators.Reach, scaler string, rules *config.ScalerObjects, grants []int, path *field.Path) field.ErrorList {
	var first field.ErrorList
	for n, i := range grants {
		errs := keepsTo(r, scaler, &rules.AllowAWS[i], field.NewPath("scaler_objects", "allow_aws").Index(i).String(), path)
		if len(errs) == 0 {
			apply(r, scaler, &rules.AllowAWS[i])
			return nil
		}
		if n == 0 {
			first = errs
		}
	}
	return first
}

// keepsTo lists how the target whose reach is r breaks g, named name.
func keepsTo(r actuators.Reach, scaler string, g *config.AWSGrant, name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	_, id, _ := strings.Cut(r.Resource, ":")
	if r.Region != nil && *r.Region != "" && *r.Region != g.Region {
		if g.Region == "" {
			errs = append(errs, fielderr.Invalid(path.Child("region"), *r.Region,
				"must be unset: %s grants %q in scaled's own region only (the grant's region key allows another)", name, r.Resource))
		} else {
			errs = append(errs, fielderr.Invalid(path.Child("region"), *r.Region,
				"must be %s or unset: %s grants %q only in that region", g.Region, name, r.Resource))
		}
	}
	if region, account, ok := arnOf(id); ok {
		rp := path.Child(r.ResourceKey)
		switch {
		case g.Account == "":
			errs = append(errs, fielderr.Invalid(rp, id,
				"names account %s: %s grants no ARN, only a name in scaled's own account (the grant's account key allows an ARN)", account, name))
		case account != g.Account:
			errs = append(errs, fielderr.Invalid(rp, id, "names account %s: %s grants account %s only", account, name, g.Account))
		}
		if region != "" && region != g.Region {
			errs = append(errs, fielderr.Invalid(rp, id, "names region %s: %s grants %s", region, name, shownRegion(g.Region)))
		}
	}
	if r.Replica == nil {
		return errs
	}
	o := r.Replica
	// A key is set when it differs from both the default and the grant's
	// own value (writing the grant's value out is no escape).
	set := map[string]bool{
		"owner":              o.Owner != "" && o.Owner != scaler && o.Owner != g.Owner,
		"instance_class":     o.InstanceClass != "" && o.InstanceClass != g.InstanceClass,
		"name_template":      o.NameTemplate != "" && o.NameTemplate != r.DefaultName && o.NameTemplate != g.NameTemplate,
		"parameter_group":    o.ParameterGroup != "" && o.ParameterGroup != g.ParameterGroup,
		"availability_zones": len(o.AvailabilityZones) > 0,
		"tags":               len(o.Tags) > 0,
	}
	value := map[string]any{
		"owner": o.Owner, "instance_class": o.InstanceClass, "name_template": o.NameTemplate,
		"parameter_group": o.ParameterGroup, "availability_zones": o.AvailabilityZones, "tags": o.Tags,
	}
	for _, k := range config.GrantKeys {
		if set[k] && !slices.Contains(g.ScalerMaySet, k) {
			errs = append(errs, fielderr.Invalid(path.Child(k), fielderr.Shown(shortValue(value[k])),
				"must be unset: %s fixes it (%s); a Scaler may set it only if the grant lists it under scaler_may_set", name, fixed(g, k, r.DefaultName)))
		}
	}
	return errs
}

// apply puts g's region and fixed keys on the target whose reach is r,
// which keeps to g.
func apply(r actuators.Reach, scaler string, g *config.AWSGrant) {
	if r.Region != nil && *r.Region == "" {
		*r.Region = g.Region
	}
	if r.Replica == nil {
		return
	}
	o := r.Replica
	may := func(k string) bool { return slices.Contains(g.ScalerMaySet, k) }
	// A key the Scaler may set and did keeps its value; any other takes
	// the grant's, or keeps the default the block was filled with.
	pick := func(k string, dst *string, grant, dflt string) {
		if grant != "" && !(may(k) && *dst != dflt) {
			*dst = grant
		}
	}
	pick("owner", &o.Owner, g.Owner, scaler)
	pick("instance_class", &o.InstanceClass, g.InstanceClass, "")
	pick("name_template", &o.NameTemplate, g.NameTemplate, r.DefaultName)
	pick("parameter_group", &o.ParameterGroup, g.ParameterGroup, "")
	if len(g.AvailabilityZones) > 0 && !(may("availability_zones") && len(o.AvailabilityZones) > 0) {
		o.AvailabilityZones = slices.Clone(g.AvailabilityZones)
	}
	tags := map[string]string{}
	if may("tags") {
		maps.Copy(tags, o.Tags)
	}
	maps.Copy(tags, g.Tags)
	o.Tags = nil
	if len(tags) > 0 {
		o.Tags = tags
	}
}

// fixed says what g fixes key k to.
func fixed(g *config.AWSGrant, k, defaultName string) string {
	v := map[string]string{"owner": g.Owner, "instance_class": g.InstanceClass, "name_template": g.NameTemplate, "parameter_group": g.ParameterGroup}
	switch k {
	case "availability_zones":
		if len(g.AvailabilityZones) > 0 {
			return "to " + strings.Join(g.AvailabilityZones, ", ")
		}
	case "tags":
		if len(g.Tags) > 0 {
			return "to its tags only"
		}
		return "to no tags"
	default:
		if v[k] != "" {
			return fmt.Sprintf("to %q", v[k])
		}
	}
	switch k {
	case "owner":
		return "to the default: the Scaler's own <namespace>/<name>"
	case "name_template":
		return fmt.Sprintf("to the default: %q", defaultName)
	case "availability_zones":
		return "to the default: the cluster's or source's zones"
	}
	return "to the default: the writer's or source's"
}

func shownRegion(r string) string {
	if r == "" {
		return "only scaled's own region"
	}
	return "only " + r
}

// shortValue shows v as the error line does, quoted.
func shortValue(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case []string:
		return fmt.Sprintf("%q", v)
	case map[string]string:
		keys := slices.Sorted(maps.Keys(v))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s: %q", k, v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// arnOf returns the region and account an identifier written as an ARN
// names (arn:<partition>:<service>:<region>:<account>:...), or as Lambda's
// partial ARN <account>:function:<name> (no region); ok is false for a
// plain name.
func arnOf(id string) (region, account string, ok bool) {
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 6)
		for len(parts) < 6 {
			parts = append(parts, "")
		}
		return parts[3], parts[4], true
	}
	if a, rest, found := strings.Cut(id, ":"); found && strings.HasPrefix(rest, "function:") {
		return "", a, true
	}
	return "", "", false
}
