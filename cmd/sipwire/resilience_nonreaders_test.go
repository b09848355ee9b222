//go:build resilience

package main

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// 1,000 clients send OPTIONS but never read the 200s, with small receive
// buffers: each one fills its socket, then sipwire's write queue, until the
// postponed-write limit drops it with its event (WRITE_QUEUE_FULL for the
// chunk bound, WRITE_TIMEOUT for the age bound). Meanwhile a well-behaved
// client's round trips are all answered, and the heap stays within the
// queues' bounds.
func TestResilienceClientsThatNeverRead(t *testing.T) {
	cases := []struct {
		name string
		// chunks is tcp_async_max_postponed_chunks (0: the default, 32).
		chunks int
		// A client writes burst requests, waits until sipwire has read them
		// and then for pause, and so on up to max requests; then it waits
		// for sipwire to drop it.
		burst, max int
		pause      time.Duration
		// want must fire for some clients; the others may be dropped by
		// another postponed-write bound.
		want    transport.EventKind
		allowed []transport.EventKind
	}{
		// Two chunks of at most 16 KiB fill with a few answers beyond the
		// socket buffers (about 100 KB with the clients' MSS); a client
		// whose requests sipwire handles too slowly (1,000 clients on two
		// cores) may pass the age bound first.
		{"chunk bound", 2, 8, 96, 0, transport.EventWriteQueueFull,
			[]transport.EventKind{transport.EventWriteQueueFull, transport.EventWriteTimeout}},
		// 32 chunks (512 KiB) never fill with the 200 KB a client is owed:
		// the oldest queued write passes the age bound (5 s) first.
		{"age bound", 0, 4, 64, 200 * time.Millisecond, transport.EventWriteTimeout,
			[]transport.EventKind{transport.EventWriteTimeout}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nonReaders(t, tc.chunks, tc.burst, tc.max, tc.pause, tc.want, tc.allowed)
		})
	}
}

func nonReaders(t *testing.T, chunks, burst, maxRequests int, pause time.Duration, want transport.EventKind, allowed []transport.EventKind) {
	const (
		clients = 1000
		pad     = 3000 // bytes of Via copied into each 200 (about 3.3 KB)
		// mss is the clients' TCP_MAXSEG. On loopback the MSS is 64 KiB,
		// for which Linux sizes a socket's send buffer at over 1 MiB; an
		// Internet client's MSS is near 1460.
		mss = 536
	)
	needFiles(t, 2*clients+1000)
	hc := newHEPCounter(t)
	cfg := testConfigTB(hc.conn.LocalAddr().String(), "")
	cfg.TCPMaxConnections = 2 * clients
	cfg.TCPAsyncMaxPostponedChunks = chunks
	// The read limits are off here (they have their own test): with the
	// clients' 536-byte MSS, a request retransmitted on a busy machine could
	// hit them before the write limits under test.
	cfg.TCPMaxMsgChunks = 0
	cfg.TCPMaxMsgTime = time.Hour
	a := startApp(t, cfg)
	log := newEventLog(a.tr, 1<<16)
	addr := a.listeners[0].String()

	// What the queues may hold: per client the smaller of the chunk bound
	// (chunks of up to 16 KiB) and the byte bound (1 MiB), plus the burst
	// being handled. The heap may also hold the pcap ring and garbage up to
	// the live heap's size (GOGC=100).
	perConn := min(max(chunks, 0), 32)
	if chunks == 0 {
		perConn = transport.DefaultMaxPostponedChunks
	}
	queueBound := uint64(clients) * uint64(min(perConn*16<<10, transport.DefaultMaxPostponedBytes))
	// A client is owed at most maxRequests answers.
	queueBound = min(queueBound, uint64(clients)*uint64(maxRequests)*(pad+400))
	heapBound := 2 * (queueBound + pcapRingHeap + 32<<20)
	heap := watchHeap()

	good := pingers(addr, "good", 1, 50, 0)

	dialer := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, mss)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := dialer.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		defer c.Close()
		conns[i] = c
	}
	// The connection ids, known while every client's address is its own (a
	// client that got a reset frees its port for another connection).
	ids := acceptedIDs(t, log, conns)

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		notSeen  []int // clients whose connection never closed
		requests int
	)
	for i, c := range conns {
		wg.Go(func() {
			callID := "deaf-" + strconv.Itoa(i)
			cseq := 0
			write := func(n int) bool {
				var b []byte
				for range n {
					cseq++
					b = append(b, optionsRequest(callID, cseq, pad)...)
				}
				c.SetWriteDeadline(time.Now().Add(ioTimeout))
				_, err := c.Write(b)
				return err == nil
			}
			defer func() {
				mu.Lock()
				requests += cseq
				mu.Unlock()
			}()
			id := ids[i]
			closed := func() bool { return closedIn(log.events(id)) }
			// read waits until sipwire has read every request sent, so that
			// none waits in the kernel (whose receive queue, counted in
			// small segments, would drop and retransmit them).
			read := func() bool {
				for range int(ioTimeout / (5 * time.Millisecond)) {
					conn := a.tr.Conn(id)
					if conn == nil {
						return false
					}
					if conn.Snapshot().MsgsIn >= uint64(cseq) {
						return true
					}
					time.Sleep(5 * time.Millisecond)
				}
				return false
			}
			for cseq < maxRequests {
				if !write(min(burst, maxRequests-cseq)) || !read() {
					return // a write fails with a reset once sipwire closed it
				}
				time.Sleep(pause)
			}
			// Owed all it asked for, the client waits to be dropped.
			for range int(ioTimeout / (50 * time.Millisecond)) {
				if closed() {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			mu.Lock()
			notSeen = append(notSeen, i)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(notSeen) > 0 {
		t.Errorf("%d clients still open %s after their last request, e.g. client %d", len(notSeen), ioTimeout, notSeen[0])
	}
	ps := good()
	ps[0].check(t)

	// Every non-reader's connection: ACCEPTED, the limit's event, CLOSED.
	byKind := map[string]int{}
	for i, c := range conns {
		id := ids[i]
		waitUntil(t, "the CLOSED of connection "+strconv.FormatUint(id, 10), ioTimeout, func() bool { return closedIn(log.events(id)) })
		evs := log.events(id)
		k := kinds(evs)
		byKind[k[len(k)/2]]++
		if len(evs) != 3 || evs[0].Kind != transport.EventAccepted || !slices.Contains(allowed, evs[1].Kind) || evs[2].Kind != transport.EventClosed || evs[2].Status != transport.StatusFailure {
			t.Errorf("client %d, connection %d: events %q (%q), want ACCEPTED, one of %v, CLOSED (FAILURE)", i, id, k, evs[len(evs)-1].Reason, allowed)
		}
		c.Close()
	}
	// The transport's counters agree with the events.
	st := a.tr.Stats()
	if uint64(byKind["WRITE_QUEUE_FULL"]) != st.QueueFull || uint64(byKind["WRITE_TIMEOUT"]) != st.WriteTimeouts {
		t.Errorf("transport counts %d queue_full and %d write_timeouts for %v events: a limit counted without its event (transport/writer.go counts before closeWith, which may find the connection already closed)",
			st.QueueFull, st.WriteTimeouts, byKind)
	}
	if d := log.sub.Dropped(); d != 0 {
		t.Fatalf("the test's event log dropped %d events", d)
	}
	if byKind[want.String()] == 0 {
		t.Errorf("no client was dropped with %s: %v", want, byKind)
	}
	t.Logf("%d requests from %d clients that never read; their events %v; transport: queue_full %d, write_timeouts %d; the good client did %d round trips on %d connections",
		requests, clients, byKind, st.QueueFull, st.WriteTimeouts, ps[0].answered.Load(), ps[0].conns.Load())
	stopApp(t, a)
	heap.check(t, "clients that never read", heapBound, pcapRingHeap+16<<20)
}

// closedIn reports whether evs ends with CLOSED.
func closedIn(evs []transport.Event) bool {
	return len(evs) > 0 && evs[len(evs)-1].Kind == transport.EventClosed
}
