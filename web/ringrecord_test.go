package web

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/sipwire/sipwire/transport"
)

// The ring keeps compact records and gives back exactly the events it was
// given, as the API shows them: IPv4, IPv6, a zoned IPv6 address, no
// address.
func TestRingRecordsRoundTrip(t *testing.T) {
	if n := unsafe.Sizeof(ringRecord{}); n > 104 {
		t.Errorf("a ring record is %d bytes, want at most 104", n)
	}
	r := NewEventRing(4)
	at := time.Date(2026, 12, 5, 2, 0, 0, 123456000, time.UTC)
	tcp := &transport.TCPInfo{TotalRetrans: 3}
	in := []transport.Event{
		{Kind: transport.EventAccepted, ConnID: 1, Direction: transport.Inbound, Time: at,
			Local: netip.MustParseAddrPort("127.0.0.1:5060"), Remote: netip.MustParseAddrPort("10.1.2.3:40000"), Listener: netip.MustParseAddrPort("0.0.0.0:5060"), Reason: transport.ReasonAccepted},
		{Kind: transport.EventClosed, Status: transport.StatusFailure, ConnID: 2, Direction: transport.Outbound, Time: at.Add(time.Microsecond),
			Local: netip.MustParseAddrPort("[2001:db8::1]:41000"), Remote: netip.MustParseAddrPort("[fe80::1%eth0]:5060"), Reason: "Timeout on no traffic", TCP: tcp},
		{Kind: transport.EventConnectFailed, Status: transport.StatusFailure, ConnID: 3, Direction: transport.Outbound, Time: at, Remote: netip.MustParseAddrPort("[::ffff:10.0.0.9]:5060")},
	}
	for i := range in {
		e := &in[i]
		want := Event{Seq: uint64(i + 1), Time: e.Time, Kind: e.Kind.String(), Status: e.Status.String(), ConnID: e.ConnID,
			Direction: e.Direction.String(), Local: addrString(e.Local), Remote: addrString(e.Remote), Listener: addrString(e.Listener),
			Reason: e.Reason, TCP: e.TCP}
		got := r.Add(e)
		if !got.Time.Equal(want.Time) {
			t.Errorf("event %d: time %v, want %v", i, got.Time, want.Time)
		}
		got.Time = want.Time
		if got != want {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	for _, tt := range []struct {
		addr string
		want []uint64
	}{
		{"10.1.2.3:40000", []uint64{1}},
		{"10.1.2.3", []uint64{1}},
		{"[fe80::1%eth0]:5060", []uint64{2}},
		{"fe80::1%eth0", []uint64{2}},
		{"2001:db8::1", []uint64{2}},
		{"10.0.0.9", []uint64{3}},
		{"10.9.9.9", nil},
	} {
		if got := seqs(r.Query(EventQuery{Addr: tt.addr}).Events); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("addr %s: events %v, want %v", tt.addr, got, tt.want)
		}
	}
	if got := seqs(r.Query(EventQuery{MinRetrans: 1}).Events); len(got) != 1 || got[0] != 2 {
		t.Errorf("min retrans 1: events %v, want [2]", got)
	}
}

// The ring keeps maxRingZones zones; an address with one more keeps its
// IP and port, loses its zone, and is counted.
func TestRingZonesBound(t *testing.T) {
	r := NewEventRing(maxRingZones + 1)
	for i := range maxRingZones + 1 {
		ap := netip.AddrPortFrom(netip.MustParseAddr("fe80::1").WithZone(fmt.Sprintf("if%d", i)), 5060)
		got := r.Add(&transport.Event{Kind: transport.EventAccepted, Remote: ap})
		want := ap.String()
		if i == maxRingZones {
			want = "[fe80::1]:5060"
		}
		if got.Remote != want {
			t.Fatalf("zone %d: remote %s, want %s", i, got.Remote, want)
		}
	}
	if n := r.ZonesDropped(); n != 1 {
		t.Fatalf("%d zones dropped, want 1", n)
	}
	// A zone already kept is found again.
	if got := r.Add(&transport.Event{Remote: netip.MustParseAddrPort("[fe80::1%if7]:5060")}); got.Remote != "[fe80::1%if7]:5060" {
		t.Fatalf("remote %s", got.Remote)
	}
	if n := r.ZonesDropped(); n != 1 {
		t.Fatalf("%d zones dropped, want 1", n)
	}
}
