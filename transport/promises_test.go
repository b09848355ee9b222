package transport

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Tests of promises the README makes about proto_tcp's parameters, each
// written so that the bug it guards against fails it.

// readingPeer accepts connections on 127.0.0.1 and reads (and discards)
// everything, never writing a byte.
func readingPeer(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// tcp_connection_lifetime counts traffic either way: a connection sipwire
// keeps writing to, whose peer never sends a byte, is not closed as idle.
// Once the writes stop, it is.
func TestWritesKeepConnectionAlive(t *testing.T) {
	const lifetime = 800 * time.Millisecond
	peer := readingPeer(t)
	h := newHarness(t, Options{ConnectionLifetime: lifetime}, nil)
	// Write every lifetime/16 for three lifetimes.
	start := time.Now()
	sent := uint64(0)
	for time.Since(start) < 3*lifetime {
		if err := h.tr.Send(peer, []byte(optionsReq), nil); err != nil {
			t.Fatal(err)
		}
		sent++
		time.Sleep(lifetime / 16)
	}
	cs := h.tr.Connections()
	if len(cs) != 1 || cs[0].MsgsOut != sent || cs[0].MsgsIn != 0 || h.tr.Stats().Connects != 1 {
		t.Fatalf("after %s of writes: connections %+v, %d connects; want the one outbound connection that carried all %d writes", time.Since(start), cs, h.tr.Stats().Connects, sent)
	}
	// Only writes happened: nothing else may have reset the idle clock.
	expectSeq(t, h, "CONNECTED/SUCCESS/Successfully connected",
		"IDLE_TIMEOUT/SUCCESS/Timeout on no traffic",
		"CLOSED/SUCCESS/Timeout on no traffic")
}

// tcp_max_msg_time is counted from a message's first byte: a peer that
// trickles a message a byte at a time, each read restarting nothing, is cut
// off once the bound passes, while it is still trickling.
func TestMessageTimeCountsFromFirstByte(t *testing.T) {
	const maxMsgTime = 300 * time.Millisecond
	h := newHarness(t, Options{MaxMsgTime: maxMsgTime, MaxMsgChunks: -1}, nil)
	c := h.dial()
	if e := h.next(); e.Kind != EventAccepted {
		t.Fatalf("event %v", e)
	}
	// Trickle for ten times the bound: one byte per maxMsgTime/6.
	closed := make(chan error, 1)
	go func() {
		msg := []byte(optionsReq[:len(optionsReq)-2]) // never complete
		deadline := time.Now().Add(10 * maxMsgTime)
		for i := 0; time.Now().Before(deadline); i++ {
			if _, err := c.Write(msg[i%len(msg) : i%len(msg)+1]); err != nil {
				closed <- err
				return
			}
			time.Sleep(maxMsgTime / 6)
		}
		closed <- nil
	}()
	got := h.untilClosed()
	want := []string{"MESSAGE_TIMEOUT/FAILURE/Read timeout with incomplete SIP message",
		"CLOSED/FAILURE/Read timeout with incomplete SIP message"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
	if err := <-closed; err == nil {
		t.Fatalf("the trickling peer wrote for %s (10 x tcp_max_msg_time) without being cut off: the clock restarts on partial reads", 10*maxMsgTime)
	}
}

// The write queue's byte bound is 1 MiB by default (Options.MaxPostponedBytes
// zero): a peer that never reads fills it, and the write that would take it
// past 1 MiB closes the connection with ErrQueueBytes.
func TestWriteQueueDefaultByteBound(t *testing.T) {
	const defaultBound = 1 << 20 // the README's figure, not the constant
	dst := silentPeer(t)
	h := newHarness(t, Options{MaxPostponedChunks: 1 << 20, MaxPostponedAge: time.Minute}, nil)
	msg := bytes.Repeat([]byte("x"), 16<<10)
	var err error
	maxQueued := 0
	for range 10000 {
		if err = h.tr.Send(dst, msg, nil); err != nil {
			break
		}
		if cs := h.tr.Connections(); len(cs) == 1 {
			maxQueued = max(maxQueued, cs[0].QueuedBytes)
		}
	}
	if !errors.Is(err, ErrQueueBytes) || !strings.HasSuffix(err.Error(), " bytes queued, bound 1048576") {
		t.Fatalf("error %v, want %v with bound %d", err, ErrQueueBytes, defaultBound)
	}
	if maxQueued > defaultBound || maxQueued <= defaultBound-2*len(msg) {
		t.Fatalf("at most %d bytes were queued before the bound fired, want just under %d", maxQueued, defaultBound)
	}
	got := h.untilClosed()
	if len(got) != 3 || !strings.HasPrefix(got[1], "WRITE_QUEUE_FULL/FAILURE/Write queue full: ") {
		t.Fatalf("events %q", got)
	}
}
