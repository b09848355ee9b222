package pcap

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// A record in the arena is its header, then the message, the Call-ID, and
// the zones of the local and remote addresses (empty but for scoped IPv6).
// The header is fixed-size, little-endian and holds no pointers:
//
//	offset size field
//	     0    4 size of the whole record
//	     4    4 message length
//	     8    4 Call-ID length
//	    12    8 time: seconds since the Unix epoch
//	    20    4 time: nanoseconds
//	    24    8 connection id
//	    32    1 direction (bit 7: the connection is outbound)
//	    33   21 local address (see putAddr)
//	    54   21 remote address
const (
	offSize    = 0
	offDataLen = 4
	offCallLen = 8
	offSec     = 12
	offNsec    = 20
	offConn    = 24
	offDir     = 32
	offLocal   = 33
	offRemote  = offLocal + addrSize
	headerSize = offRemote + addrSize
	addrSize   = 1 + 2 + 2 + 16 // family, port, zone length, address
)

// The bits of the direction byte.
const (
	dirMask     = 0x7f
	outboundBit = 0x80
)

// The address families of putAddr.
const (
	familyNone = 0
	familyIPv4 = 4
	familyIPv6 = 6
)

// The limits of the header's length fields.
const (
	maxZoneLen     = math.MaxUint16
	maxRecordBytes = math.MaxUint32
)

// recordSize is what m costs in the arena, and the zones that go with it
// (cut to maxZoneLen; interface names are far shorter).
func recordSize(m *transport.TracedMessage) (size int, localZone, remoteZone string) {
	localZone, remoteZone = zone(m.Conn.Local), zone(m.Conn.Remote)
	return headerSize + len(m.Data) + len(m.CallID) + len(localZone) + len(remoteZone), localZone, remoteZone
}

func zone(ap netip.AddrPort) string {
	z := ap.Addr().Zone()
	return z[:min(len(z), maxZoneLen)]
}

// putHeader writes the header of m, a record of size bytes, to h.
func putHeader(h *[headerSize]byte, m *transport.TracedMessage, size int, localZone, remoteZone string) {
	le := binary.LittleEndian
	le.PutUint32(h[offSize:], uint32(size))
	le.PutUint32(h[offDataLen:], uint32(len(m.Data)))
	le.PutUint32(h[offCallLen:], uint32(len(m.CallID)))
	le.PutUint64(h[offSec:], uint64(m.Time.Unix()))
	le.PutUint32(h[offNsec:], uint32(m.Time.Nanosecond()))
	le.PutUint64(h[offConn:], m.Conn.ID)
	h[offDir] = byte(m.Direction) & dirMask
	if m.Conn.Direction == transport.Outbound {
		h[offDir] |= outboundBit
	}
	putAddr(h[offLocal:offLocal+addrSize], m.Conn.Local, len(localZone))
	putAddr(h[offRemote:offRemote+addrSize], m.Conn.Remote, len(remoteZone))
}

// putAddr writes ap as its family (familyNone, familyIPv4 or familyIPv6),
// port, zone length and 16 address bytes.
func putAddr(b []byte, ap netip.AddrPort, zoneLen int) {
	a := ap.Addr()
	switch {
	case a.Is4():
		b[0] = familyIPv4
	case a.Is6():
		b[0] = familyIPv6
	default:
		b[0] = familyNone
	}
	binary.LittleEndian.PutUint16(b[1:], ap.Port())
	binary.LittleEndian.PutUint16(b[3:], uint16(zoneLen))
	ip := a.As16()
	if !a.IsValid() {
		ip = [16]byte{}
	}
	copy(b[5:], ip[:])
}

// storedSize is the size of the record that starts at rec.
func storedSize(rec []byte) int { return int(binary.LittleEndian.Uint32(rec[offSize:])) }

// storedDataLen is the message length of the record that starts at rec.
func storedDataLen(rec []byte) int { return int(binary.LittleEndian.Uint32(rec[offDataLen:])) }

// storedConn is the connection id of the record that starts at rec.
func storedConn(rec []byte) uint64 { return binary.LittleEndian.Uint64(rec[offConn:]) }

// storedTime is the time of the record that starts at rec.
func storedTime(rec []byte) time.Time {
	le := binary.LittleEndian
	return time.Unix(int64(le.Uint64(rec[offSec:])), int64(le.Uint32(rec[offNsec:])))
}

// decode fills r from rec, a whole record, but for r.Seq and r.CallID; its
// Data aliases rec. It returns the Call-ID's bytes, also aliasing rec.
func decode(rec []byte, r *Record) (callID []byte) {
	le := binary.LittleEndian
	dataLen, callLen := int(le.Uint32(rec[offDataLen:])), int(le.Uint32(rec[offCallLen:]))
	r.Time = storedTime(rec)
	r.ConnID = storedConn(rec)
	r.Direction = transport.MessageDirection(rec[offDir] & dirMask)
	r.Outbound = rec[offDir]&outboundBit != 0
	body := rec[headerSize:]
	r.Data = body[:dataLen:dataLen]
	callID = body[dataLen : dataLen+callLen]
	zones := body[dataLen+callLen:]
	var n int
	r.Local, n = getAddr(rec[offLocal:offLocal+addrSize], zones)
	r.Remote, _ = getAddr(rec[offRemote:offRemote+addrSize], zones[n:])
	return callID
}

// getAddr reads an address written by putAddr whose zone starts zones, and
// returns it with the zone's length.
func getAddr(b, zones []byte) (netip.AddrPort, int) {
	port := binary.LittleEndian.Uint16(b[1:])
	zoneLen := int(binary.LittleEndian.Uint16(b[3:]))
	var a netip.Addr
	switch b[0] {
	case familyIPv4:
		a = netip.AddrFrom4([4]byte(b[5+12 : 5+16]))
	case familyIPv6:
		a = netip.AddrFrom16([16]byte(b[5 : 5+16]))
		if zoneLen > 0 {
			a = a.WithZone(string(zones[:zoneLen]))
		}
	}
	return netip.AddrPortFrom(a, port), zoneLen
}

// storedCallIDLen is the Call-ID length of the record that starts at rec.
func storedCallIDLen(rec []byte) int { return int(binary.LittleEndian.Uint32(rec[offCallLen:])) }
