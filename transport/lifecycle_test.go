package transport

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// panicOn answers OPTIONS and panics on the Call-ID "boom".
func panicOn(m *Message) {
	if string(m.CallID) == "boom" {
		panic("handler bug")
	}
	echoOptions(m)
}

// TestHandlerPanicClosesOnlyItsConnection: on both handling paths, a
// handler's panic gives exactly ACCEPTED, HANDLER_PANIC, CLOSED on its
// connection, one log line with the stack, and another connection goes on.
func TestHandlerPanicClosesOnlyItsConnection(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		name := "inline"
		if parallel {
			name = "parallel"
		}
		t.Run(name, func(t *testing.T) {
			var logBuf lockedBuf
			h := newHarness(t, Options{ParallelHandling: parallel, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}, HandlerFunc(panicOn))
			good := h.dial()
			if e := h.next(); e.Kind != EventAccepted {
				t.Fatalf("first event %v", e.Kind)
			}
			bad := h.dial()
			bad.Write([]byte(options("boom")))
			got := h.untilClosed()
			want := []string{"ACCEPTED/SUCCESS/Connection accepted", "HANDLER_PANIC/FAILURE/Handler panic: handler bug", "CLOSED/FAILURE/Handler panic: handler bug"}
			if !slices.Equal(got, want) {
				t.Fatalf("events %q\nwant %q", got, want)
			}
			if b := readAllClosed(t, bad); b != "" {
				t.Errorf("the panicking connection got %q", b)
			}
			good.Write([]byte(options("fine")))
			if r := readResponse(t, bufio.NewReader(good)); !strings.HasPrefix(r, "SIP/2.0 200 ") {
				t.Fatalf("the other connection got %q", r)
			}
			logs := logBuf.String()
			if n := strings.Count(logs, "sip handler panicked"); n != 1 || !strings.Contains(logs, "panicOn") {
				t.Errorf("%d panic log lines (want 1, with the stack naming panicOn):\n%s", n, logs)
			}
			if st := h.tr.Stats(); st.HandlerPanics != 1 {
				t.Errorf("handler_panics %d, want 1", st.HandlerPanics)
			}
		})
	}
}

// TestShutdownDoesNotWaitForAStuckHandler: Shutdown returns ctx's error
// when its context ends while a handler never returns.
func TestShutdownDoesNotWaitForAStuckHandler(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	tr := New(Options{}, HandlerFunc(func(*Message) {
		entered <- struct{}{}
		<-release
	}))
	defer close(release)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := dialAddr(t, addr.String())
	c.Write([]byte(options("stuck")))
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was never called")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown returned %v, want the context's deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown still waits for the stuck handler 10 s after its context ended")
	}
	if tr.Conn(1) != nil || len(tr.Connections()) != 0 {
		t.Errorf("connections left after Shutdown: %+v", tr.Connections())
	}
}

// TestObservationsInWireOrder: one observer sees a connection's events and
// messages as one ordered stream, the response written before the
// connection's CLOSED, each message with its Call-ID (new only the first
// time), and the trace switch.
func TestObservationsInWireOrder(t *testing.T) {
	tr := New(Options{TraceOn: true}, HandlerFunc(echoOptions))
	var mu sync.Mutex
	var got []string
	tr.AddObserver(ObserverFunc(func(o *Observation) {
		var s string
		switch o.Kind {
		case ObservedEvent:
			s = o.Event.Kind.String()
			if o.Event.Kind == EventClosed {
				s += " " + strings.Join(o.CallIDs, ",")
			}
		case ObservedMessage:
			m := &o.Message
			s = m.Direction.String() + " " + string(m.CallID)
			if m.NewCall {
				s += " new" + itoa(m.CallSeq)
			}
		case ObservedTraceSwitch:
			s = "trace " + map[bool]string{true: "on", false: "off"}[o.TraceOn]
		}
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	}), TracedEvents)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := dialAddr(t, addr.String())
	r := bufio.NewReader(c)
	for _, id := range []string{"a", "b", "a"} {
		c.Write([]byte(options(id)))
		readResponse(t, r)
	}
	c.Close()
	waitUntilT(t, "the connection to close", func() bool { return len(tr.Connections()) == 0 })
	tr.SetTracing(false)
	tr.Shutdown(context.Background())
	want := []string{"ACCEPTED", "in a new1", "out a", "in b new2", "out b", "in a", "out a", "CLOSED a,b", "trace off"}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("observations %q\nwant %q", got, want)
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ io.Writer = (*lockedBuf)(nil)

func dialAddr(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitUntilT polls cond (bounded) until it holds.
func waitUntilT(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLimitIsTheWriteError: once a limit closed a connection from its
// reader, writes to it return that limit's error.
func TestLimitIsTheWriteError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		send  string
		want  error
		event EventKind
	}{
		{"tcp_connection_lifetime", Options{ConnectionLifetime: 100 * time.Millisecond}, options("idle"), ErrIdleTimeout, EventIdleTimeout},
		{"tcp_max_msg_time", Options{MaxMsgTime: 100 * time.Millisecond}, options("first") + "OPTIONS sip:x SIP/2.0\r\n", ErrMessageTimeout, EventMessageTimeout},
		{"tcp_max_msg_chunks", Options{MaxMsgChunks: 2}, options("first"), ErrChunkLimit, EventChunkLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := make(chan *Conn, 1)
			h := newHarness(t, tc.opts, HandlerFunc(func(m *Message) {
				select {
				case conns <- m.Conn:
				default:
				}
				echoOptions(m)
			}))
			c := h.dial()
			c.Write([]byte(tc.send))
			conn := <-conns
			if tc.event == EventChunkLimit {
				for _, part := range []string{"OPT", "IONS sip:x SIP/2.0\r\n"} {
					time.Sleep(20 * time.Millisecond)
					c.Write([]byte(part))
				}
			}
			got := h.untilClosed()
			if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, tc.event.String()+"/") }) {
				t.Fatalf("events %q, want %s", got, tc.event)
			}
			if err := conn.Write([]byte(options("late"))); !errors.Is(err, tc.want) {
				t.Fatalf("write after %s: %v, want %v", tc.event, err, tc.want)
			}
		})
	}
}

// TestClosedNamesTheLastCallIDs: a connection's CLOSED observation names
// its last Options.CallIDsPerConn Call-IDs, oldest first; older ones are
// forgotten.
func TestClosedNamesTheLastCallIDs(t *testing.T) {
	tr := New(Options{TraceOn: true, CallIDsPerConn: 3}, HandlerFunc(echoOptions))
	closed := make(chan []string, 1)
	tr.AddObserver(ObserverFunc(func(o *Observation) {
		if o.Kind == ObservedEvent && o.Event.Kind == EventClosed {
			closed <- slices.Clone(o.CallIDs)
		}
	}), TracedEvents)
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	c := dialAddr(t, addr.String())
	r := bufio.NewReader(c)
	for _, id := range []string{"c1", "c2", "c3", "c2", "c4", "c5"} {
		c.Write([]byte(options(id)))
		readResponse(t, r)
	}
	c.Close()
	select {
	case got := <-closed:
		if want := []string{"c3", "c4", "c5"}; !slices.Equal(got, want) {
			t.Fatalf("CLOSED names %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no CLOSED")
	}
}
