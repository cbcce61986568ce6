package main

import (
	"net"
	"net/http"
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
	stdout, stderr, code := runScaled(t, "run", "--config", writeConfig(t, strings.ReplaceAll(cfg, "LISTEN", taken.Addr().String())))
	out := stdout + stderr
	if code != 2 {
		t.Fatalf("run on a taken port: exit %d, want 2\n%s", code, out)
	}
	if !strings.Contains(out, taken.Addr().String()) {
		t.Errorf("the error does not name the address:\n%s", out)
	}
	for _, never := range []string{"scaler started", `"msg":"decision"`, "log target"} {
		if strings.Contains(out, never) {
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
