package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user the image runs as: distroless's nonroot, so that policies and
// securityContexts written for distroless images hold for this one too.
const (
	uid      = 65532
	userName = "nonroot"
)

// What the image runs. The Dockerfile declares the same (a test compares them).
var (
	entrypoint = []string{"/scaled"}
	cmd        = []string{"run", "--config", "/etc/scaled/scaled.yaml"}
	env        = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
	}
	exposedPort = "9464/tcp"
	source      = "https://github.com/scaled-dev/scaled"
)

// options are what one build of the image depends on: nothing else (no clock,
// no registry) goes into it, so the same options give the same digests.
type options struct {
	Root      string    // the repository, where ./cmd/scaled is built from
	Version   string    // main.version of the binary, the image's version label and tag
	Commit    string    // main.commit of the binary, the revision label
	Epoch     time.Time // every timestamp in the image (SOURCE_DATE_EPOCH)
	CACerts   string    // the CA bundle copied in
	Platforms []string  // os/arch, e.g. linux/amd64
}

// file is one entry of the image's only layer.
type file struct {
	Path string      // absolute, slash-separated
	Mode fs.FileMode // fs.ModeDir for folders; permission and sticky bits
	Data []byte      // content of a regular file
}

func user() string { return strconv.Itoa(uid) + ":" + strconv.Itoa(uid) }

// labels are the image's OCI annotations as config labels.
func labels(o options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "scaled",
		"org.opencontainers.image.description": "An autoscaling decision daemon: sizes workloads on SLO signals and explains every decision",
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.url":         source,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    o.Commit,
	}
}

// ldflags are the Makefile's, stripped as a release binary is.
func ldflags(o options) string {
	return fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", o.Version, o.Commit)
}

// buildBinary builds a static scaled for goos/goarch into out.
func buildBinary(ctx context.Context, o options, goos, goarch, out string) error {
	c := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", ldflags(o), "-o", out, "./cmd/scaled")
	c.Dir = o.Root
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=-mod=readonly")
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("go build for %s/%s: %w", goos, goarch, err)
	}
	return nil
}

// rootfs is everything the image holds besides the base (which is empty):
// the binary, CA certificates, a passwd and group that name the non-root
// user, the resolver's order, and a /tmp. Every entry belongs to root.
func rootfs(o options, binary string) ([]file, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w (install Debian's ca-certificates or pass -ca-certs)", err)
	}
	if !bytes.Contains(ca, []byte("BEGIN CERTIFICATE")) {
		return nil, fmt.Errorf("CA certificates: %s holds no PEM certificate", o.CACerts)
	}
	id := strconv.Itoa(uid)
	files := []file{
		{Path: "/etc", Mode: fs.ModeDir | 0o755},
		{Path: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\n" + userName + ":x:" + id + ":\n")},
		{Path: "/etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			userName + ":x:" + id + ":" + id + ":" + userName + ":/nonexistent:/sbin/nologin\n")},
		{Path: "/etc/ssl", Mode: fs.ModeDir | 0o755},
		{Path: "/etc/ssl/certs", Mode: fs.ModeDir | 0o755},
		{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: ca},
		{Path: "/scaled", Mode: 0o755, Data: bin},
		{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// layerTar writes files as a tar stream with every timestamp at epoch.
func layerTar(files []file, epoch time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:    strings.TrimPrefix(f.Path, "/"),
			Mode:    int64(f.Mode.Perm()),
			ModTime: epoch,
			Format:  tar.FormatPAX,
		}
		if f.Mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000
		}
		if f.Mode.IsDir() {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeRootfs lays files out under dir, for a Dockerfile to COPY.
func writeRootfs(files []file, dir string) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if f.Mode.IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		} else if err := os.WriteFile(p, f.Data, 0o600); err != nil {
			return err
		}
		// Chmod, not the umask-filtered create mode, and with the sticky bit.
		if err := os.Chmod(p, f.Mode.Perm()|f.Mode&fs.ModeSticky); err != nil {
			return err
		}
	}
	return nil
}

// image is one platform's image: an empty base, the rootfs as its layer.
func image(o options, goos, goarch string, files []file) (v1.Image, error) {
	data, err := layerTar(files, o.Epoch)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: o.Epoch},
			CreatedBy: "hack/image: scaled " + o.Version + ", CA certificates, user " + userName,
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = goos, goarch
	cf.Created = v1.Time{Time: o.Epoch}
	cf.Config = v1.Config{
		User:         user(),
		Entrypoint:   entrypoint,
		Cmd:          cmd,
		Env:          env,
		ExposedPorts: map[string]struct{}{exposedPort: {}},
		Labels:       labels(o),
	}
	return mutate.ConfigFile(img, cf)
}

// platform splits "os/arch".
func platform(p string) (string, string, error) {
	goos, goarch, ok := strings.Cut(p, "/")
	if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
		return "", "", fmt.Errorf("platform %q: must be os/arch, e.g. linux/amd64", p)
	}
	return goos, goarch, nil
}

// index builds the binary for each platform under work and assembles the
// multi-platform image index.
func index(ctx context.Context, o options, work string) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		goos, goarch, err := platform(p)
		if err != nil {
			return nil, err
		}
		bin := filepath.Join(work, "scaled-"+goos+"-"+goarch)
		if err := buildBinary(ctx, o, goos, goarch, bin); err != nil {
			return nil, err
		}
		files, err := rootfs(o, bin)
		if err != nil {
			return nil, err
		}
		img, err := image(o, goos, goarch, files)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: goos, Architecture: goarch}},
		})
	}
	return idx, nil
}

// writeLayout writes idx as an OCI image layout whose index.json names it by
// version, and packs that layout into one tar file at out.
func writeLayout(o options, idx v1.ImageIndex, work, out string) error {
	dir := filepath.Join(work, "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": o.Version,
	})); err != nil {
		return err
	}
	return tarDir(dir, out, o.Epoch)
}

// tarDir packs dir into out: sorted, root-owned, every timestamp at epoch,
// so that equal layouts give equal files.
func tarDir(dir, out string, epoch time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp) }()
	tw := tar.NewWriter(f)
	for _, p := range names {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: path.Clean(filepath.ToSlash(rel)), ModTime: epoch, Mode: 0o644, Format: tar.FormatPAX}
		if fi.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
		} else {
			h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !fi.IsDir() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, src)
			src.Close()
			if err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
