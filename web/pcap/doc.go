// Package pcap keeps the most recent traced SIP messages in a ring bounded by
// bytes and writes them as a pcap file that Wireshark and tshark open and
// decode as SIP over TCP.
//
// Ring is a transport.MessageTap: the transport hands it every traced message
// and it keeps a copy, in one circular byte arena (arena.go) where each
// message follows a fixed-size header (header.go), so that keeping a message
// allocates nothing once the arena has grown to the ring's bound and the
// garbage collector has no pointers to scan. Snapshot copies the records
// out.
//
// Write synthesizes the link, network and transport headers around each
// message: Ethernet, IPv4 or IPv6, and TCP with correct checksums and
// per-direction sequence and acknowledgement numbers, splitting messages
// longer than one MSS (1460 bytes) into several segments.
package pcap
