package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// A container's memory limit, as its cgroup states it: cgroup v2's
// memory.max, else cgroup v1's memory.limit_in_bytes.
var cgroupMemoryFiles = []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")}

// noCgroupLimit is at or above what cgroup v1 writes for "no limit" (the
// largest page-aligned int64).
const noCgroupLimit = int64(1) << 62

// cgroupMemoryLimit reads the memory limit of the cgroup mounted at root
// (/sys/fs/cgroup in a container): ok is false when none is set.
func cgroupMemoryLimit(root string) (limit int64, ok bool, err error) {
	for _, name := range cgroupMemoryFiles {
		b, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %q is not a number of bytes", filepath.Join(root, name), s)
		}
		if n <= 0 || n >= noCgroupLimit {
			return 0, false, nil
		}
		return n, true, nil
	}
	return 0, false, nil
}

// setMemoryLimit gives the Go runtime a soft memory limit of ratio times
// the container's memory limit, as Prometheus' --auto-gomemlimit does, so
// that the collector works harder as the heap nears the limit instead of
// the container being killed at it. GOMEMLIMIT in the environment wins,
// and ratio 0 turns it off. It returns the limit set (0: none).
func setMemoryLimit(root string, ratio float64, logger *zap.Logger) int64 {
	if ratio <= 0 {
		return 0
	}
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		logger.Info("Go memory limit from GOMEMLIMIT", zap.String("GOMEMLIMIT", v))
		return 0
	}
	limit, ok, err := cgroupMemoryLimit(root)
	if err != nil {
		logger.Warn("cannot read the container's memory limit: no Go memory limit set", zap.Error(err))
		return 0
	}
	if !ok {
		return 0
	}
	soft := int64(float64(limit) * ratio)
	debug.SetMemoryLimit(soft)
	logger.Info("Go memory limit set from the container's", zap.Int64("container_bytes", limit), zap.Float64("ratio", ratio), zap.Int64("go_bytes", soft))
	return soft
}
