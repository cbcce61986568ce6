package config

import "strings"

// registered lists the names of a registry as a problem lists what is
// allowed, so that a test of such a problem holds whatever kinds the binary
// registers.
func registered[K ~string](kinds []K) string { return strings.Join(kindNames(kinds), ", ") }
