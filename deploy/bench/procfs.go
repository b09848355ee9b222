package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc (100 on every
// Linux architecture Go supports).
const clockTick = 100

// errProcFormat reports a /proc file that does not look as documented in proc(5).
var errProcFormat = errors.New("bench: unexpected /proc format")

// procStat is what the benchmark reads from /proc/PID/stat.
type procStat struct {
	PPID int
	CPU  time.Duration // utime + stime, all threads
}

// parseProcStat parses the contents of /proc/PID/stat. The command name may
// hold spaces and parentheses, so the fields are counted from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("%w: no ')' in stat", errProcFormat)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("%w: %d fields after the command name", errProcFormat, len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	st, err3 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("%w: %v", errProcFormat, err)
	}
	return procStat{PPID: ppid, CPU: ticks(ut + st)}, nil
}

// ticks converts clock ticks to a duration.
func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / clockTick }

// readProcStat reads /proc/PID/stat.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	return parseProcStat(b)
}

// processTree returns root and all its living descendants (Kamailio's
// children), root first.
func processTree(root int) []int {
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(e)
		if err != nil {
			continue // exited meanwhile
		}
		s, err := parseProcStat(b)
		if err != nil {
			continue
		}
		children[s.PPID] = append(children[s.PPID], pid)
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// treeCPU sums the CPU time of pids; a process that is gone counts nothing.
func treeCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		if s, err := readProcStat(pid); err == nil {
			sum += s.CPU
		}
	}
	return sum
}

// machineCPU is the first line of /proc/stat: CPU time of the whole
// machine, all cores, busy (user, nice, system, irq, softirq, steal) and in
// total.
type machineCPU struct{ Busy, Total time.Duration }

// parseMachineCPU parses the contents of /proc/stat.
func parseMachineCPU(b []byte) (machineCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("%w: /proc/stat starts %q", errProcFormat, line)
	}
	var v [8]uint64
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return machineCPU{}, fmt.Errorf("%w: /proc/stat: %v", errProcFormat, err)
		}
		v[i] = n
	}
	user, nice, system, idle, iowait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	busy := user + nice + system + irq + softirq + steal
	return machineCPU{Busy: ticks(busy), Total: ticks(busy + idle + iowait)}, nil
}

// readMachineCPU reads /proc/stat.
func readMachineCPU() (machineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	return parseMachineCPU(b)
}

// pssBytes sums the proportional set size of pids (pages shared by
// Kamailio's processes count once in the sum).
func pssBytes(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			return 0, fmt.Errorf("pss of %d: %w", pid, err)
		}
		kb, err := parsePSS(f)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("pss of %d: %w", pid, err)
		}
		sum += kb << 10
	}
	return sum, nil
}

// parsePSS returns the "Pss:" line of smaps_rollup, in KiB.
func parsePSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "Pss:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%w: no Pss line", errProcFormat)
}

// listening reports whether a TCP socket of this network namespace listens
// on 127.0.0.1:port (state 0A in /proc/net/tcp).
func listening(port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	return tcpListening(b, port)
}

// tcpListening looks for a listener on 127.0.0.1:port or 0.0.0.0:port in
// the contents of /proc/net/tcp.
func tcpListening(b []byte, port int) bool {
	want := []string{fmt.Sprintf("0100007F:%04X", port), fmt.Sprintf("00000000:%04X", port)}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" {
			continue
		}
		if f[1] == want[0] || f[1] == want[1] {
			return true
		}
	}
	return false
}
