package route

import (
	"net/netip"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// conn builds the ConnInfo of an inbound connection from peer to local
// ("ip:port" each; local may be "").
func conn(t testing.TB, peer, local string) transport.ConnInfo {
	t.Helper()
	info := transport.ConnInfo{ID: 1, Direction: transport.Inbound, Remote: netip.MustParseAddrPort(peer)}
	if local != "" {
		info.Local = netip.MustParseAddrPort(local)
		info.Listener = info.Local
	}
	return info
}

// body parses a route body or fails the test.
func body(t testing.TB, src string) *Route {
	t.Helper()
	r, err := ParseBody("test", src, 0)
	if err != nil {
		t.Fatalf("ParseBody(%q): %v", src, err)
	}
	return r
}
