package route

import (
	"net/netip"

	"github.com/sipwire/sipwire/transport"
)

// env is what a route sees of a connection. It is passed by value so that
// evaluating never makes it escape to the heap.
type env struct {
	remote netip.AddrPort
	local  netip.AddrPort
}

// newEnv takes the peer and the local socket (the listener while the local
// address is not known) from info.
func newEnv(info transport.ConnInfo) env {
	e := env{remote: info.Remote, local: info.Local}
	if !e.local.Addr().IsValid() {
		e.local = info.Listener
	}
	return e
}

// side selects which end of the connection a variable reads.
type side uint8

const (
	// sidePeer is $si / $sp.
	sidePeer side = iota
	// sideSocket is $socket_in(ip) / $socket_in(port).
	sideSocket
)

// addr returns the side's address, IPv4-mapped addresses unmapped.
func (s side) addr(e env) netip.Addr {
	if s == sidePeer {
		return e.remote.Addr().Unmap()
	}
	return e.local.Addr().Unmap()
}

// port returns the side's port.
func (s side) port(e env) uint16 {
	if s == sidePeer {
		return e.remote.Port()
	}
	return e.local.Port()
}
