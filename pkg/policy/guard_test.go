package policy

import "testing"

// TestGuardsTable checks what the change log and a Scaler's status rely on:
// each guard is listed once, in the order it applies, and every limiting
// guard names the condition reason it sets.
func TestGuardsTable(t *testing.T) {
	seen := map[string]bool{}
	for i, g := range Guards {
		if seen[g.Name] {
			t.Errorf("guard %s is listed twice", g.Name)
		}
		seen[g.Name] = true
		if i > 0 && g.Order < Guards[i-1].Order {
			t.Errorf("guard %s (order %d) is listed after %s (order %d)", g.Name, g.Order, Guards[i-1].Name, Guards[i-1].Order)
		}
		if g.Limiting != (g.Condition != "") {
			t.Errorf("guard %s: limiting %v with condition reason %q", g.Name, g.Limiting, g.Condition)
		}
		if got, ok := GuardNamed(g.Name); !ok || got != g {
			t.Errorf("GuardNamed(%s) = %+v, %v", g.Name, got, ok)
		}
	}
	if _, ok := GuardNamed("tolerance"); ok {
		t.Error("GuardNamed found a guard that does not exist")
	}
}
