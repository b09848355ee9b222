package hep

import "net/netip"

// Packet is one HEPv3 message: the generic chunks that collectors use.
//
// The encoder derives the IP family from the addresses: two IPv4 addresses
// (IPv4-mapped IPv6 ones included) give an IPv4 packet, anything else two
// IPv6 address chunks. Optional byte chunks (auth key, correlation id, node
// name, compressed payload) and the VLAN are written only when non-empty or
// non-zero. The payload chunk is always written, last.
//
// A decoded Packet's byte slices alias the decoded buffer.
type Packet struct {
	// IPProtocol is chunk 0x02: IPProtoTCP or IPProtoUDP.
	IPProtocol uint8
	// Src and Dst are chunks 0x03/0x04 or 0x05/0x06 and 0x07/0x08.
	Src netip.AddrPort
	Dst netip.AddrPort
	// TimeSec and TimeUsec are chunks 0x09 and 0x0a: when the captured
	// thing happened, in seconds and microseconds since the Unix epoch.
	TimeSec  uint32
	TimeUsec uint32
	// ProtoType is chunk 0x0b: what the payload is.
	ProtoType ProtoType
	// CaptureID is chunk 0x0c: the capture agent id.
	CaptureID uint32
	// AuthKey is chunk 0x0e.
	AuthKey []byte
	// CorrelationID is chunk 0x11: the Call-ID of a SIP message, or what ties
	// a non-SIP payload to other packets.
	CorrelationID []byte
	// VLAN is chunk 0x12; zero means none.
	VLAN uint16
	// NodeName is chunk 0x13: the capture node's name.
	NodeName []byte
	// CompressedPayload is chunk 0x10 (heplify-server ignores it).
	CompressedPayload []byte
	// Payload is chunk 0x0f: the captured bytes.
	Payload []byte
}
