// Command image builds scaled's container image without a Docker daemon and
// without pulling anything: the static binary, CA certificates and a non-root
// user on an empty base, one image per platform under one OCI index, written
// as an OCI image layout in a tar file (`make image`). With -rootfs it lays
// one platform's files out in a folder instead, which is what the Dockerfile
// copies, so that both give the same image.
//
//	go run ./hack/image -out bin/scaled-image.tar -version v0.1.0 -commit abc1234
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// config is the command line: options plus where the result goes.
type config struct {
	options
	Out    string // the OCI layout tar file
	Rootfs string // instead: one platform's files, in this folder
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.StringVar(&c.Out, "out", "bin/scaled-image.tar", "the OCI image layout tar file to write")
	fs.StringVar(&c.Rootfs, "rootfs", "", "write one platform's files into this folder instead of an image (for the Dockerfile)")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated os/arch list")
	fs.StringVar(&c.Version, "version", "dev", "the version the binary reports and the image is tagged with")
	fs.StringVar(&c.Commit, "commit", "unknown", "the commit the binary reports")
	fs.StringVar(&c.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle to copy in (Debian's ca-certificates)")
	fs.StringVar(&c.Root, "root", ".", "the repository to build ./cmd/scaled from")
	epoch := fs.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"),
		"Unix seconds for every timestamp in the image (default $SOURCE_DATE_EPOCH, else the last commit's time)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, p := range strings.Split(*platforms, ",") {
		if _, _, err := platform(p); err != nil {
			return c, fmt.Errorf("-platforms: %w", err)
		}
		c.Platforms = append(c.Platforms, p)
	}
	if c.Rootfs != "" && len(c.Platforms) != 1 {
		return c, fmt.Errorf("-platforms %q: -rootfs takes exactly one platform", *platforms)
	}
	if c.Version == "" || c.Commit == "" {
		return c, errors.New("-version and -commit must not be empty")
	}
	t, err := sourceDate(*epoch, c.Root)
	if err != nil {
		return c, err
	}
	c.Epoch = t
	return c, nil
}

// sourceDate is the given Unix time, else the last commit's, else 0: never
// the clock, which would make every build differ.
func sourceDate(epoch, root string) (time.Time, error) {
	if epoch == "" {
		out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%ct").Output()
		if err != nil {
			return time.Unix(0, 0).UTC(), nil
		}
		epoch = strings.TrimSpace(string(out))
	}
	s, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || s < 0 {
		return time.Time{}, fmt.Errorf("-source-date-epoch %q: must be Unix seconds, 0 or more", epoch)
	}
	return time.Unix(s, 0).UTC(), nil
}

func run(ctx context.Context, args []string) error {
	c, err := parse(args)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "scaled-image")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()

	if c.Rootfs != "" {
		goos, goarch, _ := platform(c.Platforms[0])
		bin := filepath.Join(work, "scaled")
		if err := buildBinary(ctx, c.options, goos, goarch, bin); err != nil {
			return err
		}
		files, err := rootfs(c.options, bin)
		if err != nil {
			return err
		}
		return writeRootfs(files, c.Rootfs)
	}
	idx, err := index(ctx, c.options, work)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.Out), 0o755); err != nil {
		return err
	}
	if err := writeLayout(c.options, idx, work, c.Out); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: scaled %s for %s, index %s\n", c.Out, c.Version, strings.Join(c.Platforms, ", "), d)
	return nil
}
