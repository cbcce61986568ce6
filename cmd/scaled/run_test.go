package main

import (
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run binds its port before it starts any scaler: when the port is taken it
// exits with 2, naming the address, and no scaler has started or acted.
func TestRunBindsItsPortBeforeScaling(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := strings.Replace(reloadHead, "dry_run: true", "dry_run: false", 1) + replayScaler(t, "web", 1)
	path := filepath.Join(t.TempDir(), "scaled.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(cfg, "LISTEN", taken.Addr().String())), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(scaledBin, "run", "--config", path).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("run on a taken port: %v, want exit code 2\n%s", err, out)
	}
	if !strings.Contains(string(out), taken.Addr().String()) {
		t.Errorf("the error does not name the address:\n%s", out)
	}
	for _, never := range []string{"scaler started", `"msg":"decision"`, "log target"} {
		if strings.Contains(string(out), never) {
			t.Errorf("output has %q: a scaler ran before the port was bound\n%s", never, out)
		}
	}
}

// The flags of the HTTP server: the decisions API can be turned off.
func TestRunTurnsTheDecisionsAPIOff(t *testing.T) {
	d := startDaemonArgs(t, reloadHead+replayScaler(t, "web", 1), "--web.disable-decisions-api")
	code, _, err := d.Get("/api/v1/decisions?scaler=web")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusNotFound {
		t.Errorf("/api/v1/decisions with --web.disable-decisions-api = %d, want 404", code)
	}
	if !d.has(t, "/metrics", "scaled_scalers 1") {
		t.Error("/metrics does not answer")
	}
}

// --web.enable-pprof serves the runtime profiles an operator takes of a
// fleet's memory; without it they are not there.
func TestRunServesProfilesWhenAsked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{{nil, http.StatusNotFound}, {[]string{"--web.enable-pprof"}, http.StatusOK}} {
		d := startDaemonArgs(t, reloadHead+replayScaler(t, "web", 1), c.args...)
		code, _, err := d.Get("/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		if code != c.want {
			t.Errorf("/debug/pprof/heap with %v = %d, want %d", c.args, code, c.want)
		}
	}
}
