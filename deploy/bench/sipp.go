package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Addresses of the load: the uac sends to the forwarder, which relays to the uas.
const (
	forwarderPort = 5060
	uasPort       = 5070
	uacPort       = 5061
)

// errSIPpStats reports a SIPp statistics file the benchmark cannot read.
var errSIPpStats = errors.New("bench: unreadable SIPp statistics")

// sippStats is the last line of the uac's -trace_stat file.
type sippStats struct {
	Successful int           // SuccessfulCall(C)
	Failed     int           // FailedCall(C)
	Elapsed    time.Duration // CurrentTime - StartTime
}

// Rate is the achieved rate of successful calls per second.
func (s sippStats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Successful) / s.Elapsed.Seconds()
}

// parseSIPpStats reads SIPp's semicolon-separated statistics: a header
// line, then one line per period, the last one written at exit.
func parseSIPpStats(r io.Reader) (sippStats, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var header, last []string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if header == nil {
			header = strings.Split(line, ";")
			continue
		}
		last = strings.Split(line, ";")
	}
	if err := sc.Err(); err != nil {
		return sippStats{}, fmt.Errorf("%w: %v", errSIPpStats, err)
	}
	if last == nil {
		return sippStats{}, fmt.Errorf("%w: no data line", errSIPpStats)
	}
	col := func(name string) (string, error) {
		for i, h := range header {
			if h == name && i < len(last) {
				return last[i], nil
			}
		}
		return "", fmt.Errorf("%w: no column %s", errSIPpStats, name)
	}
	var s sippStats
	var errs []error
	num := func(name string) int {
		v, err := col(name)
		if err == nil {
			var n int
			n, err = strconv.Atoi(v)
			if err == nil {
				return n
			}
		}
		errs = append(errs, err)
		return 0
	}
	// StartTime and CurrentTime read "date<TAB>time<TAB>epoch.micros".
	epoch := func(name string) float64 {
		v, err := col(name)
		if err == nil {
			f := strings.Fields(v)
			if len(f) > 0 {
				var x float64
				x, err = strconv.ParseFloat(f[len(f)-1], 64)
				if err == nil {
					return x
				}
			} else {
				err = fmt.Errorf("%w: empty %s", errSIPpStats, name)
			}
		}
		errs = append(errs, err)
		return 0
	}
	s.Successful = num("SuccessfulCall(C)")
	s.Failed = num("FailedCall(C)")
	// The epochs carry microseconds; round away the float error.
	s.Elapsed = time.Duration(math.Round((epoch("CurrentTime")-epoch("StartTime"))*1e6)) * time.Microsecond
	if err := errors.Join(errs...); err != nil {
		return sippStats{}, fmt.Errorf("%w: %v", errSIPpStats, err)
	}
	return s, nil
}

// readSIPpStats reads a -trace_stat file.
func readSIPpStats(path string) (sippStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return sippStats{}, fmt.Errorf("open SIPp statistics: %w", err)
	}
	defer f.Close()
	return parseSIPpStats(f)
}

// sippMaxSocket keeps SIPp under the 20,000 open files per process of
// these machines in tn mode.
const sippMaxSocket = "10000"

// uasArgs are the arguments of SIPp's built-in uas for mode t1 or tn.
func uasArgs(mode string) []string {
	a := []string{"-sn", "uas", "-t", mode, "-i", "127.0.0.1", "-p", strconv.Itoa(uasPort), "-nostdin"}
	if mode == "tn" {
		a = append(a, "-max_socket", sippMaxSocket)
	}
	return a
}

// uacArgs are the arguments of SIPp's built-in uac placing calls at rate
// per second, statistics in statFile. A call whose answer is 5 s late
// fails, and SIPp gives up (non-zero status) after timeout.
func uacArgs(mode string, rate, calls int, timeout time.Duration, statFile string) []string {
	a := []string{"-sn", "uac", "-t", mode, "-i", "127.0.0.1", "-p", strconv.Itoa(uacPort),
		"-r", strconv.Itoa(rate), "-m", strconv.Itoa(calls), "-nostdin",
		"-recv_timeout", "5000", "-timeout", fmt.Sprintf("%ds", int(timeout.Seconds())), "-timeout_error",
		"-trace_stat", "-stf", statFile, "-fd", "1"}
	if mode == "tn" {
		a = append(a, "-max_socket", sippMaxSocket)
	}
	return append(a, fmt.Sprintf("127.0.0.1:%d", forwarderPort))
}

// child is a process the benchmark started, in a process group of its own
// and killed with the benchmark.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{}
	err  error // of Wait, once done is closed
}

// startChild starts bin with args in dir, its output in dir/name.out.
func startChild(dir, name, bin string, args ...string) (*child, error) {
	out, err := os.Create(fmt.Sprintf("%s/%s.out", dir, name))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait waits for the child to end and returns its exit code (-1 when a
// signal ended it).
func (c *child) wait() int {
	<-c.done
	return c.cmd.ProcessState.ExitCode()
}

// stop sends sig to the child's process group, then SIGKILL after grace.
func (c *child) stop(sig syscall.Signal, grace time.Duration) {
	if c.exited() {
		return
	}
	_ = syscall.Kill(-c.pid(), sig)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
}

// cpu is the CPU time of an ended child, from its rusage.
func (c *child) cpu() time.Duration {
	<-c.done
	return c.cmd.ProcessState.UserTime() + c.cmd.ProcessState.SystemTime()
}
