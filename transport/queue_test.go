package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slowPeer accepts one connection on 127.0.0.1 and reads it 4 KiB at a
// time with a pause between reads, until EOF; got receives what it read.
func slowPeer(t *testing.T) (netip.AddrPort, <-chan []byte) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var all bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			all.Write(buf[:n])
			if err != nil {
				got <- all.Bytes()
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort(), got
}

// Writes that queue behind a peer that reads slowly, packed into chunks
// while the flusher writes, reach the peer whole and in order, eight times
// the queue's byte bound in all; and once the queue is written out, it
// holds no bytes.
func TestQueuedWritesArriveWholeAndInOrder(t *testing.T) {
	dst, got := slowPeer(t)
	h := newHarness(t, Options{MaxPostponedAge: time.Minute}, nil)
	var want bytes.Buffer
	queuedOnce := false
	for i := 0; want.Len() < 8<<20; i++ {
		msg := fmt.Sprintf("msg-%08d %s\n", i, strings.Repeat("p", i%300))
		want.WriteString(msg)
		if err := h.tr.Send(dst, []byte(msg), nil); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		// Keep the queue well under its bounds, and often at one chunk that
		// the flusher is writing: wait (bounded) while it holds more.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			cs := h.tr.Connections()
			if len(cs) != 1 {
				t.Fatalf("message %d: connections %+v", i, cs)
			}
			queuedOnce = queuedOnce || cs[0].QueuedWrites > 0
			if cs[0].QueuedWrites <= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("message %d: the queue did not drain: %+v", i, cs[0])
			}
		}
	}
	if !queuedOnce {
		t.Fatal("nothing was ever queued: the peer read too fast for this test")
	}
	// Wait (bounded) for the queue to be written out: then it holds no
	// bytes, and every byte went out.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		cs := h.tr.Connections()
		if len(cs) != 1 || time.Now().After(deadline) {
			t.Fatalf("after the last write: %+v, want one connection with an empty queue", cs)
		}
		if cs[0].QueuedWrites > 0 {
			continue
		}
		if cs[0].QueuedBytes != 0 || cs[0].BytesOut != uint64(want.Len()) {
			t.Fatalf("queue written out: %d bytes still counted as queued, %d bytes out of %d written", cs[0].QueuedBytes, cs[0].BytesOut, want.Len())
		}
		break
	}
	h.tr.Close()
	select {
	case b := <-got:
		if !bytes.Equal(b, want.Bytes()) {
			i := 0
			for i < min(len(b), want.Len()) && b[i] == want.Bytes()[i] {
				i++
			}
			t.Fatalf("the peer got %d bytes, want %d; first difference at byte %d: %q", len(b), want.Len(), i, b[i:min(len(b), i+40)])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the peer did not see the connection end")
	}
}

// Every write that was queued and never went out is told so, packed into
// another write's chunk or not.
func TestEveryQueuedWriteIsNotified(t *testing.T) {
	dst := silentPeer(t)
	h := newHarness(t, Options{MaxPostponedAge: 200 * time.Millisecond, MaxPostponedChunks: 1000, MaxPostponedBytes: 1 << 30}, nil)
	// Fill the socket until something queues.
	big := bytes.Repeat([]byte("x"), 16<<10)
	for i := 0; ; i++ {
		if i == 10000 {
			t.Fatal("nothing queued after 10000 writes to a peer that never reads")
		}
		if err := h.tr.Send(dst, big, nil); err != nil {
			t.Fatal(err)
		}
		if cs := h.tr.Connections(); len(cs) == 1 && cs[0].QueuedWrites > 0 {
			break
		}
	}
	// These queue behind it, packed.
	const n = 20
	var notified, withError atomic.Int32
	for range n {
		err := h.tr.Send(dst, []byte("small\r\n"), func(err error) {
			notified.Add(1)
			if err != nil && !errors.Is(err, io.EOF) {
				withError.Add(1)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got := h.untilClosed()
	if len(got) != 3 || !strings.HasPrefix(got[1], "WRITE_TIMEOUT/") {
		t.Fatalf("events %q", got)
	}
	for deadline := time.Now().Add(10 * time.Second); notified.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	if notified.Load() != n || withError.Load() != n {
		t.Fatalf("%d of %d queued writes notified (%d with an error)", notified.Load(), n, withError.Load())
	}
}
