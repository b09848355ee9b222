//go:build !linux

package transport

import (
	"net"
	"net/netip"
)

// rawListener: connections are accepted raw on Linux only.
type rawListener struct{ *net.TCPListener }

func rawListen(*net.TCPListener) *rawListener { return nil }

func (*rawListener) accept() (int, netip.AddrPort, netip.AddrPort, error) {
	return -1, netip.AddrPort{}, netip.AddrPort{}, net.ErrClosed
}

func closeRefused(int) {}
