package main

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/deploy/testtool"
)

func TestParseProcStat(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want procStat
		err  bool
	}{
		"plain": {in: "4242 (kamailio) S 4200 4242 4200 0 -1 4194560 1000 0 0 0 250 125 0 0 20 0 1 0 100 0 0",
			want: procStat{PPID: 4200, CPU: 3750 * time.Millisecond}},
		"command with spaces and parentheses": {in: "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 0 0",
			want: procStat{PPID: 1, CPU: 70 * time.Millisecond}},
		"truncated":      {in: "7 (x) R 1 7", err: true},
		"no parenthesis": {in: "7 x R 1 7 7 0 -1 0 0 0 0 0 3 4", err: true},
		"not a number":   {in: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 three 4 0", err: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tc.in))
			if tc.err {
				if !errors.Is(err, errProcFormat) {
					t.Fatalf("err = %v, want errProcFormat", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseMachineCPU(t *testing.T) {
	in := "cpu  100 20 30 1000 50 5 6 7 0 0\ncpu0 50 10 15 500 25 2 3 3 0 0\nintr 1\n"
	got, err := parseMachineCPU([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	// busy = user+nice+system+irq+softirq+steal; total adds idle and iowait.
	want := machineCPU{Busy: ticks(168), Total: ticks(1218)}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := parseMachineCPU([]byte("intr 1\n")); !errors.Is(err, errProcFormat) {
		t.Fatalf("err = %v, want errProcFormat", err)
	}
}

func TestTCPListening(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:13C4 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:13CE 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
`
	for port, want := range map[int]bool{5060: true, 5070: false, 8080: true, 9060: false} {
		if got := tcpListening([]byte(table), port); got != want {
			t.Errorf("port %d: listening = %v, want %v", port, got, want)
		}
	}
}

func TestParsePSS(t *testing.T) {
	in := "55d0c0a00000-7ffd5b7f2000 ---p 00000000 00:00 0 [rollup]\nRss:  10240 kB\nPss:   8192 kB\nPss_Anon: 4000 kB\n"
	kb, err := parsePSS(strings.NewReader(in))
	if err != nil || kb != 8192 {
		t.Fatalf("got %d, %v; want 8192", kb, err)
	}
	if _, err := parsePSS(strings.NewReader("Rss: 1 kB\n")); !errors.Is(err, errProcFormat) {
		t.Fatalf("err = %v, want errProcFormat", err)
	}
}

// TestOwnProcess reads the test's own /proc entries: the live format must
// parse, and a child shows up in its parent's tree.
func TestOwnProcess(t *testing.T) {
	self, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self.PPID != os.Getppid() {
		t.Errorf("ppid %d, want %d", self.PPID, os.Getppid())
	}
	c, err := startChild(t.TempDir(), "sleep", "sleep", "30")
	if err != nil {
		testtool.Unavailable(t, "program sleep ("+err.Error()+")", "Debian package coreutils: apt-get install coreutils")
	}
	defer c.stop(9, time.Second)
	tree := processTree(os.Getpid())
	found := false
	for _, pid := range tree {
		found = found || pid == c.pid()
	}
	if !found || tree[0] != os.Getpid() {
		t.Errorf("tree %v: want %d first and %d in it", tree, os.Getpid(), c.pid())
	}
	if _, err := pssBytes([]int{os.Getpid()}); err != nil {
		t.Error(err)
	}
	if _, err := readMachineCPU(); err != nil {
		t.Error(err)
	}
}
