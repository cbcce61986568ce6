package doctest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBlocksReadsFencesMarkersAndIndentedBlocks(t *testing.T) {
	dir := t.TempDir()
	doc := "# Title\n\n```sh\nscaled version\n```\n\n<!-- needs: prometheus -->\n```console\n$ bin/scaled check --query --config a.yaml\nok\n```\n\n" +
		"1. In a list:\n\n   <!-- needs: a cluster -->\n   ```sh\n   kubectl apply -k deploy/base\n   ```\n"
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Blocks(dir, "README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{File: "README.md", Line: 4, Lang: "sh", Lines: []string{"scaled version"}},
		{File: "README.md", Line: 9, Lang: "console", Needs: "prometheus", Lines: []string{"$ bin/scaled check --query --config a.yaml", "ok"}},
		{File: "README.md", Line: 17, Lang: "sh", Needs: "a cluster", Lines: []string{"kubectl apply -k deploy/base"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("blocks (-want +got):\n%s", diff)
	}
	cmds := Commands(got[1])
	if len(cmds) != 1 || cmds[0].Text != "bin/scaled check --query --config a.yaml" || cmds[0].Where() != "README.md:9" ||
		!cmp.Equal(cmds[0].Output, []string{"ok"}) {
		t.Errorf("commands = %+v", cmds)
	}
}

func TestRunsScaled(t *testing.T) {
	for line, want := range map[string]bool{
		"scaled simulate --config x":                         true,
		"$ bin/scaled check --config x":                      true,
		"GOMAXPROCS=1 scaled simulate --trace t":             true,
		"for f in a b; do scaled simulate --config $f; done": true,
		"/tmp/scaled simulate -c x":                          true,
		"scaled tune --trace t.csv --out tuned.yaml":         true,
		"scaled tune: scaler web (the default template)":     false,
		"# scaled simulate in a comment":                     false,
		"kubectl -n scaled get pods":                         false,
		"helm install scaled deploy/helm/scaled":             false,
		"go run ./hack/frontier --trace x":                   false,
	} {
		if got := RunsScaled(line); got != want {
			t.Errorf("RunsScaled(%q) = %v, want %v", line, got, want)
		}
	}
}
