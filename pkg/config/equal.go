package config

import "reflect"

// Equal reports whether two scalers are configured identically, so that a
// reload keeps an unchanged scaler's state (stabilisation history, rate-limit
// events, policy state). It compares the scaler block only: a change of a
// global key it inherits (interval, dry_run) is the caller's to notice, see
// Config.Resolve.
func (s Scaler) Equal(o Scaler) bool {
	return reflect.DeepEqual(s, o)
}

// ScalerDiff says what a reload does to scalers, by name, in file order.
type ScalerDiff struct {
	Added, Removed, Changed, Unchanged []string
}

// DiffScalers compares the scalers of two valid configs by name.
func DiffScalers(old, new []Scaler) ScalerDiff {
	var d ScalerDiff
	before := make(map[string]Scaler, len(old))
	for _, s := range old {
		before[s.Name] = s
	}
	after := make(map[string]bool, len(new))
	for _, s := range new {
		after[s.Name] = true
		o, ok := before[s.Name]
		switch {
		case !ok:
			d.Added = append(d.Added, s.Name)
		case o.Equal(s):
			d.Unchanged = append(d.Unchanged, s.Name)
		default:
			d.Changed = append(d.Changed, s.Name)
		}
	}
	for _, s := range old {
		if !after[s.Name] {
			d.Removed = append(d.Removed, s.Name)
		}
	}
	return d
}
