package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// hepCounter is the HEP collector of the benchmark: it counts the datagrams
// it receives on UDP, by the protocol type they carry, and keeps nothing.
type hepCounter struct {
	conn *net.UDPConn
	done chan struct{}

	packets, bytes atomic.Uint64
	sip            atomic.Uint64 // HEPv3, protocol type 1 (SIP)
	other          atomic.Uint64 // HEPv3, any other protocol type (sipwire's events)
	invalid        atomic.Uint64 // not HEPv3, or without a protocol type
	byType         [256]atomic.Uint64
}

// hepCounts is a snapshot of a hepCounter.
type hepCounts struct{ Packets, Bytes, SIP, Other, Invalid uint64 }

// sub returns c - o.
func (c hepCounts) sub(o hepCounts) hepCounts {
	return hepCounts{c.Packets - o.Packets, c.Bytes - o.Bytes, c.SIP - o.SIP, c.Other - o.Other, c.Invalid - o.Invalid}
}

// listenHEP starts a hepCounter on addr ("127.0.0.1:9060").
func listenHEP(addr string) (*hepCounter, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("hep receiver %s: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp4", ua)
	if err != nil {
		return nil, fmt.Errorf("hep receiver %s: %w", addr, err)
	}
	// As much as the kernel grants (net.core.rmem_max): bursts of a
	// hundred thousand packets a second must not overflow it.
	_ = conn.SetReadBuffer(32 << 20)
	h := &hepCounter{conn: conn, done: make(chan struct{})}
	go h.run()
	return h, nil
}

// addr is the address the counter listens on.
func (h *hepCounter) addr() string { return h.conn.LocalAddr().String() }

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
	return hepCounts{h.packets.Load(), h.bytes.Load(), h.sip.Load(), h.other.Load(), h.invalid.Load()}
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

// close stops the counter.
func (h *hepCounter) close() error {
	err := h.conn.Close()
	<-h.done
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
