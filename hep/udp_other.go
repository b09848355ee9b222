//go:build !linux

package hep

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// newBatchWriter is x/net's WriteBatch: one write per message outside
// Linux.
func newBatchWriter(c *net.UDPConn) (batchWriter, error) {
	if isIPv6(c) {
		return ipv6.NewPacketConn(c), nil
	}
	return ipv4.NewPacketConn(c), nil
}

// enableRefusalQueue does nothing: only Linux queues ICMP errors per
// datagram; elsewhere a refusal is seen when a later send returns it.
func enableRefusalQueue(*net.UDPConn) error { return nil }

// readRefusals reports nothing (see enableRefusalQueue).
func readRefusals(*net.UDPConn, []byte, []byte, func([]byte) (uint64, uint64)) (n, bytes uint64, first error) {
	return 0, 0, nil
}

// segmentControlLen is 0: UDP generic segmentation offload is Linux's.
func segmentControlLen() int { return 0 }

// putSegmentControl is never called outside Linux (maxSegment is 0).
func putSegmentControl(b []byte, _ int) []byte { return b[:0] }

// maxSegment is 0 outside Linux: no trains (and nothing to report).
func maxSegment(*net.UDPConn) (int, error) { return 0, nil }
