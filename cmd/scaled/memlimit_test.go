package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"go.uber.org/zap"
)

func writeCgroup(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// The container's limit is read from cgroup v2, else v1; "max", v1's
// huge "unlimited" and no file at all are no limit; garbage is an error.
func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		want    int64
		ok, err bool
	}{
		{"v2 limit", map[string]string{"memory.max": "536870912\n"}, 536870912, true, false},
		{"v2 unlimited", map[string]string{"memory.max": "max\n"}, 0, false, false},
		{"v1 limit", map[string]string{"memory/memory.limit_in_bytes": "268435456\n"}, 268435456, true, false},
		{"v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false, false},
		{"none", nil, 0, false, false},
		{"garbage", map[string]string{"memory.max": "lots"}, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := cgroupMemoryLimit(writeCgroup(t, tc.files))
			if got != tc.want || ok != tc.ok || (err != nil) != tc.err {
				t.Errorf("cgroupMemoryLimit = %d, %t, %v; want %d, %t, error %t", got, ok, err, tc.want, tc.ok, tc.err)
			}
		})
	}
}

// The runtime's soft limit is the ratio of the container's, unless
// GOMEMLIMIT is set or the ratio is 0.
func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	root := writeCgroup(t, map[string]string{"memory.max": "1000000000"})
	debug.SetMemoryLimit(math.MaxInt64)
	if got := setMemoryLimit(root, 0, zap.NewNop()); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("ratio 0 set a limit: %d", got)
	}
	if got := setMemoryLimit(root, 0.9, zap.NewNop()); got != 900000000 || debug.SetMemoryLimit(-1) != 900000000 {
		t.Errorf("ratio 0.9 of 1e9: returned %d, runtime limit %d; want 900000000", got, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "300MiB")
	if got := setMemoryLimit(root, 0.9, zap.NewNop()); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set, yet a limit was set: %d", got)
	}
}
