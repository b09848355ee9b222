package hep

import (
	"encoding/binary"
	"fmt"
	"net/netip"
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
	src, srcPort := p.Src.Addr(), p.Src.Port()
	dstA, dstPort := p.Dst.Addr(), p.Dst.Port()
	if !src.IsValid() || !dstA.IsValid() {
		return dst, Mark{}, fmt.Errorf("%w: source or destination address missing", ErrFamily)
	}
	for _, b := range [...][]byte{p.AuthKey, p.CorrelationID, p.NodeName, p.CompressedPayload} {
		if len(b) > MaxPacketLen-HeaderLen-ChunkHeaderLen {
			return dst, Mark{}, fmt.Errorf("%w: chunk of %d bytes", ErrTooLarge, len(b))
		}
	}
	v4 := src.Unmap().Is4() && dstA.Unmap().Is4()
	start := len(dst)
	b := append(dst, 'H', 'E', 'P', '3', 0, 0)
	if v4 {
		b = appendU8(b, ChunkFamily, FamilyIPv4)
	} else {
		b = appendU8(b, ChunkFamily, FamilyIPv6)
	}
	b = appendU8(b, ChunkIPProtocol, p.IPProtocol)
	if v4 {
		b = appendAddr4(b, ChunkIPv4Src, src)
		b = appendAddr4(b, ChunkIPv4Dst, dstA)
	} else {
		b = appendAddr16(b, ChunkIPv6Src, src)
		b = appendAddr16(b, ChunkIPv6Dst, dstA)
	}
	b = appendU16(b, ChunkSrcPort, srcPort)
	b = appendU16(b, ChunkDstPort, dstPort)
	b = appendU32(b, ChunkTimeSec, p.TimeSec)
	b = appendU32(b, ChunkTimeUsec, p.TimeUsec)
	b = appendU8(b, ChunkProtoType, uint8(p.ProtoType))
	b = appendU32(b, ChunkCaptureID, p.CaptureID)
	b = appendBytes(b, ChunkAuthKey, p.AuthKey)
	b = appendBytes(b, ChunkCorrelationID, p.CorrelationID)
	if p.VLAN != 0 {
		b = appendU16(b, ChunkVLAN, p.VLAN)
	}
	b = appendBytes(b, ChunkNodeName, p.NodeName)
	b = appendBytes(b, ChunkCompressedPayload, p.CompressedPayload)
	m := Mark{start: start, payload: len(b)}
	b = appendChunkHeader(b, ChunkPayload, 0)
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
	const fixed = HeaderLen +
		2*(ChunkHeaderLen+1) + // family, IP protocol
		2*(ChunkHeaderLen+2) + // ports
		3*(ChunkHeaderLen+4) + // timestamp, capture id
		ChunkHeaderLen + 1 + // proto type
		ChunkHeaderLen // payload chunk header
	n := fixed + len(p.Payload)
	if p.Src.Addr().Unmap().Is4() && p.Dst.Addr().Unmap().Is4() {
		n += 2 * (ChunkHeaderLen + 4)
	} else {
		n += 2 * (ChunkHeaderLen + 16)
	}
	for _, b := range [...][]byte{p.AuthKey, p.CorrelationID, p.NodeName, p.CompressedPayload} {
		if len(b) > 0 {
			n += ChunkHeaderLen + len(b)
		}
	}
	if p.VLAN != 0 {
		n += ChunkHeaderLen + 2
	}
	return n
}

func appendChunkHeader(b []byte, t ChunkType, valueLen int) []byte {
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(t))
	return binary.BigEndian.AppendUint16(b, uint16(ChunkHeaderLen+valueLen))
}

func appendU8(b []byte, t ChunkType, v uint8) []byte {
	return append(appendChunkHeader(b, t, 1), v)
}

func appendU16(b []byte, t ChunkType, v uint16) []byte {
	return binary.BigEndian.AppendUint16(appendChunkHeader(b, t, 2), v)
}

func appendU32(b []byte, t ChunkType, v uint32) []byte {
	return binary.BigEndian.AppendUint32(appendChunkHeader(b, t, 4), v)
}

func appendAddr4(b []byte, t ChunkType, a netip.Addr) []byte {
	v := a.Unmap().As4()
	return append(appendChunkHeader(b, t, 4), v[:]...)
}

func appendAddr16(b []byte, t ChunkType, a netip.Addr) []byte {
	v := a.As16()
	return append(appendChunkHeader(b, t, 16), v[:]...)
}

func appendBytes(b []byte, t ChunkType, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return append(appendChunkHeader(b, t, len(v)), v...)
}
