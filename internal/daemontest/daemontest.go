// Package daemontest runs a scaled process for tests, as a user or the
// kubelet would, and reads what it serves: /healthz, /metrics and the
// decisions API. The cmd/scaled, test/kube and test/deploy tests share it.
package daemontest

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scaled-dev/scaled/internal/freeport"
)

// FreeAddr is a loopback address nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// Options say how Start runs the process.
type Options struct {
	// Name is how the test's log calls the process; "scaled" if empty.
	Name string
	// Addr is where the process serves HTTP, for the readers below.
	Addr string
	// Env is added to the test's environment.
	Env []string
	// Log is a file to write the output to; empty keeps it in memory.
	Log string
	// Grace, if set, stops the process at the test's end with SIGTERM and
	// kills it only if it is still running after Grace; without it the
	// process is killed at once.
	Grace time.Duration
}

// A Process is a running program started by Start.
type Process struct {
	Cmd  *exec.Cmd
	Addr string
	log  string
	out  lockedBuffer

	waitOnce sync.Once
	exited   chan struct{}
	err      error
}

// Start runs bin with args until the test ends, and logs its output if the
// test failed.
func Start(t testing.TB, bin string, o Options, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(bin, args...), Addr: o.Addr, log: o.Log, exited: make(chan struct{})}
	if len(o.Env) > 0 {
		p.Cmd.Env = append(os.Environ(), o.Env...)
	}
	var out io.Writer = &p.out
	if o.Log != "" {
		f, err := os.Create(o.Log)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close() // the child has its own copy
		out = f
	}
	p.Cmd.Stdout, p.Cmd.Stderr = out, out
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	name := o.Name
	if name == "" {
		name = "scaled"
	}
	t.Cleanup(func() {
		if o.Grace > 0 {
			_ = p.Cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.Exited():
			case <-time.After(o.Grace):
			}
		}
		_ = p.Cmd.Process.Kill()
		<-p.Exited()
		if t.Failed() {
			t.Logf("---- output of %s\n%s", name, p.Output())
		}
	})
	return p
}

// Exited is closed when the process has exited; the first call starts
// waiting for it. A test that calls Cmd.Wait itself must not call Exited
// before Wait returns.
func (p *Process) Exited() <-chan struct{} {
	p.waitOnce.Do(func() {
		go func() {
			p.err = p.Cmd.Wait()
			close(p.exited)
		}()
	})
	return p.exited
}

// Err is how the process exited, once Exited is closed.
func (p *Process) Err() error {
	<-p.exited
	return p.err
}

// Output is what the process has written to stdout and stderr so far.
func (p *Process) Output() string {
	if p.log != "" {
		b, _ := os.ReadFile(p.log)
		return string(b)
	}
	return p.out.String()
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
