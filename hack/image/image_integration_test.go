//go:build integration

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the test builds the image with; every figure below must come back out.
const (
	testVersion = "v9.8.7-imagetest"
	testCommit  = "feedbee"
	testEpoch   = "1700000000"
)

var (
	buildOnce sync.Once
	built     string // the OCI layout tar
	buildErr  error
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// imageTar runs the program as `make image` does, once per test binary. It
// runs as its own process, without the race detector this test may run
// under, which would make compressing the layers minutes slower.
func imageTar(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scaled-image-test")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "scaled-image.tar")
		buildErr = makeImage(repoRoot(t), built)
	})
	if buildErr != nil {
		t.Fatalf("building the image: %v", buildErr)
	}
	return built
}

func makeImage(root, out string) error {
	c := exec.Command("go", "run", "./hack/image", "-out", out, "-root", root,
		"-version", testVersion, "-commit", testCommit, "-source-date-epoch", testEpoch)
	c.Dir = root
	var stderr bytes.Buffer
	c.Stdout, c.Stderr = io.Discard, &stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("%v: %w\n%s", c.Args, err, stderr.String())
	}
	return nil
}

// eachEntry calls fn with each entry of the tar stream r in turn and, but
// for a directory, its contents.
func eachEntry(t *testing.T, r io.Reader, fn func(h *tar.Header, data []byte)) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if h.Typeflag != tar.TypeDir {
			if data, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		fn(h, data)
	}
}

// readIndex unpacks the tar and returns the multi-platform index that
// index.json names.
func readIndex(t *testing.T, tarFile string) (v1.ImageIndex, v1.Descriptor) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eachEntry(t, f, func(h *tar.Header, data []byte) {
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("not an OCI image layout: %v", err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].MediaType != types.OCIImageIndex {
		t.Fatalf("index.json: want one OCI image index, got %+v", m.Manifests)
	}
	desc := m.Manifests[0]
	idx, err := top.ImageIndex(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return idx, desc
}

// entry is one file of a layer or a folder, as an image user sees it.
type entry struct {
	Mode     string // type and permission bits, e.g. "drwxrwxrwt" or "-rwxr-xr-x"
	UID, GID int
	SHA256   string // of a regular file's content
}

type layerFiles struct {
	entries map[string]entry
	data    map[string][]byte
}

var (
	layersMu sync.Mutex
	layers   = map[v1.Hash]layerFiles{}
)

// layerEntries lists the files of img's layers (read once per image digest).
func layerEntries(t *testing.T, img v1.Image) (map[string]entry, map[string][]byte) {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	layersMu.Lock()
	defer layersMu.Unlock()
	if l, ok := layers[d]; ok {
		return l.entries, l.data
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	entries, data := map[string]entry{}, map[string][]byte{}
	eachEntry(t, rc, func(h *tar.Header, b []byte) {
		name := "/" + strings.TrimSuffix(h.Name, "/")
		e := entry{Mode: h.FileInfo().Mode().String(), UID: h.Uid, GID: h.Gid}
		if h.Typeflag == tar.TypeReg {
			data[name] = b
			e.SHA256 = sum(b)
		}
		entries[name] = e
	})
	layers[d] = layerFiles{entries, data}
	return entries, data
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestImageIsMultiPlatformNonRootAndRuns(t *testing.T) {
	idx, desc := readIndex(t, imageTar(t))
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != testVersion {
		t.Errorf("index.json ref.name = %q, want the version %q (the tag a load gives it)", got, testVersion)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range m.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
		t.Fatalf("platforms (-want +got):\n%s", diff)
	}
	epoch := time.Unix(1700000000, 0).UTC()
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

	for _, d := range m.Manifests {
		arch := d.Platform.Architecture
		t.Run(arch, func(t *testing.T) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS != "linux" || cf.Architecture != arch {
				t.Errorf("config platform %s/%s, want linux/%s", cf.OS, cf.Architecture, arch)
			}
			if cf.Config.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532 (non-root)", cf.Config.User)
			}
			if diff := cmp.Diff([]string{"/scaled"}, cf.Config.Entrypoint); diff != "" {
				t.Errorf("entrypoint (-want +got):\n%s", diff)
			}
			if !cf.Created.Time.Equal(epoch) {
				t.Errorf("created %v, want SOURCE_DATE_EPOCH %v", cf.Created.Time, epoch)
			}
			for k, want := range map[string]string{
				"org.opencontainers.image.version":  testVersion,
				"org.opencontainers.image.revision": testCommit,
				"org.opencontainers.image.source":   "https://github.com/scaled-dev/scaled",
			} {
				if got := cf.Config.Labels[k]; got != want {
					t.Errorf("label %s = %q, want %q", k, got, want)
				}
			}
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != 1 {
				t.Errorf("%d layers, want 1 on an empty base", len(layers))
			}

			entries, data := layerEntries(t, img)
			for p, e := range entries {
				if e.UID != 0 || e.GID != 0 {
					t.Errorf("%s owned by %d:%d, want root: the user must not be able to change the image's files", p, e.UID, e.GID)
				}
			}
			if !bytes.Contains(data["/etc/ssl/certs/ca-certificates.crt"], []byte("-----BEGIN CERTIFICATE-----")) {
				t.Errorf("/etc/ssl/certs/ca-certificates.crt holds no certificate (%d bytes)", len(data["/etc/ssl/certs/ca-certificates.crt"]))
			}
			if !bytes.Contains(data["/etc/passwd"], []byte("nonroot:x:65532:65532:")) ||
				!bytes.Contains(data["/etc/group"], []byte("nonroot:x:65532:")) {
				t.Errorf("passwd/group do not name uid 65532:\n%s%s", data["/etc/passwd"], data["/etc/group"])
			}
			if got := entries["/tmp"].Mode; got != "dtrwxrwxrwx" {
				t.Errorf("/tmp mode %s, want dtrwxrwxrwx (world-writable, sticky)", got)
			}

			bin := filepath.Join(t.TempDir(), "scaled")
			if err := os.WriteFile(bin, data["/scaled"], 0o755); err != nil {
				t.Fatal(err)
			}
			ef, err := elf.Open(bin)
			if err != nil {
				t.Fatalf("/scaled is not an ELF binary: %v", err)
			}
			defer ef.Close()
			if ef.Machine != machines[arch] {
				t.Errorf("/scaled is for %v, want %v", ef.Machine, machines[arch])
			}
			for _, p := range ef.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("/scaled asks for a dynamic loader: it must be static (CGO_ENABLED=0) on an empty base")
				}
			}
			if arch != runtime.GOARCH || runtime.GOOS != "linux" {
				return
			}
			out, err := exec.Command(bin, "version").CombinedOutput()
			if err != nil {
				t.Fatalf("/scaled version: %v\n%s", err, out)
			}
			want := "scaled " + testVersion + " (commit " + testCommit + ", "
			if !strings.HasPrefix(string(out), want) || !strings.Contains(string(out), "linux/"+arch) {
				t.Errorf("/scaled version printed %q, want %q... linux/%s", out, want, arch)
			}
		})
	}
}

// The same inputs give the same image: no timestamp, name or order comes
// from the machine or the clock, so a release can be rebuilt and checked.
// A second make image, binaries and all, writes the same bytes.
func TestImageIsReproducible(t *testing.T) {
	first := imageTar(t)
	again := filepath.Join(t.TempDir(), "again.tar")
	if err := makeImage(repoRoot(t), again); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("a second build of the same commit differs: sha256 %s (%d bytes) and %s (%d bytes)", sum(a), len(a), sum(b), len(b))
	}
}

// dockerfile is what the Dockerfile's final stage declares, and the
// arguments of the build stage's hack/image run.
type dockerfile struct {
	Base        string
	Copies      []string // "--from=build /out/rootfs/ /" as written
	User        string
	Entrypoint  []string
	Cmd         []string
	Expose      []string
	Env, Labels map[string]string
	ImageArgs   []string // of `go run ./hack/image ...`, with ARGs substituted
}

// parseDockerfile reads the instructions this Dockerfile uses (continuation
// lines joined, ${ARG} replaced by args) into what the final stage declares.
func parseDockerfile(t *testing.T, path string, args map[string]string) dockerfile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cur string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur += s + " "
			continue
		}
		if s := strings.TrimSpace(cur + l); s != "" {
			lines = append(lines, s)
		}
		cur = ""
	}
	expand := func(s string) string { return os.Expand(s, func(k string) string { return args[k] }) }
	var d dockerfile
	for _, l := range lines {
		inst, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(inst) {
		case "FROM":
			d = dockerfile{Base: strings.Fields(rest)[len(strings.Fields(rest))-1], ImageArgs: d.ImageArgs,
				Env: map[string]string{}, Labels: map[string]string{}}
			if f := strings.Fields(rest); len(f) >= 3 && strings.EqualFold(f[len(f)-2], "AS") {
				d.Base = f[len(f)-3]
			}
		case "RUN":
			if _, after, ok := strings.Cut(rest, "go run ./hack/image "); ok {
				d.ImageArgs = strings.Fields(expand(after))
			}
		case "COPY":
			d.Copies = append(d.Copies, rest)
		case "USER":
			d.User = rest
		case "EXPOSE":
			d.Expose = append(d.Expose, strings.Fields(rest)...)
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &d.Entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT %s: want the JSON form: %v", rest, err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(rest), &d.Cmd); err != nil {
				t.Fatalf("CMD %s: want the JSON form: %v", rest, err)
			}
		case "ENV", "LABEL":
			into := d.Env
			if strings.EqualFold(inst, "LABEL") {
				into = d.Labels
			}
			for _, kv := range splitPairs(t, expand(rest)) {
				k, v, _ := strings.Cut(kv, "=")
				into[k] = v
			}
		}
	}
	return d
}

// splitPairs splits `k="v w" k2=v2` into k=v w, k2=v2.
func splitPairs(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	var b strings.Builder
	quoted := false
	for _, c := range s + " " {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ' ' && !quoted:
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(c)
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	return out
}

// The Dockerfile gives the image `make image` gives: the files its build
// stage lays out with hack/image (byte for byte, mode for mode, all root's as
// COPY makes them), on an empty base, with the same user, entrypoint,
// command, port, environment and labels.
func TestDockerfileGivesTheSameImage(t *testing.T) {
	root := repoRoot(t)
	d := parseDockerfile(t, filepath.Join(root, "Dockerfile"),
		map[string]string{"VERSION": testVersion, "COMMIT": testCommit, "TARGETARCH": "amd64"})
	if d.Base != "scratch" {
		t.Errorf("final stage FROM %s, want scratch (the image is built on an empty base)", d.Base)
	}
	if diff := cmp.Diff([]string{"--from=build /out/rootfs/ /"}, d.Copies); diff != "" {
		t.Fatalf("final stage COPY (-want +got): one copy of the laid-out files, root-owned (no --chown):\n%s", diff)
	}

	idx, _ := readIndex(t, imageTar(t))
	img, err := idx.Image(manifestFor(t, idx, "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range cf.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	var ports []string
	for p := range cf.Config.ExposedPorts {
		ports = append(ports, strings.TrimSuffix(p, "/tcp"))
	}
	slices.Sort(ports)
	for _, c := range []struct {
		what      string
		want, got any
	}{
		{"USER", cf.Config.User, d.User},
		{"ENTRYPOINT", cf.Config.Entrypoint, d.Entrypoint},
		{"CMD", cf.Config.Cmd, d.Cmd},
		{"EXPOSE", ports, d.Expose},
		{"ENV", env, d.Env},
		{"LABEL", cf.Config.Labels, d.Labels},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("Dockerfile %s differs from make image's (-image +Dockerfile):\n%s", c.what, diff)
		}
	}

	// The build stage's hack/image run, into a folder of ours.
	args := slices.Clone(d.ImageArgs)
	i := slices.Index(args, "-rootfs")
	if i < 0 || i+1 >= len(args) || args[i+1] != "/out/rootfs" {
		t.Fatalf("the build stage runs hack/image with %q, want -rootfs /out/rootfs (what the final stage copies)", args)
	}
	dir := t.TempDir()
	args[i+1] = dir
	args = append(args, "-root", root, "-source-date-epoch", testEpoch)
	if err := run(context.Background(), args); err != nil {
		t.Fatalf("hack/image %q: %v", args, err)
	}
	fromDocker := map[string]entry{}
	err = filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		e := entry{Mode: fi.Mode().String()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.SHA256 = sum(b)
		}
		fromDocker["/"+filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fromImage, _ := layerEntries(t, img)
	if diff := cmp.Diff(fromImage, fromDocker); diff != "" {
		t.Errorf("files of make image (-) and of the Dockerfile's build (+) differ:\n%s", diff)
	}
}

func manifestFor(t *testing.T, idx v1.ImageIndex, arch string) v1.Hash {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Architecture == arch {
			return d.Digest
		}
	}
	t.Fatalf("no %s image in the index", arch)
	return v1.Hash{}
}
