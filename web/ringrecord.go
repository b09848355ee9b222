package web

import (
	"net/netip"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// ringRecord is an event as the ring keeps it: the transport's fields,
// compact, no string made. A query formats the events it returns (names,
// addresses). 104 bytes, where an Event is 168 bytes plus its three
// address strings (48 bytes more on the heap): the ring's default 10,000
// events are 1.0 MiB resident once filled, not 2.1 MiB.
type ringRecord struct {
	unixNano int64
	connID   uint64
	reason   string
	tcp      *transport.TCPInfo
	local    ringAddr
	remote   ringAddr
	listener ringAddr
	kind     transport.EventKind
	status   transport.Status
	dir      transport.Direction
}

// ringAddr is a netip.AddrPort in 20 bytes (32 as netip.AddrPort): the IP
// as 16 bytes, the port, the family, and an IPv6 zone as an index into the
// ring's zones.
type ringAddr struct {
	ip   [16]byte
	port uint16
	fam  uint8 // 0: no address, 4: IPv4, 6: IPv6
	zone uint8 // 0: none; else zones[zone-1]
}

// maxRingZones bounds the IPv6 zones (interface names) the ring keeps for
// link-local addresses; an address with a further zone is kept without it
// and counted (RingStats.ZonesDropped). A host has that many interfaces
// at most in practice.
const maxRingZones = 255

// record makes the ring's record of e, interning address zones in r.
// The caller holds r.mu.
func (r *EventRing) record(e *transport.Event) ringRecord {
	return ringRecord{
		unixNano: e.Time.UnixNano(),
		connID:   e.ConnID,
		reason:   e.Reason,
		tcp:      e.TCP,
		local:    r.addr(e.Local),
		remote:   r.addr(e.Remote),
		listener: r.addr(e.Listener),
		kind:     e.Kind,
		status:   e.Status,
		dir:      e.Direction,
	}
}

// addr compacts ap. The caller holds r.mu.
func (r *EventRing) addr(ap netip.AddrPort) ringAddr {
	if !ap.IsValid() {
		return ringAddr{}
	}
	ip := ap.Addr()
	a := ringAddr{ip: ip.As16(), port: ap.Port(), fam: 6}
	if ip.Is4() {
		a.fam = 4
	}
	if z := ip.Zone(); z != "" {
		a.zone = r.zoneIndex(z)
	}
	return a
}

// zoneIndex returns the index of zone in r.zones plus one, adding it when
// there is room; 0 (and a count) when there is not. The caller holds r.mu.
func (r *EventRing) zoneIndex(zone string) uint8 {
	for i, z := range r.zones {
		if z == zone {
			return uint8(i + 1)
		}
	}
	if len(r.zones) == maxRingZones {
		r.zonesDropped++
		return 0
	}
	r.zones = append(r.zones, zone)
	return uint8(len(r.zones))
}

// addrPort is a's netip.AddrPort. The caller holds r.mu.
func (r *EventRing) addrPort(a ringAddr) netip.AddrPort {
	var ip netip.Addr
	switch a.fam {
	case 0:
		return netip.AddrPort{}
	case 4:
		ip = netip.AddrFrom16(a.ip).Unmap()
	default:
		ip = netip.AddrFrom16(a.ip)
		if a.zone != 0 {
			ip = ip.WithZone(r.zones[a.zone-1])
		}
	}
	return netip.AddrPortFrom(ip, a.port)
}

// event formats rec, numbered seq, as the API shows it. The caller holds
// r.mu.
func (r *EventRing) event(rec *ringRecord, seq uint64) Event {
	return Event{
		Seq:       seq,
		Time:      time.Unix(0, rec.unixNano),
		Kind:      rec.kind.String(),
		Status:    rec.status.String(),
		ConnID:    rec.connID,
		Direction: rec.dir.String(),
		Local:     addrString(r.addrPort(rec.local)),
		Remote:    addrString(r.addrPort(rec.remote)),
		Listener:  addrString(r.addrPort(rec.listener)),
		Reason:    rec.reason,
		TCP:       rec.tcp,
	}
}
