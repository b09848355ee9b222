package hep

import (
	"bytes"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// extProc is an external program started by a test, in its own process
// group so that it and its children are stopped together.
type extProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *extProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// output returns what the program wrote so far (stdout and stderr).
func (p *extProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startProc runs name with args; the test's cleanup stops it.
func startProc(t *testing.T, env []string, name string, args ...string) *extProc {
	t.Helper()
	p := &extProc{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p
}

// stop sends SIGTERM to the program's process group, then SIGKILL if it
// has not exited within the test timeout.
func (p *extProc) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(testTimeout):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *extProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// needTool returns the path of an installed program; when it is missing
// the test skips, or fails under CI (see testtool).
func needTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	return testtool.Program(t, name, debianPackage)
}
