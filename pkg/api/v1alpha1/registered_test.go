package v1alpha1

import "strings"

// registered lists the names of a registry as a problem lists what is
// allowed, so that a test of such a problem holds whatever kinds the binary
// registers.
func registered[K ~string](kinds []K) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
