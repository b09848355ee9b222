package hep

import (
	"net/netip"

	"github.com/sipwire/sipwire/transport"
)

// eventAddrs returns the source and destination of e the way OpenSIPS
// reports them: an accepted connection goes from the peer to us, an
// outbound one from us to the peer.
func eventAddrs(e *transport.Event) (src, dst netip.AddrPort) {
	local, remote := knownAddrs(e.Local, e.Remote, e.Listener)
	if e.Direction == transport.Outbound {
		return local, remote
	}
	return remote, local
}

// messageAddrs returns the source and destination of a traced message: a
// received message goes from the peer to us, a sent one from us to the
// peer.
func messageAddrs(m *transport.TracedMessage) (src, dst netip.AddrPort) {
	local, remote := knownAddrs(m.Conn.Local, m.Conn.Remote, m.Conn.Listener)
	if m.Direction == transport.Sent {
		return local, remote
	}
	return remote, local
}

// knownAddrs fills in what a connection does not know yet, so that every
// packet has both address chunks: a missing local address (a connect still
// in progress, and a message sent while it is: the transport queues it
// behind the connect) becomes the listener, or the unspecified address of
// the peer's family, port 0; a missing remote address the unspecified
// address of the local one's family.
func knownAddrs(local, remote, listener netip.AddrPort) (netip.AddrPort, netip.AddrPort) {
	if !local.Addr().IsValid() && listener.Addr().IsValid() {
		local = listener
	}
	switch {
	case !local.Addr().IsValid() && !remote.Addr().IsValid():
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		remote = local
	case !local.Addr().IsValid():
		local = netip.AddrPortFrom(unspecifiedLike(remote.Addr()), 0)
	case !remote.Addr().IsValid():
		remote = netip.AddrPortFrom(unspecifiedLike(local.Addr()), 0)
	}
	return local, remote
}

func unspecifiedLike(a netip.Addr) netip.Addr {
	if a.Unmap().Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}
