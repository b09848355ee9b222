package hep

// ChunkType is the type id of a generic (vendor 0) HEPv3 chunk.
type ChunkType uint16

// The generic chunk types this package encodes and decodes.
const (
	ChunkFamily            ChunkType = 0x01 // u8: 2 IPv4, 10 IPv6
	ChunkIPProtocol        ChunkType = 0x02 // u8: 6 TCP, 17 UDP
	ChunkIPv4Src           ChunkType = 0x03 // 4 bytes
	ChunkIPv4Dst           ChunkType = 0x04 // 4 bytes
	ChunkIPv6Src           ChunkType = 0x05 // 16 bytes
	ChunkIPv6Dst           ChunkType = 0x06 // 16 bytes
	ChunkSrcPort           ChunkType = 0x07 // u16
	ChunkDstPort           ChunkType = 0x08 // u16
	ChunkTimeSec           ChunkType = 0x09 // u32
	ChunkTimeUsec          ChunkType = 0x0a // u32
	ChunkProtoType         ChunkType = 0x0b // u8
	ChunkCaptureID         ChunkType = 0x0c // u32
	ChunkAuthKey           ChunkType = 0x0e // bytes
	ChunkPayload           ChunkType = 0x0f // bytes
	ChunkCompressedPayload ChunkType = 0x10 // bytes
	ChunkCorrelationID     ChunkType = 0x11 // bytes
	ChunkVLAN              ChunkType = 0x12 // u16
	ChunkNodeName          ChunkType = 0x13 // bytes
)

// Sizes of the fixed parts of a packet.
const (
	// HeaderLen is the packet header: "HEP3" and the 16-bit total length.
	HeaderLen = 6
	// ChunkHeaderLen is a chunk header: vendor id, type id and length, 16
	// bits each.
	ChunkHeaderLen = 6
	// MaxPacketLen is the largest packet the 16-bit length field allows.
	MaxPacketLen = 0xffff
	// MaxDatagramLen is the largest HEP packet one UDP/IPv4 datagram carries.
	MaxDatagramLen = 65507
)

// Values of the IP family chunk.
const (
	FamilyIPv4 = 2
	FamilyIPv6 = 10
)

// Values of the IP protocol chunk.
const (
	IPProtoTCP = 6
	IPProtoUDP = 17
)

// ProtoType is the payload type (chunk 0x0b).
type ProtoType uint8

// Payload types used by collectors.
const (
	ProtoSIP  ProtoType = 1
	ProtoRTCP ProtoType = 5
	ProtoDNS  ProtoType = 53
	// ProtoNet is OpenSIPS' type for transport events ("net"); it is in no
	// HEP specification and heplify-server files it as QoS.
	ProtoNet ProtoType = 0x59
	// ProtoLog is the de facto log type that Homer shows in a call's "Logs"
	// tab when the correlation id is the call's Call-ID.
	ProtoLog ProtoType = 100
)

// fixedSize returns the exact value size of a fixed-size generic chunk, or
// -1 for a variable-size or unknown one.
func fixedSize(t ChunkType) int {
	switch t {
	case ChunkFamily, ChunkIPProtocol, ChunkProtoType:
		return 1
	case ChunkSrcPort, ChunkDstPort, ChunkVLAN:
		return 2
	case ChunkIPv4Src, ChunkIPv4Dst, ChunkTimeSec, ChunkTimeUsec, ChunkCaptureID:
		return 4
	case ChunkIPv6Src, ChunkIPv6Dst:
		return 16
	}
	return -1
}
