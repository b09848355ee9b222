package hep

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// testTimeout bounds every wait in these tests; it is a safety net against
// hangs, never a speed assertion.
const testTimeout = 10 * time.Second

// udpCollector receives HEP datagrams on 127.0.0.1.
type udpCollector struct {
	conn *net.UDPConn
	ch   chan []byte
}

func newUDPCollector(t testing.TB) *udpCollector {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(8 << 20)
	u := &udpCollector{conn: c, ch: make(chan []byte, 1<<16)}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				close(u.ch)
				return
			}
			u.ch <- bytes.Clone(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close() })
	return u
}

func (u *udpCollector) dest(name string) Destination {
	a := u.conn.LocalAddr().(*net.UDPAddr)
	return Destination{Name: name, Host: "127.0.0.1", Port: a.Port, Transport: UDP, Version: 3}
}

// next returns the next packet, decoded.
func (u *udpCollector) next(t testing.TB) Packet {
	t.Helper()
	return recvPacket(t, u.ch)
}

func recvPacket(t testing.TB, ch <-chan []byte) Packet {
	t.Helper()
	select {
	case b, ok := <-ch:
		if !ok {
			t.Fatal("collector closed")
		}
		var p Packet
		if err := Decode(b, &p); err != nil {
			t.Fatalf("collector received an undecodable packet: %v\n%x", err, b)
		}
		return p
	case <-time.After(testTimeout):
		t.Fatal("no packet within the test timeout")
	}
	return Packet{}
}

// streamCollector accepts TCP (or TLS) connections on 127.0.0.1 and splits
// each stream into HEP packets by the length at bytes 4..6.
type streamCollector struct {
	ln    net.Listener
	ch    chan []byte
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newStreamCollector(t testing.TB, addr string, cfg *tls.Config) *streamCollector {
	t.Helper()
	var (
		ln  net.Listener
		err error
	)
	if cfg != nil {
		ln, err = tls.Listen("tcp", addr, cfg)
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &streamCollector{ln: ln, ch: make(chan []byte, 1<<16)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.read(c)
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *streamCollector) read(c net.Conn) {
	defer c.Close()
	hdr := make([]byte, HeaderLen)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[4:]))
		if n < HeaderLen {
			return
		}
		b := make([]byte, n)
		copy(b, hdr)
		if _, err := io.ReadFull(c, b[HeaderLen:]); err != nil {
			return
		}
		s.ch <- b
	}
}

// close stops listening and closes every accepted connection.
func (s *streamCollector) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *streamCollector) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// waitFor polls cond until it holds or the test timeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func closeTracer(t testing.TB, tr *Tracer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := tr.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v", err)
	}
}
