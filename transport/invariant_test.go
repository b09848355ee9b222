package transport

import (
	"context"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOneClosedPerConnection drives many connections through random
// endings at once (EOF, bad message, chunk limit, operator close, shutdown)
// and checks the invariants: every connection's events end with exactly one
// CLOSED, nothing follows it, and no goroutine is left behind.
func TestOneClosedPerConnection(t *testing.T) {
	before := runtime.NumGoroutine()
	tr := New(Options{MaxMsgChunks: 3}, HandlerFunc(echoOptions))
	sub := tr.Subscribe("check", 1<<16, AllEvents)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const conns = 200
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			c.Write([]byte(options("inv" + itoa(i))))
			switch r.IntN(5) {
			case 0: // EOF
			case 1:
				c.Write([]byte("garbage\r\n\r\n"))
			case 2:
				for _, p := range []string{"OPT", "IONS ", "sip:x "} {
					c.Write([]byte(p))
					time.Sleep(5 * time.Millisecond)
				}
			case 3:
				time.Sleep(20 * time.Millisecond)
				for _, cs := range tr.Connections() {
					if cs.Remote == c.LocalAddr().String() {
						tr.CloseConn(cs.ID, "operator")
					}
				}
			case 4:
				time.Sleep(50 * time.Millisecond) // left for Shutdown
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
				if r.IntN(2) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	seq := map[uint64][]string{}
	for e := range sub.Events() {
		seq[e.ConnID] = append(seq[e.ConnID], e.Kind.String())
	}
	if len(seq) != conns {
		t.Fatalf("%d connections seen, want %d", len(seq), conns)
	}
	for id, kinds := range seq {
		closed := strings.Count(strings.Join(kinds, ","), "CLOSED")
		if kinds[0] != "ACCEPTED" || closed != 1 || kinds[len(kinds)-1] != "CLOSED" {
			t.Fatalf("connection %d: %q", id, kinds)
		}
	}
	if sub.Dropped() != 0 {
		t.Fatalf("%d events dropped", sub.Dropped())
	}
	// Every goroutine of the transport is gone.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left over (%d before):\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
