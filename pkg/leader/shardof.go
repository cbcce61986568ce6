package leader

import "hash/fnv"

// ShardOf is the shard of a scaler among n: the jump consistent hash
// (Lamping and Veach, 2014) of the FNV-1a 64 hash of its name. Going from n
// to n+1 shards moves only the scalers that land on the new shard, about
// 1/(n+1) of them.
func ShardOf(scaler string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(scaler))
	return jumpHash(h.Sum64(), n)
}

func jumpHash(key uint64, n int) int {
	var b, j int64 = -1, 0
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}
