package simulate

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// docs/model.md publishes the HPA reference figures that the reference-figure
// tests hold this package to; the page and the tests must say the same.
func TestModelDocPublishesTheReferenceFigures(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "model.md"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		trace string
		want  [3]figure
	}
	var got []row
	inTable := false
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| trace | HPA u=0.5 | HPA u=0.6 | HPA u=0.7 |") {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 4 {
			t.Fatalf("docs/model.md: row %q: want a trace and three cells", line)
		}
		r := row{trace: strings.TrimSpace(cells[0])}
		for i, c := range cells[1:] {
			parts := strings.Split(c, "/")
			if len(parts) != 3 {
				t.Fatalf("docs/model.md: cell %q: want violating / cost / actions", c)
			}
			v, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
			cost, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
			n, err3 := strconv.Atoi(strings.TrimSpace(parts[2]))
			if err1 != nil || err2 != nil || err3 != nil {
				t.Fatalf("docs/model.md: cell %q: %v %v %v", c, err1, err2, err3)
			}
			r.want[i] = figure{violating: v, cost: cost, actions: n}
		}
		got = append(got, r)
	}
	var want []row
	for _, f := range publishedFigures {
		want = append(want, row{trace: f.trace, want: f.want})
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{}, figure{})); diff != "" {
		t.Errorf("docs/model.md's reference table differs from the figures the tests hold to (-tests +doc):\n%s", diff)
	}
}
