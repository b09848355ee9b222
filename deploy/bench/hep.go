package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// hepCounter is the HEP collector of the benchmark: it counts the packets
// it receives, as UDP datagrams or over TCP streams on the same port, by
// the protocol type they carry, and keeps nothing.
type hepCounter struct {
	conn *net.UDPConn
	ln   *net.TCPListener
	done chan struct{}
	// streams tracks the TCP connections being read, to close them.
	mu      sync.Mutex
	streams map[net.Conn]bool
	wg      sync.WaitGroup

	packets, bytes atomic.Uint64
	sip            atomic.Uint64 // HEPv3, protocol type 1 (SIP)
	other          atomic.Uint64 // HEPv3, any other protocol type (sipwire's events)
	invalid        atomic.Uint64 // not HEPv3, or without a protocol type
	// tcpConns counts the TCP connections accepted; torn counts streams
	// that ended inside a packet or whose bytes were not HEPv3 (the rest
	// of such a stream cannot be framed and is not counted).
	tcpConns, torn atomic.Uint64
	byType         [256]atomic.Uint64
}

// hepCounts is a snapshot of a hepCounter.
type hepCounts struct{ Packets, Bytes, SIP, Other, Invalid, TCPConns, Torn uint64 }

// sub returns c - o.
func (c hepCounts) sub(o hepCounts) hepCounts {
	return hepCounts{c.Packets - o.Packets, c.Bytes - o.Bytes, c.SIP - o.SIP, c.Other - o.Other, c.Invalid - o.Invalid,
		c.TCPConns - o.TCPConns, c.Torn - o.Torn}
}

// bindTries bounds the attempts to find a port free for both UDP and TCP
// when listenHEP is given port 0.
const bindTries = 20

// listenHEP starts a hepCounter on addr ("127.0.0.1:9060"), UDP and TCP.
// With port 0 both use the port the kernel gave the UDP socket (tried
// again when TCP has it taken).
func listenHEP(addr string) (*hepCounter, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("hep receiver %s: %w", addr, err)
	}
	for try := 1; ; try++ {
		conn, err := net.ListenUDP("udp4", ua)
		if err != nil {
			return nil, fmt.Errorf("hep receiver %s: %w", addr, err)
		}
		bound := conn.LocalAddr().(*net.UDPAddr)
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: bound.IP, Port: bound.Port})
		if err != nil {
			conn.Close()
			if ua.Port == 0 && try < bindTries {
				continue
			}
			return nil, fmt.Errorf("hep receiver tcp %s: %w", bound, err)
		}
		// As much as the kernel grants (net.core.rmem_max): bursts of a
		// hundred thousand packets a second must not overflow it.
		_ = conn.SetReadBuffer(32 << 20)
		h := &hepCounter{conn: conn, ln: ln, done: make(chan struct{}), streams: map[net.Conn]bool{}}
		go h.run()
		h.wg.Go(h.accept)
		return h, nil
	}
}

// addr is the address the counter listens on (UDP and TCP).
func (h *hepCounter) addr() string { return h.conn.LocalAddr().String() }

// accept reads every TCP connection until the listener is closed.
func (h *hepCounter) accept() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		h.streams[c] = true
		h.mu.Unlock()
		h.tcpConns.Add(1)
		h.wg.Go(func() {
			defer func() {
				h.mu.Lock()
				delete(h.streams, c)
				h.mu.Unlock()
				c.Close()
			}()
			if !h.readStream(c) {
				h.torn.Add(1)
			}
		})
	}
}

// streamBuf is the read buffer of one HEP stream: many packets per read.
const streamBuf = 256 << 10

// readStream counts the HEP packets of one TCP stream: HEPv3 packets back
// to back, each starting with "HEP3" and its total length (16 bits). It
// returns false when the stream ended inside a packet or stopped being
// HEPv3.
func (h *hepCounter) readStream(r io.Reader) bool {
	buf := make([]byte, streamBuf)
	have := 0
	for {
		n, err := r.Read(buf[have:])
		have += n
		rest := buf[:have]
		for len(rest) >= 6 {
			if string(rest[:4]) != "HEP3" {
				return false
			}
			l := int(binary.BigEndian.Uint16(rest[4:6]))
			if l < 6 {
				return false
			}
			if l > len(rest) {
				break
			}
			h.count(rest[:l])
			rest = rest[l:]
		}
		have = copy(buf, rest)
		if err != nil {
			return have == 0
		}
	}
}

// run reads datagrams in batches (recvmmsg) until the socket is closed.
func (h *hepCounter) run() {
	defer close(h.done)
	pc := ipv4.NewPacketConn(h.conn)
	msgs := make([]ipv4.Message, 64)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		for _, m := range msgs[:n] {
			h.count(m.Buffers[0][:m.N])
		}
	}
}

// count classifies one datagram.
func (h *hepCounter) count(p []byte) {
	h.packets.Add(1)
	h.bytes.Add(uint64(len(p)))
	t, err := hepProtoType(p)
	switch {
	case err != nil:
		h.invalid.Add(1)
	case t == 1:
		h.sip.Add(1)
		h.byType[t].Add(1)
	default:
		h.other.Add(1)
		h.byType[t].Add(1)
	}
}

// snapshot returns the counts so far.
func (h *hepCounter) snapshot() hepCounts {
	return hepCounts{h.packets.Load(), h.bytes.Load(), h.sip.Load(), h.other.Load(), h.invalid.Load(), h.tcpConns.Load(), h.torn.Load()}
}

// types returns the packet count of every protocol type seen so far.
func (h *hepCounter) types() map[byte]uint64 {
	m := map[byte]uint64{}
	for t := range h.byType {
		if n := h.byType[t].Load(); n > 0 {
			m[byte(t)] = n
		}
	}
	return m
}

// close stops the counter: the UDP socket, the listener and every stream.
func (h *hepCounter) close() error {
	err := h.conn.Close()
	<-h.done
	h.ln.Close()
	h.mu.Lock()
	for c := range h.streams {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
	return err
}

// errNotHEP3 reports a datagram that is not a well-formed HEPv3 packet with
// a protocol type chunk.
var errNotHEP3 = errors.New("bench: not a HEPv3 packet with a protocol type")

// hepProtoType returns the protocol type (generic chunk 0x000b) of a HEPv3
// packet: "HEP3", the total length (16 bits), then chunks of vendor id,
// type id and length (16 bits each, the length counting these 6 bytes).
func hepProtoType(p []byte) (byte, error) {
	if len(p) < 6 || string(p[:4]) != "HEP3" || int(binary.BigEndian.Uint16(p[4:6])) != len(p) {
		return 0, errNotHEP3
	}
	for rest := p[6:]; len(rest) >= 6; {
		vendor := binary.BigEndian.Uint16(rest[0:2])
		typ := binary.BigEndian.Uint16(rest[2:4])
		n := int(binary.BigEndian.Uint16(rest[4:6]))
		if n < 6 || n > len(rest) {
			return 0, errNotHEP3
		}
		if vendor == 0 && typ == 0x000b && n == 7 {
			return rest[6], nil
		}
		rest = rest[n:]
	}
	return 0, errNotHEP3
}
