package transport

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// relay is a two-client set-up for Message.Forward: what client a sends,
// the handler relays to client b's connection.
type relay struct {
	h    *harness
	a, b net.Conn
	dst  *Conn
	mu   sync.Mutex
	obs  []relayObservation
}

// relayObservation is a message observation with, for a sent one, the
// bytes b's socket had received and not yet read when it was made.
type relayObservation struct {
	dir    MessageDirection
	callID string
	at     time.Time
	inq    int
}

// newRelay starts a transport whose handler is relay(m, dst) for every
// message from a; it waits until b's connection is in the table.
func newRelay(t *testing.T, opts Options, handle func(m *Message, dst *Conn)) *relay {
	t.Helper()
	r := &relay{}
	opts.TraceOn = true
	r.h = newHarness(t, opts, HandlerFunc(func(m *Message) { handle(m, r.dst) }))
	r.b = r.h.dial()
	deadline := time.Now().Add(10 * time.Second)
	for r.dst = r.h.tr.ConnByRemote(r.b.LocalAddr().(*net.TCPAddr).AddrPort()); r.dst == nil; r.dst = r.h.tr.ConnByRemote(r.b.LocalAddr().(*net.TCPAddr).AddrPort()) {
		if time.Now().After(deadline) {
			t.Fatal("b's connection not in the table after 10s")
		}
		time.Sleep(time.Millisecond)
	}
	r.h.tr.AddObserver(ObserverFunc(r.observe), AllEvents)
	r.a = r.h.dial()
	return r
}

func (r *relay) observe(o *Observation) {
	if o.Kind != ObservedMessage {
		return
	}
	ro := relayObservation{dir: o.Message.Direction, callID: string(o.Message.CallID), at: o.Message.Time, inq: -1}
	if ro.dir == Sent {
		ro.inq = unread(r.b)
	}
	r.mu.Lock()
	r.obs = append(r.obs, ro)
	r.mu.Unlock()
}

func (r *relay) observations() []relayObservation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayObservation(nil), r.obs...)
}

// readN reads exactly n bytes from c (bounded).
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

func waitStats(t *testing.T, tr *Transport, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := tr.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats not reached within 10s: held writes %d, held messages %d", s.HeldWrites, s.HeldMessages)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestForwardHoldsTheReadBatch: three requests that arrive in one read
// and are relayed to one connection leave in one write, after all three
// were read, each observed before its bytes reached the kernel.
func TestForwardHoldsTheReadBatch(t *testing.T) {
	r := newRelay(t, Options{}, func(m *Message, dst *Conn) {
		if err := m.Forward(dst, m.Data, m.CallID); err != nil {
			t.Errorf("Forward: %v", err)
		}
	})
	in := options("held-1") + options("held-2") + options("held-3")
	if _, err := r.a.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if got := string(readN(t, r.b, len(in))); got != in {
		t.Fatalf("b received\n%q\nwant\n%q", got, in)
	}
	s := waitStats(t, r.h.tr, func(s Stats) bool { return s.HeldMessages == 3 })
	if s.HeldWrites != 1 {
		t.Errorf("held writes %d, want 1 (the three messages of one read in one write)", s.HeldWrites)
	}
	obs := r.observations()
	var order []string
	for _, o := range obs {
		order = append(order, o.dir.String()+":"+o.callID)
	}
	want := "in:held-1 in:held-2 in:held-3 out:held-1 out:held-2 out:held-3"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("observations %q, want %q (the wire: three in, then three out)", got, want)
	}
	for _, o := range obs[3:] {
		if runtime.GOOS == "linux" && o.inq != 0 { // unread: SIOCINQ, Linux only
			t.Errorf("sent %s observed with %d bytes already at b: observed after its write", o.callID, o.inq)
		}
		if o.at.Before(obs[2].at) || !o.at.Equal(obs[3].at) {
			t.Errorf("sent %s stamped %v: want the one write's time, not before the read (%v)", o.callID, o.at, obs[2].at)
		}
	}
}

// TestHeldWritesKeepOrder: a write that is not held (WriteMessage, a pong)
// goes after what the batch held for the connection, and a message larger
// than heldBatchBytes is written at once, after what is held.
func TestHeldWritesKeepOrder(t *testing.T) {
	big := bytes.Repeat([]byte("B"), heldBatchBytes+1)
	r := newRelay(t, Options{}, func(m *Message, dst *Conn) {
		switch string(m.CallID) {
		case "order-1":
			m.Forward(dst, []byte("x1;"), nil)
			dst.WriteMessage([]byte("y;"), nil)
			m.Forward(dst, []byte("x2;"), nil)
		case "order-2":
			m.Forward(dst, []byte("x3;"), nil)
			m.Forward(dst, big, nil)
			m.Forward(dst, []byte("x4;"), nil)
		}
	})
	r.a.Write([]byte(options("order-1")))
	if got := string(readN(t, r.b, 8)); got != "x1;y;x2;" {
		t.Fatalf("b received %q, want x1;y;x2;", got)
	}
	s := waitStats(t, r.h.tr, func(s Stats) bool { return s.HeldMessages == 2 })
	if s.HeldWrites != 2 {
		t.Errorf("held writes %d, want 2 (x1 before y, x2 at the batch's end)", s.HeldWrites)
	}
	r.a.Write([]byte(options("order-2")))
	got := readN(t, r.b, 3+len(big)+3)
	if string(got[:3]) != "x3;" || !bytes.Equal(got[3:3+len(big)], big) || string(got[3+len(big):]) != "x4;" {
		t.Fatalf("b received %q…%q, want x3; then the large message then x4;", got[:3], got[len(got)-3:])
	}
	s = waitStats(t, r.h.tr, func(s Stats) bool { return s.HeldMessages == 4 })
	if s.HeldWrites != 4 {
		t.Errorf("held writes %d, want 4", s.HeldWrites)
	}
}

// TestHeldBatchBytes hits the bound on what one connection holds: the
// message that would pass it writes what is held first.
func TestHeldBatchBytes(t *testing.T) {
	part := bytes.Repeat([]byte("p"), heldBatchBytes/2-100)
	r := newRelay(t, Options{}, func(m *Message, dst *Conn) {
		for range 3 {
			if err := m.Forward(dst, part, nil); err != nil {
				t.Errorf("Forward: %v", err)
			}
		}
	})
	r.a.Write([]byte(options("bound")))
	if got := readN(t, r.b, 3*len(part)); !bytes.Equal(got, bytes.Repeat(part, 3)) {
		t.Fatal("b did not receive the three parts whole and in order")
	}
	s := waitStats(t, r.h.tr, func(s Stats) bool { return s.HeldMessages == 3 })
	if s.HeldWrites != 2 {
		t.Errorf("held writes %d, want 2 (two parts up to heldBatchBytes, then the third at the batch's end)", s.HeldWrites)
	}
}

// TestHeldWriteToAClosedConnection: a connection closed while messages are
// held for it writes nothing more; they are neither observed nor counted,
// and the relaying connection goes on.
func TestHeldWriteToAClosedConnection(t *testing.T) {
	r := newRelay(t, Options{}, func(m *Message, dst *Conn) {
		if string(m.Method) == "OPTIONS" && string(m.CallID) == "closing" {
			m.Forward(dst, []byte("never"), m.CallID)
			dst.Close("closed by the test")
			return
		}
		echoOptions(m)
	})
	r.a.Write([]byte(options("closing")))
	if got := readAllClosed(t, r.b); got != "" {
		t.Fatalf("b received %q after its connection was closed with a message held", got)
	}
	r.a.Write([]byte(options("after")))
	r.a.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := r.a.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200 OK") {
		t.Fatalf("a got %q, %v after b closed; want its 200", buf[:n], err)
	}
	for _, o := range r.observations() {
		if o.dir == Sent && o.callID == "closing" {
			t.Errorf("the held message to the closed connection was observed as sent")
		}
	}
	if s := r.h.tr.Stats(); s.HeldWrites != 0 || s.HeldMessages != 0 {
		t.Errorf("held writes %d, messages %d: want 0 (nothing written)", s.HeldWrites, s.HeldMessages)
	}
}

// TestHeldWritesSurviveAHandlerPanic: what a handler relayed before it
// panicked is written; only the panicking connection closes.
func TestHeldWritesSurviveAHandlerPanic(t *testing.T) {
	r := newRelay(t, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, func(m *Message, dst *Conn) {
		m.Forward(dst, []byte("before the panic"), m.CallID)
		panic("test panic")
	})
	r.a.Write([]byte(options("panic")))
	if got := string(readN(t, r.b, len("before the panic"))); got != "before the panic" {
		t.Fatalf("b received %q", got)
	}
	if got := readAllClosed(t, r.a); got != "" {
		t.Fatalf("a received %q before its close", got)
	}
	if r.dst.State() != StateOpen {
		t.Errorf("b's connection is %v, want open", r.dst.State())
	}
}

// TestForwardInParallelHandlingWritesAtOnce: a parallel handler's message
// is apart from its reader's batch, so Forward is WriteMessage.
func TestForwardInParallelHandlingWritesAtOnce(t *testing.T) {
	r := newRelay(t, Options{ParallelHandling: true}, func(m *Message, dst *Conn) {
		m.Forward(dst, []byte("now;"), m.CallID)
	})
	r.a.Write([]byte(options("par-1") + options("par-2")))
	if got := string(readN(t, r.b, 8)); got != "now;now;" {
		t.Fatalf("b received %q", got)
	}
	if s := r.h.tr.Stats(); s.HeldWrites != 0 {
		t.Errorf("held writes %d with parallel handling, want 0", s.HeldWrites)
	}
}
