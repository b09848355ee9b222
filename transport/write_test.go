package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// silentPeer accepts connections and never reads from them.
func silentPeer(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetReadBuffer(4096)
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
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// fillUntilError sends 16 KiB messages to dst until Send fails (bounded).
func fillUntilError(t *testing.T, tr *Transport, dst netip.AddrPort) error {
	t.Helper()
	msg := bytes.Repeat([]byte("x"), 16<<10)
	for range 10000 {
		if err := tr.Send(dst, msg, nil); err != nil {
			return err
		}
	}
	t.Fatal("no write limit fired after 10000 messages")
	return nil
}

func TestWriteQueueFullByChunks(t *testing.T) {
	dst := silentPeer(t)
	h := newHarness(t, Options{MaxPostponedChunks: 4, MaxPostponedBytes: 1 << 30, MaxPostponedAge: time.Minute}, nil)
	err := fillUntilError(t, h.tr, dst)
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("error %v", err)
	}
	got := h.untilClosed()
	if len(got) != 3 || got[0] != "CONNECTED/SUCCESS/Successfully connected" ||
		!strings.HasPrefix(got[1], "WRITE_QUEUE_FULL/FAILURE/Write queue full: transport: write queue full (tcp_async_max_postponed_chunks): 4 chunks queued") ||
		got[1][len("WRITE_QUEUE_FULL"):] != got[2][len("CLOSED"):] {
		t.Fatalf("events %q", got)
	}
	// The first error is kept: later sends to the same peer open a new
	// connection rather than reuse the failed one.
	if n := len(h.tr.Connections()); n != 0 {
		t.Fatalf("%d connections left", n)
	}
}

func TestWriteQueueFullByBytes(t *testing.T) {
	dst := silentPeer(t)
	h := newHarness(t, Options{MaxPostponedBytes: 64 << 10, MaxPostponedAge: time.Minute}, nil)
	if err := fillUntilError(t, h.tr, dst); !errors.Is(err, ErrQueueBytes) {
		t.Fatalf("error %v", err)
	}
	got := h.untilClosed()
	if len(got) != 3 || !strings.HasPrefix(got[1], "WRITE_QUEUE_FULL/FAILURE/") {
		t.Fatalf("events %q", got)
	}
}

func TestQueuedWriteAgeBound(t *testing.T) {
	dst := silentPeer(t)
	h := newHarness(t, Options{MaxPostponedAge: 200 * time.Millisecond, MaxPostponedChunks: 1000, MaxPostponedBytes: 1 << 30}, nil)
	msg := bytes.Repeat([]byte("x"), 16<<10)
	// Fill the socket until something queues, then stop sending.
	for range 10000 {
		h.tr.Send(dst, msg, nil)
		if cs := h.tr.Connections(); len(cs) == 1 && cs[0].QueuedWrites > 0 {
			break
		}
	}
	got := h.untilClosed()
	if len(got) != 3 || got[1] != "WRITE_TIMEOUT/FAILURE/Write timeout: a queued write waited more than 200ms" {
		t.Fatalf("events %q", got)
	}
}

func TestSyncWriteTimeout(t *testing.T) {
	dst := silentPeer(t)
	h := newHarness(t, Options{SyncWrites: true, SendTimeout: 100 * time.Millisecond}, nil)
	err := fillUntilError(t, h.tr, dst)
	if !errors.Is(err, ErrWriteTimeout) {
		t.Fatalf("error %v", err)
	}
	got := h.untilClosed()
	if len(got) != 3 || !strings.HasPrefix(got[1], "WRITE_TIMEOUT/FAILURE/Write timeout: ") ||
		!strings.Contains(got[1], "within tcp_send_timeout (100ms)") {
		t.Fatalf("events %q", got)
	}
}

func TestShutdownDrainsAndClosesAll(t *testing.T) {
	started := make(chan struct{}, 4)
	release := make(chan struct{})
	tr := New(Options{}, HandlerFunc(func(m *Message) {
		started <- struct{}{}
		<-release
		echoOptions(m)
	}))
	sub := tr.Subscribe("test", 64, AllEvents)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(optionsReq))
	<-started
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- tr.Shutdown(ctx)
	}()
	// The handler is released only once Shutdown is draining the connection.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if cs := tr.Connections(); len(cs) == 1 && cs[0].State == StateDraining.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connection is not draining 10s after Shutdown: %+v", tr.Connections())
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The handler's answer went out before the close.
	if got := readAllClosed(t, c); !strings.HasPrefix(got, "SIP/2.0 200 OK") {
		t.Fatalf("answer %q", got)
	}
	var kinds []string
	for e := range sub.Events() {
		kinds = append(kinds, e.Kind.String()+"/"+e.Reason)
	}
	if strings.Join(kinds, ",") != "ACCEPTED/Connection accepted,CLOSED/Shutdown" {
		t.Fatalf("events %q", kinds)
	}
	if _, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
	if err := tr.Send(addr, []byte(optionsReq), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after shutdown: %v", err)
	}
}

func TestParallelHandling(t *testing.T) {
	block := make(chan struct{})
	h := newHarness(t, Options{ParallelHandling: true}, HandlerFunc(func(m *Message) {
		if string(m.CallID) == "slow" {
			<-block
		}
		echoOptions(m)
	}))
	c := h.dial()
	c.Write([]byte(options("slow") + options("fast")))
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "Call-ID: fast") {
		t.Fatalf("the second message waited for the first: %q %v", buf[:n], err)
	}
	close(block)
}

func TestSubscriptionDropsAreCounted(t *testing.T) {
	tr := New(Options{}, nil)
	sub := tr.Subscribe("tiny", 1, AllEvents)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	for i := 0; tr.Stats().Closed != 3; i++ { // until all three are accepted and closed
		if i == 1000 {
			t.Fatalf("%d of 3 connections closed after 10s", tr.Stats().Closed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tr.Shutdown(context.Background())
	received := 0
	for range sub.Events() {
		received++
	}
	if received != 1 || sub.Offered() != 6 || sub.Dropped() != 5 {
		t.Fatalf("received %d offered %d dropped %d", received, sub.Offered(), sub.Dropped())
	}
}

// Small writes behind a slow reader are packed into chunks: a peer that
// reads slowly is not dropped for a few small messages, but a peer that
// never reads still hits the bounds.
func TestSmallQueuedWritesArePacked(t *testing.T) {
	dst := silentPeer(t)
	h := newHarness(t, Options{MaxPostponedChunks: 2, MaxPostponedAge: time.Minute}, nil)
	msg := bytes.Repeat([]byte("s"), 500)
	var last ConnSnapshot
	var err error
	for range 100000 {
		if err = h.tr.Send(dst, msg, nil); err != nil {
			break
		}
		if cs := h.tr.Connections(); len(cs) == 1 {
			last = cs[0]
		}
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("error %v", err)
	}
	// Two chunks held far more than two 500-byte writes.
	if last.QueuedWrites != 2 || last.QueuedBytes < chunkPackBytes/2 {
		t.Fatalf("last queue before the limit fired: %d chunks, %d bytes", last.QueuedWrites, last.QueuedBytes)
	}
}
