package hep

import (
	"net/netip"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// TestMessageSentWhileConnecting: the transport taps a message written on
// an outbound connection whose connect is still in progress (it queues the
// message behind the connect) with no local address yet. The message must be
// sent, from 0.0.0.0:0, not dropped as too_large (an encoding failure, which
// is how the missing address used to be counted).
func TestMessageSentWhileConnecting(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, Format: FormatHomer})
	m := tapped("connecting@h", "c", 0)
	m.Conn = transport.ConnInfo{ID: 7, Direction: transport.Outbound, Remote: evPeer}
	m.Direction = transport.Sent
	tr.TapMessage(m)
	p := col.next(t)
	if want := netip.MustParseAddrPort("0.0.0.0:0"); p.ProtoType != ProtoSIP || p.Src != want || p.Dst != evPeer {
		t.Fatalf("got %v from %v to %v, want a SIP packet from %v to %v", p.ProtoType, p.Src, p.Dst, want, evPeer)
	}
	waitFor(t, "the sent counter", func() bool { return tr.Stats()[0].PacketsSent == 1 })
	if st, c := tr.Stats()[0], tr.Counters(); st.Drops.Total() != 0 || c.EncodeFailures != 0 {
		t.Errorf("stats %+v, counters %+v: want no drop", st, c)
	}
}

func TestKnownAddrs(t *testing.T) {
	v6 := netip.MustParseAddrPort("[2001:db8::1]:5060")
	for _, c := range []struct {
		name                    string
		local, remote, listener netip.AddrPort
		wantLocal, wantRemote   string
	}{
		{"both known", evLocal, evPeer, netip.AddrPort{}, "127.0.0.1:5060", "127.0.0.2:40001"},
		{"local from the listener", netip.AddrPort{}, evPeer, evLocal, "127.0.0.1:5060", "127.0.0.2:40001"},
		{"local unknown, IPv4 peer", netip.AddrPort{}, evPeer, netip.AddrPort{}, "0.0.0.0:0", "127.0.0.2:40001"},
		{"local unknown, IPv6 peer", netip.AddrPort{}, v6, netip.AddrPort{}, "[::]:0", "[2001:db8::1]:5060"},
		{"remote unknown", evLocal, netip.AddrPort{}, netip.AddrPort{}, "127.0.0.1:5060", "0.0.0.0:0"},
		{"nothing known", netip.AddrPort{}, netip.AddrPort{}, netip.AddrPort{}, "0.0.0.0:0", "0.0.0.0:0"},
	} {
		l, r := knownAddrs(c.local, c.remote, c.listener)
		if l.String() != c.wantLocal || r.String() != c.wantRemote {
			t.Errorf("%s: got %v %v, want %s %s", c.name, l, r, c.wantLocal, c.wantRemote)
		}
	}
}
