package leader

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// holders parses "a a b -" as the holders of four shards ("-": free).
func holders(s string) []string {
	out := strings.Fields(s)
	for i, h := range out {
		if h == "-" {
			out[i] = ""
		}
	}
	return out
}

func TestViewRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		self    string
		live    []string
		holders string
		take    bool
		release []int
	}{
		{"alone takes every shard", "a", []string{"a"}, "a a - -", true, nil},
		{"alone holds every shard", "a", []string{"a"}, "a a a a", false, nil},
		{"a second replica: the first releases its two highest", "a", []string{"a", "b"}, "a a a a", false, []int{3, 2}},
		{"the second takes while below its share", "b", []string{"a", "b"}, "a a - -", true, nil},
		{"at an even share nobody takes", "b", []string{"a", "b"}, "a a b b", false, nil},
		// N=4, M=3: q=1, r=1. The ceiling rule alone would leave 2, 2, 0.
		{"2,2,0: the first full replica by identity releases one", "a", []string{"a", "b", "c"}, "a a b b", false, []int{1}},
		{"2,2,0: the second full replica keeps its two", "b", []string{"a", "b", "c"}, "a a b b", false, nil},
		{"2,1,0 with one free: the empty one takes", "c", []string{"a", "b", "c"}, "a a b -", true, nil},
		{"2,1,0 with one free: the one at q waits for the empty one", "b", []string{"a", "b", "c"}, "a a b -", false, nil},
		{"1,1,1 with one free: any may take the extra one", "b", []string{"a", "b", "c"}, "a b c -", true, nil},
		{"2,1,1: balanced, nobody moves", "a", []string{"a", "b", "c"}, "a a b c", false, nil},
		{"2,1,1: balanced, the others neither", "c", []string{"a", "b", "c"}, "a a b c", false, nil},
		{"a holder that is not live holds nothing", "b", []string{"a", "b"}, "a a x x", true, nil},
		{"above the ceiling: release down to it", "a", []string{"a", "b", "c"}, "a a a a", false, []int{3, 2}},
		{"more replicas than shards: one each at most", "c", []string{"a", "b", "c"}, "a b", false, nil},
		{"more replicas than shards: none is below q = 0, so a free shard is taken", "c", []string{"a", "b", "c"}, "a -", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := view{self: tc.self, live: tc.live, holders: holders(tc.holders)}
			if got := v.mayTake(); got != tc.take {
				t.Errorf("mayTake() = %v, want %v", got, tc.take)
			}
			if diff := cmp.Diff(tc.release, v.toRelease()); diff != "" {
				t.Errorf("toRelease() (-want +got):\n%s", diff)
			}
		})
	}
}

// world is every replica acting on an exact view of the shards: the model
// that the rules must balance whatever the order in which replicas act.
type world struct {
	rng     *rand.Rand
	live    []string
	holders []string
}

func (w *world) view(self string) view {
	return view{self: self, live: w.live, holders: w.holders}
}

// round lets every live replica, in a random order, release what it should
// and take free shards one by one while it may. It reports whether anything
// moved.
func (w *world) round() bool {
	moved := false
	for _, i := range w.rng.Perm(len(w.live)) {
		self := w.live[i]
		for _, s := range w.view(self).toRelease() {
			w.holders[s] = ""
			moved = true
		}
		for w.view(self).mayTake() {
			var free []int
			live := w.view(self).counts()
			for s, h := range w.holders {
				if _, ok := live[h]; !ok {
					free = append(free, s)
				}
			}
			if len(free) == 0 {
				break
			}
			w.holders[free[w.rng.IntN(len(free))]] = self
			moved = true
		}
	}
	return moved
}

// settle runs rounds until nothing moves and checks the result is balanced:
// every shard held by a live replica, shares within one of each other.
func (w *world) settle(t *testing.T, what string) {
	t.Helper()
	for r := 0; w.round(); r++ {
		if r > 2*len(w.holders)+10 {
			t.Fatalf("%s: still moving after %d rounds: %v", what, r, w.holders)
		}
	}
	c := w.view(w.live[0]).counts()
	lo, hi := len(w.holders), 0
	for _, n := range c {
		lo, hi = min(lo, n), max(hi, n)
	}
	held := 0
	for _, n := range c {
		held += n
	}
	if held != len(w.holders) || hi-lo > 1 {
		t.Fatalf("%s: settled unbalanced: %d of %d shards held, counts %v", what, held, len(w.holders), c)
	}
}

func (w *world) join(id string) {
	w.live = append(w.live, id)
	slices.Sort(w.live)
}

func (w *world) leave(id string) {
	w.live = slices.DeleteFunc(w.live, func(s string) bool { return s == id })
}

// From any history of replicas joining one after another, joining at once
// and dying, the rules settle with every shard held and shares within one.
func TestRulesSettleBalanced(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 16; n++ {
		for m := 1; m <= n+2; m++ {
			for trial := 0; trial < 5; trial++ {
				w := &world{rng: rng, holders: make([]string, n)}
				for i := 0; i < m; i++ { // one after another
					w.join(fmt.Sprintf("r%02d", rng.IntN(1000)*100+i))
					w.settle(t, fmt.Sprintf("N=%d, %d joined one by one", n, len(w.live)))
				}
				for len(w.live) > 1 { // kills, then a pair joining at once
					w.leave(w.live[rng.IntN(len(w.live))])
					w.settle(t, fmt.Sprintf("N=%d, down to %d", n, len(w.live)))
				}
				w.join("z1")
				w.join("z2")
				w.settle(t, fmt.Sprintf("N=%d, two joined at once", n))
			}
		}
	}
}

// Without the rules, the first replica to start takes every shard and
// keeps it; with them, three replicas started one after another hold 2, 1, 1
// of four shards.
func TestThreeReplicasOneAfterAnotherHold211(t *testing.T) {
	w := &world{rng: rand.New(rand.NewPCG(3, 4)), holders: make([]string, 4)}
	for _, id := range []string{"a", "b", "c"} {
		w.join(id)
		w.settle(t, id+" joined")
	}
	var got []int
	for _, n := range w.view("a").counts() {
		got = append(got, n)
	}
	slices.Sort(got)
	if diff := cmp.Diff([]int{1, 1, 2}, got); diff != "" {
		t.Errorf("shares (-want +got):\n%s", diff)
	}
}
