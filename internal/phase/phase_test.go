package phase

import (
	"fmt"
	"testing"
	"time"
)

func TestOfIsAStableWholePointOfThePeriod(t *testing.T) {
	for _, key := range []string{"", "web", "shop/web-1", "s-00001"} {
		got := Of(key, time.Hour, time.Minute)
		if got < 0 || got >= time.Hour || got%time.Minute != 0 {
			t.Errorf("Of(%q, 1h, 1m) = %s: want a whole minute in [0, 1h)", key, got)
		}
		if again := Of(key, time.Hour, time.Minute); again != got {
			t.Errorf("Of(%q) = %s then %s: want the same point", key, got, again)
		}
	}
	if got := Of("web", time.Second, time.Minute); got != 0 {
		t.Errorf("a period shorter than the unit: %s, want 0", got)
	}
}

// Keys that differ only in their last characters, as generated names do,
// spread evenly: no minute of the hour gets twice its share.
func TestOfSpreadsKeysThatDifferAtTheEnd(t *testing.T) {
	const keys, buckets = 6000, 60
	count := make([]int, buckets)
	for i := range keys {
		count[Of(fmt.Sprintf("s-%05d", i), time.Hour, time.Second)/time.Minute]++
	}
	for m, n := range count {
		if n > 2*keys/buckets || n == 0 {
			t.Errorf("minute %d holds %d of %d keys: want about %d", m, n, keys, keys/buckets)
		}
	}
}
