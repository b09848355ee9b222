package hep

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// A packet that does not reach the collector is a drop under its reason,
// never a packet sent: for every destination, after Close,
// sent + dropped = offered, and the reason is the one that happened.

// accounted waits until every one of n tapped packets is sent or dropped.
func accounted(t *testing.T, tr *Tracer, n uint64) DestinationStats {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d packets sent or dropped", n), func() bool {
		st := tr.Stats()[0]
		return st.PacketsSent+st.Drops.Total() == n
	})
	return tr.Stats()[0]
}

// UDP: a datagram the collector refuses (ICMP port unreachable, reported
// on the socket) is a send_error; it takes the destination down, and the
// packets of the outage are not_connected drops (but for a probe each
// UDPProbeInterval, a send_error when refused): none is counted as sent.
func TestUDPSendErrorIsADrop(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close() // nobody listens there now
	tr := newTestTracer(t, Config{Destinations: []Destination{streamDest("gone", port, UDP)}, UDPWorkers: 1, BatchDelay: -1})
	const n = 20
	for i := range uint64(n) {
		tr.TapMessage(tapped("udp-gone", "g", 10))
		accounted(t, tr, i+1)
	}
	st := tr.Stats()[0]
	if st.Drops.SendError == 0 || st.PacketsSent != 0 || st.Drops.SendError+st.Drops.NotConnected != n || st.State.Up {
		t.Fatalf("stats %+v: want send_error (refused) and not_connected drops = %d, none sent, the destination down", st, n)
	}
}

// hangingCollector accepts TCP connections and never reads from them.
func hangingCollector(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetReadBuffer(4096)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// TCP: a collector that stops reading makes a write time out: the batch in
// that write is a send_error, not sent.
func TestTCPSendErrorIsADrop(t *testing.T) {
	port := hangingCollector(t)
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("hanging", port, TCP)},
		WriteTimeout: 50 * time.Millisecond, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond,
	})
	var offered uint64
	for offered < 2000 && tr.Stats()[0].Drops.SendError == 0 {
		tr.TapMessage(tapped("tcp-hanging", "h", 60000))
		offered++
		if offered%64 == 0 {
			accounted(t, tr, offered)
		}
	}
	st := accounted(t, tr, offered)
	if st.Drops.SendError == 0 || st.PacketsSent+st.Drops.SendError+st.Drops.NotConnected != offered {
		t.Fatalf("stats %+v after %d packets: want send_error drops and sent + dropped = offered", st, offered)
	}
	// The socket buffers hold a few MiB at most: most of what was offered
	// cannot have been sent.
	if st.BytesSent > 16<<20 {
		t.Fatalf("%d bytes counted as sent to a collector that reads nothing", st.BytesSent)
	}
}

// TCP: with the collector down, every packet is a not_connected (or
// queue_full) drop; none is sent.
func TestTCPNotConnectedIsADrop(t *testing.T) {
	port := freePort(t)
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("down", port, TCP)},
		BackoffMin:   time.Millisecond, BackoffMax: time.Millisecond,
	})
	const n = 200
	for range n {
		tr.TapMessage(tapped("tcp-down", "d", 100))
	}
	st := accounted(t, tr, n)
	if st.PacketsSent != 0 || st.Drops.NotConnected == 0 || st.Drops.NotConnected+st.Drops.QueueFull != n {
		t.Fatalf("stats %+v: want not_connected drops only, nothing sent", st)
	}
}

// TCP: a packet taken for a batch while the collector closes the connection
// is kept for the next connection; when that connect fails, the packet is a
// not_connected drop, not sent.
func TestTCPHeldBatchNotConnectedIsADrop(t *testing.T) {
	col := newStreamCollector(t, "127.0.0.1:0", nil)
	// The worker lingers a second for more packets before writing: the
	// collector's close is seen by then.
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("closing", col.port(), TCP)},
		BatchDelay:   time.Second, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond,
	})
	waitFor(t, "the sender to connect", func() bool { return tr.Stats()[0].Connected })
	tr.TapMessage(tapped("tcp-closing", "c", 100))
	col.close()
	st := accounted(t, tr, 1)
	if st.PacketsSent != 0 || st.Drops.NotConnected != 1 || len(col.ch) != 0 {
		t.Fatalf("stats %+v, collector got %d: want the held packet dropped as not_connected", st, len(col.ch))
	}
}

// TCP: a packet taken for a batch while the collector closes the connection
// (and stays up) is kept, and sent on the next connection: not dropped,
// not lost.
func TestTCPHeldBatchSentOnReconnect(t *testing.T) {
	col := newStreamCollector(t, "127.0.0.1:0", nil)
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("restarting", col.port(), TCP)},
		BatchDelay:   time.Second, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond,
	})
	waitFor(t, "the sender to connect", func() bool { return tr.Stats()[0].Connected })
	tr.TapMessage(tapped("tcp-held", "h", 100))
	col.mu.Lock()
	for _, c := range col.conns {
		c.Close()
	}
	col.mu.Unlock()
	p := recvPacket(t, col.ch)
	if !strings.Contains(string(p.Payload), "Call-ID: tcp-held") {
		t.Fatalf("collector got %q", p.Payload)
	}
	st := accounted(t, tr, 1)
	if st.PacketsSent != 1 || st.Drops.Total() != 0 || st.Reconnects != 1 {
		t.Fatalf("stats %+v: want the held packet sent on the second connection", st)
	}
}

// The byte bound of a destination's queue is never exceeded, not even by
// one packet: with the collector down and the sender waiting out its
// backoff, packets queue up to the bound and the rest are queue_full drops.
func TestQueueByteBoundHolds(t *testing.T) {
	const queueBytes = 10000
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("down", freePort(t), TCP)},
		QueueBytes:   queueBytes, BackoffMin: time.Minute, BackoffMax: time.Minute,
	})
	// After the first failed connect the sender sleeps a minute: nothing
	// drains the queue meanwhile.
	waitFor(t, "a failed connect", func() bool { return tr.Stats()[0].ConnectFailures == 1 })
	const n = 50
	for range n {
		tr.TapMessage(tapped("bytes-bound", "b", 1000))
	}
	st := tr.Stats()[0]
	perPacket := st.QueueBytes / int64(max(st.QueueLen, 1))
	if st.QueueBytesCap != queueBytes || st.QueueBytes > queueBytes || st.QueueBytes+perPacket <= queueBytes ||
		uint64(st.QueueLen)+st.Drops.QueueFull != n {
		t.Fatalf("stats %+v: want the queue filled to at most %d bytes and the rest dropped as queue_full", st, queueBytes)
	}
}
