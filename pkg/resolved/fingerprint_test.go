package resolved

import (
	"testing"
	"time"
)

type block struct {
	Name   string
	Window *time.Duration
	Limits []int
	Labels map[string]string
	hidden float64
	zone   *time.Location
}

// Fingerprints follow reflect.DeepEqual: what it calls equal has one
// fingerprint, what it tells apart has two.
func TestFingerprintFollowsDeepEqual(t *testing.T) {
	w1, w2, w3 := time.Minute, time.Minute, time.Hour
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip(err)
	}
	paris2, _ := time.LoadLocation("Europe/Paris") // another copy
	base := func() block {
		return block{Name: "a", Window: &w1, Limits: []int{1, 2}, Labels: map[string]string{"x": "1", "y": "2", "z": "3"}, hidden: 0.5, zone: paris}
	}
	same := base()
	same.Window = &w2 // another pointer to an equal value
	same.Labels = map[string]string{"z": "3", "y": "2", "x": "1"}
	same.zone = paris2
	if FingerprintOf(base()) != FingerprintOf(same) {
		t.Error("equal blocks have different fingerprints")
	}
	for name, change := range map[string]func(*block){
		"name":          func(b *block) { b.Name = "b" },
		"pointed value": func(b *block) { b.Window = &w3 },
		"nil pointer":   func(b *block) { b.Window = nil },
		"list":          func(b *block) { b.Limits = []int{2, 1} },
		"empty list":    func(b *block) { b.Limits = []int{} },
		"nil list":      func(b *block) { b.Limits = nil },
		"map value":     func(b *block) { b.Labels["x"] = "2" },
		"unexported":    func(b *block) { b.hidden = 1 },
		"zone":          func(b *block) { b.zone = time.UTC },
	} {
		b := base()
		change(&b)
		if FingerprintOf(base()) == FingerprintOf(b) {
			t.Errorf("a change of %s left the fingerprint as it was", name)
		}
	}
	if FingerprintOf("ab", "c") == FingerprintOf("a", "bc") {
		t.Error("values are not told apart from their neighbours")
	}
}
