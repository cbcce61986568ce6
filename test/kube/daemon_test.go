//go:build kube

package kube

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/daemontest"
)

// A process of the built scaled binary.
type daemon struct {
	proc   *daemontest.Process
	id     string
	cmd    *exec.Cmd // proc.Cmd
	listen string    // proc.Addr
}

func startDaemon(t *testing.T, bin, cfg, kubeconfig, id string) *daemon {
	t.Helper()
	listen := daemontest.FreeAddr(t)
	p := daemontest.Start(t, bin, daemontest.Options{
		Name: id, Addr: listen, Env: []string{"KUBECONFIG=" + kubeconfig}, Log: filepath.Join(t.TempDir(), id+".log"),
	}, "run", "--config", cfg, "--listen", listen, "--leader-election.identity", id)
	return &daemon{proc: p, id: id, cmd: p.Cmd, listen: listen}
}

// scaledAt are the times this daemon changed the target, from its log.
func (d *daemon) scaledAt(t *testing.T) []time.Time {
	t.Helper()
	var out []time.Time
	for _, line := range strings.Split(d.proc.Output(), "\n") {
		var l struct {
			TS  float64 `json:"ts"`
			Msg string  `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "kubernetes target scaled" {
			out = append(out, time.Unix(0, int64(l.TS*1e9)))
		}
	}
	return out
}

func (d *daemon) metric(name string) (string, error) { return d.proc.Series(name) }

// objectsDaemon runs scaled as deploy/'s service account on the Scaler
// objects of namespaces, ticking every interval, querying the Prometheus
// at prom, with more settings of scaler_objects in extra.
func (c *cluster) objectsDaemon(t *testing.T, id, prom string, interval time.Duration, extra string, namespaces ...string) *daemon {
	t.Helper()
	return startDaemon(t, buildScaled(t), writeConfig(t, fmt.Sprintf(`
interval: %s
log: {level: info, format: json}
prometheus: {url: %q}
scaler_objects:
  enabled: true
  namespaces: [%s]
  %s
`, interval, prom, strings.Join(namespaces, ", "), extra)), c.WriteKubeconfig("scaled-sa", saToken(t)), id)
}
