package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sipwire/sipwire/hep"
)

// tcpCollector is a HEP collector over TCP on a fixed 127.0.0.1 address
// that can be stopped and started again: it splits each stream into HEP
// packets by the length in bytes 4..6, decodes every one and keeps the
// network events.
type tcpCollector struct {
	t    testing.TB
	addr string
	// keepEvents: keep the network events for connEvents (else only count).
	keepEvents bool

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	events []collectedEvent
	errs   []error

	readers  sync.WaitGroup
	accepts  atomic.Uint64 // connections accepted
	packets  atomic.Uint64 // packets decoded
	messages atomic.Uint64 // SIP messages (proto type 1) among them
}

// collectedEvent is one HEP network event (proto type 100).
type collectedEvent struct {
	Event  string
	Status string
	ConnID uint64
	Remote string
	Reason string
	// CallID is set on the copies of an open or CLOSED event that Homer's
	// call view gets, one per Call-ID.
	CallID string
}

func newTCPCollector(t testing.TB, addr string) *tcpCollector {
	c := &tcpCollector{t: t, addr: addr, conns: map[net.Conn]bool{}}
	t.Cleanup(c.stop)
	return c
}

// start listens on the collector's address.
func (c *tcpCollector) start() {
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		c.t.Fatalf("collector: %v", err)
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	c.readers.Add(1)
	go func() {
		defer c.readers.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepts.Add(1)
			c.mu.Lock()
			c.conns[conn] = true
			c.mu.Unlock()
			c.readers.Add(1)
			go c.read(conn)
		}
	}()
}

// stop closes the listener and every connection, as a collector that goes
// down, and waits for its goroutines.
func (c *tcpCollector) stop() {
	c.mu.Lock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for conn := range c.conns {
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
	c.mu.Unlock()
	c.readers.Wait()
}

// waitDisconnected waits until every connection to the collector was
// closed by its peer (or by stop).
func (c *tcpCollector) waitDisconnected() {
	c.mu.Lock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	c.mu.Unlock()
	c.readers.Wait()
}

func (c *tcpCollector) read(conn net.Conn) {
	defer c.readers.Done()
	defer func() {
		c.mu.Lock()
		delete(c.conns, conn)
		c.mu.Unlock()
		conn.Close()
	}()
	r := bufio.NewReaderSize(conn, 64<<10)
	var hdr [6]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				c.fail(fmt.Errorf("collector read: %w", err))
			}
			return
		}
		if string(hdr[:4]) != "HEP3" {
			c.fail(fmt.Errorf("collector: stream out of sync: % x", hdr))
			return
		}
		n := int(hdr[4])<<8 | int(hdr[5])
		if n < len(hdr) {
			c.fail(fmt.Errorf("collector: packet length %d", n))
			return
		}
		b := make([]byte, n)
		copy(b, hdr[:])
		if _, err := io.ReadFull(r, b[len(hdr):]); err != nil {
			// A packet cut by the collector going down: only a stop may do that.
			return
		}
		c.packet(b)
	}
}

func (c *tcpCollector) packet(b []byte) {
	var p hep.Packet
	if err := hep.Decode(b, &p); err != nil {
		c.fail(fmt.Errorf("collector: undecodable packet: %w", err))
		return
	}
	c.packets.Add(1)
	switch p.ProtoType {
	case 1:
		c.messages.Add(1)
	case 100:
		if !c.keepEvents {
			return
		}
		var e collectedEvent
		if err := json.Unmarshal(p.Payload, &e); err != nil {
			c.fail(fmt.Errorf("collector: event payload %q: %w", p.Payload, err))
			return
		}
		c.mu.Lock()
		c.events = append(c.events, e)
		c.mu.Unlock()
	}
}

func (c *tcpCollector) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < 10 {
		c.errs = append(c.errs, err)
	}
}

// check fails t with the collector's errors.
func (c *tcpCollector) check(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, err := range c.errs {
		t.Error(err)
	}
}

// connEvents returns the events by connection id, without the Call-ID
// copies.
func (c *tcpCollector) connEvents() map[uint64][]collectedEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[uint64][]collectedEvent{}
	for _, e := range c.events {
		if e.CallID == "" {
			out[e.ConnID] = append(out[e.ConnID], e)
		}
	}
	return out
}
