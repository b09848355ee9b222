package history

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// killChildEnv, when set to a path, makes TestSIGKILL the child: a process
// that records events into that store until it is killed.
const killChildEnv = "SIPWIRE_HISTORY_KILL_CHILD"

// killFlushInterval is the child's flush interval.
const killFlushInterval = 20 * time.Millisecond

// TestSIGKILL kills a process that records events without pause, mid-write,
// and checks that every event the process had reported committed is in the
// reopened store, which is intact. The child writes only on its flush
// interval (its batch size is never reached), so what it reports committed
// is what the interval flushed: a crash loses at most the events of the last
// interval.
func TestSIGKILL(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(path)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cfg := testConfig(t)
	child := exec.Command(os.Args[0], "-test.run=^TestSIGKILL$", "-test.count=1")
	child.Env = append(os.Environ(), killChildEnv+"="+cfg.Path)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill() //nolint:errcheck // already dead on the normal path
	// The child says "committed N" after each flush and "generated N" after
	// each burst of events it hands to the store.
	var committed, flushes, generated, perFlush int64
	sc := bufio.NewScanner(out)
	line := func() {
		word, n, _ := strings.Cut(sc.Text(), " ")
		v, err := strconv.ParseInt(n, 10, 64)
		switch {
		case err != nil:
			t.Fatalf("child said %q", sc.Text())
		case word == "generated":
			generated = v
		case word == "committed":
			perFlush = max(perFlush, v-committed)
			committed = v
			flushes++
		}
	}
	for flushes < 10 && sc.Scan() {
		line()
	}
	if flushes < 10 {
		t.Fatalf("child ended early after %d flushes (%v)", flushes, sc.Err())
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() { // what the child said before it died
		line()
	}
	err = child.Wait()
	if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not by SIGKILL", err)
	}

	s := openTest(t, cfg)
	var check string
	if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	stored := s.Stats().Stored
	var rows int64
	if err := s.rdb.QueryRow("SELECT count(*) FROM events").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if stored < committed || rows != stored {
		t.Fatalf("after SIGKILL: %d rows, counter %d; the child had committed %d", rows, stored, committed)
	}
	// At most one flush interval is lost: of the events generated before
	// the kill, those missing are no more than the most one flush committed
	// (twice that, for a flush cut short by the kill, plus a burst).
	if lost := generated - stored; lost > 2*perFlush+10 {
		t.Fatalf("after SIGKILL: %d of %d generated events lost, more than one flush interval (a flush committed at most %d)", lost, generated, perFlush)
	}
	// The last event written is whole.
	p, err := s.Query(context.Background(), Filter{Run: 1, Limit: 1})
	if err != nil || len(p.Events) != 1 || p.Events[0].Kind != "ACCEPTED" || p.Events[0].Reason != "Connection accepted" {
		t.Fatalf("newest event after SIGKILL: %+v, %v", p.Events, err)
	}
	t.Logf("child generated %d and committed %d events in %d flushes (at most %d a flush) before SIGKILL; the store holds %d", generated, committed, flushes, perFlush, stored)
}

// killChild records a steady stream of events and prints the
// committed count after every flush, until it is killed (or a minute passes).
func killChild(path string) {
	cfg := Config{Path: path, FlushInterval: killFlushInterval, BatchSize: 1 << 20, QueueSize: 1 << 20, Retention: -1, MaxSize: -1}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	ch := make(chan transport.Event, 4096)
	s.Consume(ch)
	go func() {
		// Up to 10,000 events a second, in bursts of 10: small batches even
		// under the race detector.
		for seq := uint64(1); ; seq++ {
			ch <- transport.Event{Kind: transport.EventAccepted, ConnID: seq, Time: time.Now(), Reason: "Connection accepted"}
			if seq%10 == 0 {
				fmt.Printf("generated %d\n", seq)
				time.Sleep(time.Millisecond)
			}
		}
	}()
	deadline := time.Now().Add(time.Minute)
	var last uint64
	for time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		if st := s.Stats(); st.Written != last {
			last = st.Written
			fmt.Printf("committed %d\n", last)
		}
	}
	os.Exit(3)
}
