package hep

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Mark remembers where OpenPacket started a packet and its payload chunk, so
// that ClosePacket can write the lengths once the payload is appended.
type Mark struct {
	start   int
	payload int
}

// AppendPacket appends p encoded as one HEPv3 packet to dst and returns the
// extended buffer. When dst has room for the packet it does not allocate.
// Chunks come in the reference agent's order (family, protocol, addresses,
// ports, timestamp, proto type, capture id, auth key, correlation id, VLAN,
// node name, compressed payload), the payload last. On error dst is returned
// unchanged.
func AppendPacket(dst []byte, p *Packet) ([]byte, error) {
	n := EncodedLen(p)
	if n > MaxPacketLen {
		return dst, fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	out, m, err := OpenPacket(slices.Grow(dst, n), p)
	if err != nil {
		return dst, err
	}
	out = append(out, p.Payload...)
	if err := ClosePacket(out, m); err != nil {
		return dst, err
	}
	return out, nil
}

// OpenPacket appends every chunk of p but the payload, then the header of
// the payload chunk, ignoring p.Payload. The caller appends the payload bytes
// to the returned buffer and calls ClosePacket with the returned Mark; this
// builds a packet whose payload is formatted in place, without a copy.
func OpenPacket(dst []byte, p *Packet) ([]byte, Mark, error) {
	src, dstA := p.Src.Addr(), p.Dst.Addr()
	if !src.IsValid() || !dstA.IsValid() {
		return dst, Mark{}, fmt.Errorf("%w: source or destination address missing", ErrFamily)
	}
	if n := max(len(p.AuthKey), len(p.CorrelationID), len(p.NodeName), len(p.CompressedPayload)); n > MaxPacketLen-HeaderLen-ChunkHeaderLen {
		return dst, Mark{}, fmt.Errorf("%w: chunk of %d bytes", ErrTooLarge, n)
	}
	v4 := isIPv4Pair(p)
	start := len(dst)
	n := metaLen(p, v4)
	b := slices.Grow(dst, n)[:start+n]
	w := b[start:]
	copy(w, "HEP3")
	o := HeaderLen
	if v4 {
		o = putU8(w, o, ChunkFamily, FamilyIPv4)
		o = putU8(w, o, ChunkIPProtocol, p.IPProtocol)
		a, d := src.Unmap().As4(), dstA.Unmap().As4()
		o = putBytes(w, o, ChunkIPv4Src, a[:])
		o = putBytes(w, o, ChunkIPv4Dst, d[:])
	} else {
		o = putU8(w, o, ChunkFamily, FamilyIPv6)
		o = putU8(w, o, ChunkIPProtocol, p.IPProtocol)
		a, d := src.As16(), dstA.As16()
		o = putBytes(w, o, ChunkIPv6Src, a[:])
		o = putBytes(w, o, ChunkIPv6Dst, d[:])
	}
	o = putU16(w, o, ChunkSrcPort, p.Src.Port())
	o = putU16(w, o, ChunkDstPort, p.Dst.Port())
	o = putU32(w, o, ChunkTimeSec, p.TimeSec)
	o = putU32(w, o, ChunkTimeUsec, p.TimeUsec)
	o = putU8(w, o, ChunkProtoType, uint8(p.ProtoType))
	o = putU32(w, o, ChunkCaptureID, p.CaptureID)
	o = putBytes(w, o, ChunkAuthKey, p.AuthKey)
	o = putBytes(w, o, ChunkCorrelationID, p.CorrelationID)
	if p.VLAN != 0 {
		o = putU16(w, o, ChunkVLAN, p.VLAN)
	}
	o = putBytes(w, o, ChunkNodeName, p.NodeName)
	o = putBytes(w, o, ChunkCompressedPayload, p.CompressedPayload)
	m := Mark{start: start, payload: start + o}
	putChunkHeader(w[o:], ChunkPayload, 0)
	return b, m, nil
}

// ClosePacket writes the payload chunk's length and the packet's total
// length into b, the buffer OpenPacket returned with the payload appended.
func ClosePacket(b []byte, m Mark) error {
	total := len(b) - m.start
	if total > MaxPacketLen {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, total)
	}
	if m.payload < m.start+HeaderLen || m.payload+ChunkHeaderLen > len(b) {
		return fmt.Errorf("%w: mark outside the buffer", ErrLength)
	}
	binary.BigEndian.PutUint16(b[m.start+4:], uint16(total))
	binary.BigEndian.PutUint16(b[m.payload+4:], uint16(len(b)-m.payload))
	return nil
}

// EncodedLen returns the length of p encoded by AppendPacket (it may exceed
// MaxPacketLen, which AppendPacket refuses).
func EncodedLen(p *Packet) int {
	return metaLen(p, isIPv4Pair(p)) + len(p.Payload)
}

// isIPv4Pair reports whether p is encoded with IPv4 address chunks.
func isIPv4Pair(p *Packet) bool {
	return p.Src.Addr().Unmap().Is4() && p.Dst.Addr().Unmap().Is4()
}

// metaLen is the encoded length of p without the payload's bytes.
func metaLen(p *Packet, v4 bool) int {
	const fixed = HeaderLen +
		2*(ChunkHeaderLen+1) + // family, IP protocol
		2*(ChunkHeaderLen+2) + // ports
		3*(ChunkHeaderLen+4) + // timestamp, capture id
		ChunkHeaderLen + 1 + // proto type
		ChunkHeaderLen // payload chunk header
	n := fixed + 2*(ChunkHeaderLen+16)
	if v4 {
		n = fixed + 2*(ChunkHeaderLen+4)
	}
	n += bytesChunkLen(p.AuthKey) + bytesChunkLen(p.CorrelationID) + bytesChunkLen(p.NodeName) + bytesChunkLen(p.CompressedPayload)
	if p.VLAN != 0 {
		n += ChunkHeaderLen + 2
	}
	return n
}

// bytesChunkLen is the encoded length of a chunk of bytes b: none when b is
// empty (see putBytes).
func bytesChunkLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return ChunkHeaderLen + len(b)
}

// putChunkHeader writes a generic chunk header at the start of w.
func putChunkHeader(w []byte, t ChunkType, valueLen int) {
	_ = w[5]
	w[0], w[1] = 0, 0
	binary.BigEndian.PutUint16(w[2:], uint16(t))
	binary.BigEndian.PutUint16(w[4:], uint16(ChunkHeaderLen+valueLen))
}

func putU8(w []byte, o int, t ChunkType, v uint8) int {
	putChunkHeader(w[o:], t, 1)
	w[o+ChunkHeaderLen] = v
	return o + ChunkHeaderLen + 1
}

func putU16(w []byte, o int, t ChunkType, v uint16) int {
	putChunkHeader(w[o:], t, 2)
	binary.BigEndian.PutUint16(w[o+ChunkHeaderLen:], v)
	return o + ChunkHeaderLen + 2
}

func putU32(w []byte, o int, t ChunkType, v uint32) int {
	putChunkHeader(w[o:], t, 4)
	binary.BigEndian.PutUint32(w[o+ChunkHeaderLen:], v)
	return o + ChunkHeaderLen + 4
}

// putBytes writes a byte chunk, or nothing when v is empty.
func putBytes(w []byte, o int, t ChunkType, v []byte) int {
	if len(v) == 0 {
		return o
	}
	putChunkHeader(w[o:], t, len(v))
	return o + ChunkHeaderLen + copy(w[o+ChunkHeaderLen:], v)
}
