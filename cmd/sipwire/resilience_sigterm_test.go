//go:build resilience

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SIGTERM while clients pipeline OPTIONS at the built binary: it exits 0;
// every byte stream a client received parses as whole SIP messages, each the
// 200 to its requests in order; every connection the HEP collector (TCP)
// saw accepted has exactly one CLOSED, sent before the process exited (the
// collector reads them up to the end of its stream); and the OTLP receiver
// got both spans of every connection.
func TestResilienceSIGTERMUnderLoad(t *testing.T) {
	const (
		clients = 40
		window  = 4 // requests a client keeps unanswered
		load    = time.Second
		exitMax = 30 * time.Second // safety net; shutdown_timeout is 10 s
	)
	col := newTCPCollector(t, freeAddr(t))
	col.keepEvents = true
	col.start()
	recv := newOTLPCounter(t, freeAddr(t))
	recv.start()
	cfgPath := filepath.Join(t.TempDir(), "sipwire.yaml")
	cfgText := "hep_id:\n  - '[t] " + col.addr + "; transport=tcp; version=3'\ntrace_destination: t\n" +
		// Open spans at once: each connection then has exactly two spans
		// to flush at SIGTERM, however short it lived.
		"otel:\n  endpoint: http://" + recv.addr + "\n  protocol: http/protobuf\n  open_span_delay: 0s\n"
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startSipwire(t, "-config", cfgPath)

	cs := make([]*streamClient, clients)
	var wg sync.WaitGroup
	for i := range cs {
		c, err := net.Dial("tcp", in.sip)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cs[i] = &streamClient{conn: c, callID: "term-" + strconv.Itoa(i), credit: make(chan struct{}, window)}
		wg.Go(cs[i].readAll)
		wg.Go(func() { cs[i].writeAll(window) })
	}
	time.Sleep(load)
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- in.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(exitMax):
		t.Fatalf("no exit %s after SIGTERM", exitMax)
	}
	wg.Wait()
	col.waitDisconnected()
	col.check(t)

	// No half-written message: each stream is whole answers, in order.
	var answered, sent int
	for i, c := range cs {
		n, err := c.check()
		if err != nil {
			t.Errorf("client %d: %v", i, err)
		}
		answered += n
		sent += c.sent
	}

	// One CLOSED per connection, every one of them at the collector.
	events := col.connEvents()
	byRemote := map[string]bool{}
	accepted := 0
	for id, evs := range events {
		var open, closed int
		for _, e := range evs {
			switch e.Event {
			case "ACCEPTED":
				open++
				byRemote[e.Remote] = true
			case "CLOSED":
				closed++
			}
		}
		accepted += open
		if open != 1 || closed != 1 || evs[len(evs)-1].Event != "CLOSED" {
			t.Errorf("connection %d: %d ACCEPTED, %d CLOSED in %d events, the last %q", id, open, closed, len(evs), evs[len(evs)-1].Event)
		}
	}
	for i, c := range cs {
		if !byRemote[c.conn.LocalAddr().String()] {
			t.Errorf("client %d (%s): no ACCEPTED at the collector", i, c.conn.LocalAddr())
		}
	}
	if got, want := recv.spans.Load(), uint64(2*accepted); got != want {
		t.Errorf("the OTLP receiver got %d spans for %d connections, want %d (an open span and a lifetime span each)", got, accepted, want)
	}
	t.Logf("%d clients: %d requests sent, %d answered before the end; the collector got %d packets, %d connections; the OTLP receiver %d spans",
		clients, sent, answered, col.packets.Load(), accepted, recv.spans.Load())
}

// streamClient pipelines OPTIONS on one connection, up to a window of
// unanswered ones, and keeps every byte it receives.
type streamClient struct {
	conn   net.Conn
	callID string
	credit chan struct{} // one per answer, for the writer
	sent   int           // by writeAll, read after both return
	got    bytes.Buffer  // by readAll
	rerr   error
}

func (c *streamClient) writeAll(window int) {
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	for c.sent = 0; ; c.sent++ {
		if c.sent >= window {
			if _, ok := <-c.credit; !ok {
				return
			}
		}
		if _, err := c.conn.Write(optionsRequest(c.callID, c.sent+1, 0)); err != nil {
			return
		}
	}
}

// readAll reads until the connection ends, handing the writer a credit per
// whole message.
func (c *streamClient) readAll() {
	defer close(c.credit)
	c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	r := bufio.NewReader(io.TeeReader(c.conn, &c.got))
	for {
		if _, err := readSIP(r); err != nil {
			c.rerr = err
			return
		}
		select {
		case c.credit <- struct{}{}:
		default:
		}
	}
}

// check parses what the client received: whole 200s to its requests, in
// order, and nothing after the last one. It returns their number.
func (c *streamClient) check() (int, error) {
	if c.rerr != nil && !errors.Is(c.rerr, io.EOF) && !isReset(c.rerr) {
		return 0, c.rerr
	}
	data := c.got.Bytes()
	r := bufio.NewReader(bytes.NewReader(data))
	n, used := 0, 0
	for {
		m, err := readSIP(r)
		if err != nil {
			if used != len(data) {
				return n, errors.New("half-written message at the end: " + strconv.Quote(string(data[used:])))
			}
			return n, nil
		}
		n++
		used += m.size
		if err := checkAnswer(m, c.callID, n); err != nil {
			return n, err
		}
	}
}
