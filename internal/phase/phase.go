// Package phase places a key at a fixed point of a period, so that many
// things started together (status refreshes, model refits) spread over the
// period instead of coming due at once, and a restart keeps each one's point.
package phase

import (
	"hash/fnv"
	"time"
)

// Of is key's phase within period: a whole number of units in [0, period)
// (0 when period is shorter than a unit), the same for the same key.
func Of(key string, period, unit time.Duration) time.Duration {
	n := max(1, int64(period/unit))
	return time.Duration(hash(key)%uint64(n)) * unit
}

// hash spreads key over 64 bits. FNV-1a alone barely moves its top bits
// for keys that differ only in their last characters (s-0001, s-0002),
// which would bunch such keys together; MurmurHash3's finalizer then
// mixes every bit into every other.
func hash(key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
