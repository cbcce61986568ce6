// Package proc reads what Linux says of a running process, for the tests
// that hold the scaled binary to its memory figures.
package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Status reads the kB fields of /proc/PID/status (VmRSS, VmHWM, ...), in
// KiB by name.
func Status(pid int) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if f := strings.Fields(v); ok && len(f) == 2 && f[1] == "kB" {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			out[k] = n
		}
	}
	return out, nil
}
