package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"
)

// tinyBufferPeer listens with a 4 KiB receive buffer (inherited by the
// accepted sockets, so the window is small from the handshake on) and hands
// the accepted connections to the test, which decides when they read.
func tinyBufferPeer(t *testing.T) (netip.AddrPort, <-chan net.Conn) {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	})
	return l.Addr().(*net.TCPAddr).AddrPort(), accepted
}

// waitTCP reads the connection's figures until ok says yes (bounded: 10 s)
// and returns the last reading.
func waitTCP(t *testing.T, c *Conn, what string, ok func(*TCPInfo) bool) *TCPInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ti, err := c.TCPInfo()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok(ti) {
			return ti
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s; last %+v", what, *ti)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A peer that stops reading: the send queue grows, the peer's window
// closes and zero-window probes back off; when it reads again the queue
// drains.
func TestTCPInfoPeerStopsReading(t *testing.T) {
	dst, accepted := tinyBufferPeer(t)
	h := newHarness(t, Options{MaxPostponedAge: time.Minute}, nil)
	msg := bytes.Repeat([]byte("x"), 8<<10)
	if err := h.tr.Send(dst, msg, nil); err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	c := h.tr.ConnByRemote(dst)
	if c == nil {
		t.Fatal("no connection to the peer")
	}
	first := waitTCP(t, c, "a send queue", func(ti *TCPInfo) bool { return ti.SendQueue > 0 })
	if first.State != TCPEstablished || first.RTT == 0 || first.Cwnd == 0 {
		t.Fatalf("first reading %+v", *first)
	}
	for range 8 {
		if err := h.tr.Send(dst, msg, nil); err != nil {
			t.Fatal(err)
		}
	}
	grown := waitTCP(t, c, "a longer send queue with bytes not sent", func(ti *TCPInfo) bool {
		return ti.SendQueue > first.SendQueue && ti.NotSent > 0
	})
	probing := waitTCP(t, c, "a closed window with probes backing off", func(ti *TCPInfo) bool {
		return ti.SendWindow == 0 && ti.Backoff > 0
	})
	if probing.Concern() != "window closed" {
		t.Fatalf("concern %q of %+v", probing.Concern(), *probing)
	}
	t.Logf("send queue %d -> %d bytes (%d not sent); window %d, backoff %d, probes %d",
		first.SendQueue, grown.SendQueue, grown.NotSent, probing.SendWindow, probing.Backoff, probing.Probes)

	// The peer reads everything: the queue drains.
	go io.Copy(io.Discard, peer)
	waitTCP(t, c, "the send queue drained", func(ti *TCPInfo) bool {
		return ti.SendQueue == 0 && ti.SendWindow > 0 && ti.Concern() == ""
	})
	if s := h.tr.Stats(); s.TCPInfoReads == 0 || s.TCPInfoErrors != 0 {
		t.Fatalf("reads %d errors %d", s.TCPInfoReads, s.TCPInfoErrors)
	}
}

// sipwire's own reader stalled in its handler: the bytes the peer sends
// wait in the receive queue.
func TestTCPInfoReceiveQueue(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := newHarness(t, Options{}, HandlerFunc(func(*Message) { <-release }))
	nc := h.dial()
	if _, err := io.WriteString(nc, options("rq-1")); err != nil {
		t.Fatal(err)
	}
	accepted := h.next()
	c := h.tr.Conn(accepted.ConnID)
	if c == nil {
		t.Fatal("no connection")
	}
	// Wait until the reader holds the first message, then send more.
	waitTCP(t, c, "the first message read", func(ti *TCPInfo) bool { return ti.RecvQueue == 0 })
	more := bytes.Repeat([]byte(options("rq-2")), 20)
	if _, err := nc.Write(more); err != nil {
		t.Fatal(err)
	}
	ti := waitTCP(t, c, "bytes in the receive queue", func(ti *TCPInfo) bool { return ti.RecvQueue > 0 })
	if ti.RecvQueue > uint32(len(more)) {
		t.Fatalf("receive queue %d of %d bytes sent", ti.RecvQueue, len(more))
	}
}

// The events that end a connection carry the kernel's last figures: the
// error event and CLOSED the same reading, taken before the socket closed.
func TestTCPInfoInEndingEvents(t *testing.T) {
	t.Run("write queue full", func(t *testing.T) {
		dst, _ := tinyBufferPeer(t)
		h := newHarness(t, Options{MaxPostponedChunks: 4, MaxPostponedBytes: 1 << 30, MaxPostponedAge: time.Minute}, nil)
		if err := fillUntilError(t, h.tr, dst); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("error %v", err)
		}
		evs := h.eventsUntilClosed()
		if len(evs) != 3 || evs[1].Kind != EventWriteQueueFull || evs[2].Kind != EventClosed {
			t.Fatalf("events %v", evs)
		}
		if evs[0].TCP != nil {
			t.Fatalf("CONNECTED carries %+v", *evs[0].TCP)
		}
		full, closed := evs[1].TCP, evs[2].TCP
		if full == nil || full != closed {
			t.Fatalf("WRITE_QUEUE_FULL %v, CLOSED %v: not the same reading", full, closed)
		}
		if full.SendQueue == 0 || full.State != TCPEstablished {
			t.Fatalf("figures at overflow %+v", *full)
		}
	})
	t.Run("write timeout", func(t *testing.T) {
		dst, _ := tinyBufferPeer(t)
		h := newHarness(t, Options{MaxPostponedAge: 200 * time.Millisecond, MaxPostponedChunks: 1000, MaxPostponedBytes: 1 << 30}, nil)
		msg := bytes.Repeat([]byte("x"), 16<<10)
		for range 10000 {
			h.tr.Send(dst, msg, nil)
			if cs := h.tr.Connections(); len(cs) == 1 && cs[0].QueuedWrites > 0 {
				break
			}
		}
		evs := h.eventsUntilClosed()
		if len(evs) != 3 || evs[1].Kind != EventWriteTimeout {
			t.Fatalf("events %v", evs)
		}
		if ti := evs[1].TCP; ti == nil || ti != evs[2].TCP || ti.SendQueue == 0 || ti.SendWindow != 0 || ti.Concern() != "window closed" {
			t.Fatalf("WRITE_TIMEOUT carries %+v, CLOSED %+v", ti, evs[2].TCP)
		}
	})
	t.Run("peer closed", func(t *testing.T) {
		h := newHarness(t, Options{}, nil)
		nc := h.dial()
		io.WriteString(nc, options("pc-1"))
		nc.Read(make([]byte, 1024))
		nc.Close()
		evs := h.eventsUntilClosed()
		ti := evs[len(evs)-1].TCP
		if ti == nil || ti.State != TCPCloseWait || ti.RTT == 0 || ti.LastRecv > 10_000 {
			t.Fatalf("CLOSED carries %+v", ti)
		}
	})
	t.Run("closed by request", func(t *testing.T) {
		h := newHarness(t, Options{}, nil)
		h.dial()
		c := h.tr.Conn(h.next().ConnID)
		if c == nil {
			t.Fatal("no connection")
		}
		c.Close("")
		if ti := h.next().TCP; ti == nil || ti.State != TCPEstablished {
			t.Fatalf("CLOSED carries %+v", ti)
		}
		// A closed connection has no socket to ask.
		if _, err := c.TCPInfo(); !errors.Is(err, ErrNoTCPInfo) {
			t.Fatalf("error %v", err)
		}
	})
}

func (h *harness) eventsUntilClosed() []Event {
	h.t.Helper()
	var out []Event
	for range 50 {
		e := h.next()
		out = append(out, e)
		if e.Kind == EventClosed {
			return out
		}
	}
	h.t.Fatalf("no CLOSED among %v", out)
	return nil
}

// The sampler reads at most TCPInfoPerTick connections a tick, each in
// turn, and counts the ones it leaves for later ticks.
func TestTCPInfoSampler(t *testing.T) {
	h := newHarness(t, Options{TCPInfoInterval: 5 * time.Millisecond, TCPInfoPerTick: 2}, nil)
	for range 5 {
		h.dial()
		h.next()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs := h.tr.Connections()
		read := 0
		for _, c := range cs {
			if c.TCP != nil {
				read++
			}
		}
		if len(cs) == 5 && read == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections sampled within 10s", read, len(cs))
		}
		time.Sleep(5 * time.Millisecond)
	}
	s := h.tr.Stats()
	if s.TCPInfoDeferred == 0 || s.TCPInfoReads < 5 {
		t.Fatalf("reads %d, deferred %d", s.TCPInfoReads, s.TCPInfoDeferred)
	}
	// Every reading of a tick is of a different connection, in id order
	// from where the last one stopped.
	var ids []uint64
	for _, c := range h.tr.Connections() {
		ids = append(ids, c.ID)
	}
	cursor := h.tr.sampleTick(ids[3], 2)
	if cursor != ids[0] {
		t.Fatalf("a tick after %d stopped at %d, want %d (wrapped)", ids[3], cursor, ids[0])
	}
}

func TestTCPInfoSamplerStops(t *testing.T) {
	tr := New(Options{TCPInfoInterval: time.Millisecond}, nil)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.sampler.done:
	default:
		t.Fatal("sampler still running after Close")
	}
}

// The keys of Fields are the JSON keys of a TCPInfo, so every consumer
// names a figure the same way.
func TestTCPInfoKeys(t *testing.T) {
	ti := &TCPInfo{State: TCPEstablished}
	b, err := json.Marshal(ti)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, f := range ti.Fields() {
		if _, ok := m[f.Key]; !ok {
			t.Errorf("key %q not in the JSON %s", f.Key, b)
		}
	}
	if len(m) != NumTCPInfoFields+2 { // and "at", "state"
		t.Errorf("JSON has %d keys, Fields %d: %s", len(m), NumTCPInfoFields, b)
	}
	var back TCPInfo
	if err := json.Unmarshal(b, &back); err != nil || back.State != TCPEstablished {
		t.Fatalf("round trip %+v, %v", back, err)
	}
	if !slices.Equal(TCPInfoKeys[:], keysOf(ti.Fields())) {
		t.Fatal("TCPInfoKeys out of order")
	}
}

func keysOf(fs [NumTCPInfoFields]TCPInfoField) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	return out
}

func TestTCPInfoConcern(t *testing.T) {
	for _, tc := range []struct {
		ti   *TCPInfo
		want string
	}{
		{nil, ""},
		{&TCPInfo{State: TCPEstablished, SendWindow: 65535, RTT: 50}, ""},
		{&TCPInfo{State: TCPEstablished, SendQueue: 10}, "window closed"},
		{&TCPInfo{State: TCPEstablished, SendWindow: 1, Probes: 1}, "window closed"},
		{&TCPInfo{State: TCPEstablished, SendWindow: 1, Retransmits: 2}, "retransmitting"},
		{&TCPInfo{State: TCPEstablished, SendWindow: 1, SendQueue: SlowSendQueueBytes}, "send queue"},
		{&TCPInfo{State: TCPEstablished, SendWindow: 1, RTT: SlowRTT}, "slow rtt"},
		{&TCPInfo{State: TCPEstablished, SendWindow: 1, Lost: 1}, "lost"},
	} {
		if got := tc.ti.Concern(); got != tc.want {
			t.Errorf("Concern(%+v) = %q, want %q", tc.ti, got, tc.want)
		}
	}
}

// BenchmarkTCPInfoRead is the cost of one reading (getsockopt and two
// ioctls on a loopback connection): what the close-time read adds to a
// close, and a sampler tick to each connection it reads.
func BenchmarkTCPInfoRead(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	rc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readTCPInfo(rc); err != nil {
			b.Fatal(err)
		}
	}
}

// Every connection closed with figures is one observation of its
// listener's histograms.
func TestTCPHistograms(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	const n = 3
	for range n {
		nc := h.dial()
		h.next()
		nc.Close()
		h.eventsUntilClosed()
	}
	hs := h.tr.Stats().TCPHistograms
	if len(hs) != 1 {
		t.Fatalf("histograms %+v", hs)
	}
	g := hs[0]
	last := len(g.RTT.Buckets) - 1
	if g.Listener != h.addr || g.Direction != "in" || g.Count != n ||
		g.RTT.Buckets[last] != n || g.RTT.Sum == 0 || g.Retrans.Buckets[0] != n || len(g.RTT.Bounds) != len(g.RTT.Buckets) {
		t.Fatalf("histogram %+v", g)
	}
	for i := 1; i < len(g.RTT.Buckets); i++ {
		if g.RTT.Buckets[i] < g.RTT.Buckets[i-1] {
			t.Fatalf("buckets not cumulative: %v", g.RTT.Buckets)
		}
	}
}
