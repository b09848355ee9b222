package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipwire/sipwire/hep"
	"github.com/sipwire/sipwire/transport"
)

// Helpers of the resilience tests (resilience_*_test.go): SIP clients that
// check every answer, a log of the transport's events, and byte-stream
// checks. The long tests are behind the resilience build tag.

// ioTimeout bounds every wait on a socket in these tests. It is a safety net
// against hangs, never a speed assertion: a healthy run is far below it.
const ioTimeout = 30 * time.Second

// optionsRequest is an OPTIONS to sipwire (which answers 200) with the given
// Call-ID and CSeq. pad extra bytes go into a second Via header, which the
// 200 copies, so that pad also grows the response.
func optionsRequest(callID string, cseq, pad int) []byte {
	var b bytes.Buffer
	b.WriteString("OPTIONS sip:127.0.0.1 SIP/2.0\r\n")
	b.WriteString("Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-" + callID + "-" + strconv.Itoa(cseq) + "\r\n")
	if pad > 0 {
		b.WriteString("Via: SIP/2.0/TCP 127.0.0.2:5099;branch=z9hG4bK-pad;x=")
		b.WriteString(strings.Repeat("p", pad))
		b.WriteString("\r\n")
	}
	b.WriteString("From: <sip:alice@127.0.0.1>;tag=f1\r\n")
	b.WriteString("To: <sip:127.0.0.1>\r\n")
	b.WriteString("Call-ID: " + callID + "\r\n")
	b.WriteString("CSeq: " + strconv.Itoa(cseq) + " OPTIONS\r\n")
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}

// sipMessage is the parts of a received SIP message the tests check.
type sipMessage struct {
	startLine string
	callID    string
	cseq      string
	size      int
}

// readSIP reads one whole SIP message (header block and Content-Length
// body) from r.
func readSIP(r *bufio.Reader) (sipMessage, error) {
	var m sipMessage
	length := -1
	for {
		line, err := r.ReadString('\n')
		m.size += len(line)
		if err != nil {
			return m, fmt.Errorf("read after %d bytes of a message: %w", m.size, err)
		}
		if line == "\r\n" {
			if m.startLine == "" {
				continue // keep-alive CRLFs between messages
			}
			break
		}
		line = strings.TrimRight(line, "\r\n")
		if m.startLine == "" {
			m.startLine = line
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			m.callID = value
		case "cseq":
			m.cseq = value
		case "content-length", "l":
			n, err := strconv.Atoi(value)
			if err != nil {
				return m, fmt.Errorf("bad Content-Length %q", value)
			}
			length = n
		}
	}
	if length < 0 {
		return m, fmt.Errorf("message %q has no Content-Length", m.startLine)
	}
	if _, err := io.CopyN(io.Discard, r, int64(length)); err != nil {
		return m, fmt.Errorf("read body of %q: %w", m.startLine, err)
	}
	m.size += length
	return m, nil
}

// checkAnswer says what is wrong with m as the answer to OPTIONS callID/cseq.
func checkAnswer(m sipMessage, callID string, cseq int) error {
	if m.startLine != "SIP/2.0 200 OK" || m.callID != callID || m.cseq != strconv.Itoa(cseq)+" OPTIONS" {
		return fmt.Errorf("answer to %s/%d: %q Call-ID %q CSeq %q", callID, cseq, m.startLine, m.callID, m.cseq)
	}
	return nil
}

// eventLog keeps every event of a transport subscription of its own (gate
// AllEvents), by connection. Subscribe it before the traffic it must see.
type eventLog struct {
	sub  *transport.Subscription
	done chan struct{}

	mu     sync.Mutex
	byConn map[uint64][]transport.Event
	byAddr map[string]uint64 // remote address -> the latest connection id
}

func newEventLog(tr *transport.Transport, queueLen int) *eventLog {
	l := &eventLog{
		sub:    tr.Subscribe("resilience-log", queueLen, transport.AllEvents),
		done:   make(chan struct{}),
		byConn: make(map[uint64][]transport.Event),
		byAddr: make(map[string]uint64),
	}
	go func() {
		defer close(l.done)
		for e := range l.sub.Events() {
			l.mu.Lock()
			l.byConn[e.ConnID] = append(l.byConn[e.ConnID], e)
			if e.Kind == transport.EventAccepted || e.Kind == transport.EventAcceptRefused {
				l.byAddr[e.Remote.String()] = e.ConnID
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// events returns the events of connection id.
func (l *eventLog) events(id uint64) []transport.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]transport.Event(nil), l.byConn[id]...)
}

// connOf returns the id of the connection from remote address addr.
func (l *eventLog) connOf(addr string) (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.byAddr[addr]
	return id, ok
}

// connsWith returns the ids of the connections that had an event of kind k.
func (l *eventLog) connsWith(k transport.EventKind) map[uint64]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[uint64]bool{}
	for id, evs := range l.byConn {
		for _, e := range evs {
			if e.Kind == k {
				out[id] = true
			}
		}
	}
	return out
}

// kinds lists the kind names of events.
func kinds(evs []transport.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind.String()
	}
	return out
}

// isReset says whether err is what a client sees when its connection was
// closed under it.
func isReset(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset by peer") || strings.Contains(err.Error(), "broken pipe")
}

// hepCounter counts the HEP packets of every type sent to it over UDP.
type hepCounter struct {
	conn    *net.UDPConn
	packets atomic.Uint64
}

func newHEPCounter(t testing.TB) *hepCounter {
	t.Helper()
	r := &hepCounter{}
	r.conn = serveHEP(t, 4<<20, func(*hep.Packet) { r.packets.Add(1) })
	return r
}

// waitPackets waits a little for the counter to have read n packets (the
// last datagrams may still be in its socket) and returns how many it has;
// over UDP some may be lost.
func (r *hepCounter) waitPackets(n uint64) uint64 {
	for range 100 {
		if r.packets.Load() >= n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r.packets.Load()
}
