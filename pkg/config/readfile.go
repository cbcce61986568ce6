package config

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileBytes is the largest config file read: room for a fleet of
// 100,000 scalers, and a bound on what a path that points at a device or a
// runaway file costs the process that reads it.
const MaxFileBytes = 64 << 20

// ReadFile reads the config file at path, which must be a regular file (a
// symbolic link to one, as a ConfigMap volume holds, counts) of at most
// MaxFileBytes. A named pipe, a device such as /dev/zero or a socket is
// refused without waiting on it: a daemon that reloads must never block on
// its config. It opens the path once and checks what it opened, so that a
// file swapped for a pipe between a check and the read is refused too.
func ReadFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read config: %s is %s, not a regular file", path, fileKind(st.Mode()))
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("read config: %s is %d bytes: a config file may be at most %d (%d MiB)", path, st.Size(), MaxFileBytes, MaxFileBytes>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("read config: %s grew past %d bytes while read: a config file may be at most %d (%d MiB)", path, MaxFileBytes, MaxFileBytes, MaxFileBytes>>20)
	}
	return data, nil
}

// fileKind names what a path that is not a regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	}
	return "not a plain file (" + m.Type().String() + ")"
}
