package hep

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Decode parses one HEPv3 packet that fills b exactly into p, which it
// resets first. It is as strict as heplify-server: the magic must be "HEP3",
// the length field must equal len(b), every chunk must lie inside the packet
// with a length of at least its 6-byte header, and fixed-size chunks must
// have exactly their size. It also checks that the family chunk agrees with
// the address chunks. Chunks of other vendors and unknown generic chunks are
// skipped. p's byte slices alias b. Decode never panics and does not
// allocate unless it returns an error.
func Decode(b []byte, p *Packet) error {
	*p = Packet{}
	if len(b) < 4 || string(b[:4]) != "HEP3" {
		return ErrBadMagic
	}
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: packet header of %d bytes", ErrTruncated, len(b))
	}
	if n := int(binary.BigEndian.Uint16(b[4:6])); n != len(b) {
		return fmt.Errorf("%w: header says %d bytes, packet has %d", ErrLength, n, len(b))
	}
	var (
		family             uint8
		src, dst           netip.Addr
		srcPort, dstPort   uint16
		v4Chunks, v6Chunks int
	)
	for off := HeaderLen; off < len(b); {
		if len(b)-off < ChunkHeaderLen {
			return fmt.Errorf("%w: %d bytes left at offset %d", ErrTruncated, len(b)-off, off)
		}
		vendor := binary.BigEndian.Uint16(b[off:])
		t := ChunkType(binary.BigEndian.Uint16(b[off+2:]))
		n := int(binary.BigEndian.Uint16(b[off+4:]))
		if n < ChunkHeaderLen {
			return fmt.Errorf("%w: chunk 0x%02x at offset %d has length %d", ErrChunkSize, t, off, n)
		}
		if n > len(b)-off {
			return fmt.Errorf("%w: chunk 0x%02x at offset %d has length %d, %d bytes left", ErrTruncated, t, off, n, len(b)-off)
		}
		v := b[off+ChunkHeaderLen : off+n : off+n]
		off += n
		if vendor != 0 {
			continue
		}
		if want := fixedSize(t); want >= 0 && len(v) != want {
			return fmt.Errorf("%w: chunk 0x%02x has %d value bytes, want %d", ErrChunkSize, t, len(v), want)
		}
		switch t {
		case ChunkFamily:
			family = v[0]
		case ChunkIPProtocol:
			p.IPProtocol = v[0]
		case ChunkIPv4Src:
			src = netip.AddrFrom4([4]byte(v))
			v4Chunks++
		case ChunkIPv4Dst:
			dst = netip.AddrFrom4([4]byte(v))
			v4Chunks++
		case ChunkIPv6Src:
			src = netip.AddrFrom16([16]byte(v))
			v6Chunks++
		case ChunkIPv6Dst:
			dst = netip.AddrFrom16([16]byte(v))
			v6Chunks++
		case ChunkSrcPort:
			srcPort = binary.BigEndian.Uint16(v)
		case ChunkDstPort:
			dstPort = binary.BigEndian.Uint16(v)
		case ChunkTimeSec:
			p.TimeSec = binary.BigEndian.Uint32(v)
		case ChunkTimeUsec:
			p.TimeUsec = binary.BigEndian.Uint32(v)
		case ChunkProtoType:
			p.ProtoType = ProtoType(v[0])
		case ChunkCaptureID:
			p.CaptureID = binary.BigEndian.Uint32(v)
		case ChunkAuthKey:
			p.AuthKey = v
		case ChunkPayload:
			p.Payload = v
		case ChunkCompressedPayload:
			p.CompressedPayload = v
		case ChunkCorrelationID:
			p.CorrelationID = v
		case ChunkVLAN:
			p.VLAN = binary.BigEndian.Uint16(v)
		case ChunkNodeName:
			p.NodeName = v
		}
	}
	if err := checkFamily(family, v4Chunks, v6Chunks); err != nil {
		return err
	}
	p.Src = netip.AddrPortFrom(src, srcPort)
	p.Dst = netip.AddrPortFrom(dst, dstPort)
	return nil
}

func checkFamily(family uint8, v4, v6 int) error {
	if v4 > 0 && v6 > 0 {
		return fmt.Errorf("%w: both IPv4 and IPv6 address chunks", ErrFamily)
	}
	switch family {
	case 0:
		return nil
	case FamilyIPv4:
		if v6 > 0 {
			return fmt.Errorf("%w: family IPv4 with IPv6 address chunks", ErrFamily)
		}
	case FamilyIPv6:
		if v4 > 0 {
			return fmt.Errorf("%w: family IPv6 with IPv4 address chunks", ErrFamily)
		}
	default:
		return fmt.Errorf("%w: family %d", ErrFamily, family)
	}
	return nil
}
