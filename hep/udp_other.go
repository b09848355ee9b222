//go:build !linux

package hep

import "net"

// enableRefusalQueue does nothing: only Linux queues ICMP errors per
// datagram; elsewhere a refusal is seen when a later send returns it.
func enableRefusalQueue(*net.UDPConn) error { return nil }

// readRefusals reports nothing (see enableRefusalQueue).
func readRefusals(*net.UDPConn, []byte, []byte) (n, bytes uint64, first error) { return 0, 0, nil }
