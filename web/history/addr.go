package history

import (
	"fmt"
	"net/netip"
	"strings"
)

// Addresses are stored as an IP blob (4 bytes for IPv4, 16 for IPv6; an
// IPv4-mapped IPv6 address is stored as IPv4) and a port, one pair per side,
// with an index on (ip, ts) per side: "IP" and "IP:port" on either side are
// index lookups; for "IP:port" the port is checked on the IP's rows, newest
// first, until the page is full. IPv6 zones are not kept.

// ipBlob returns the stored form of a's IP, or nil (NULL) when a is unset.
func ipBlob(a netip.AddrPort) []byte {
	if !a.IsValid() {
		return nil
	}
	return a.Addr().Unmap().AsSlice()
}

// portValue returns the stored form of a's port, or nil (NULL) when a is unset.
func portValue(a netip.AddrPort) any {
	if !a.IsValid() {
		return nil
	}
	return int64(a.Port())
}

// addrString is the inverse of ipBlob and portValue, as "ip:port" ("" when
// unset).
func addrString(ip []byte, port sqlNullInt) string {
	a, ok := netip.AddrFromSlice(ip)
	if !ok || !port.Valid {
		return ""
	}
	return netip.AddrPortFrom(a, uint16(port.Int64)).String()
}

// addrFilter is a parsed Filter.Addr.
type addrFilter struct {
	ip      []byte
	port    int64
	hasPort bool
}

// parseAddrFilter accepts an IP ("10.1.2.3", "::1", "[::1]") or an IP:port
// ("10.1.2.3:5060", "[::1]:5060").
func parseAddrFilter(s string) (addrFilter, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return addrFilter{ip: ap.Addr().Unmap().WithZone("").AsSlice(), port: int64(ap.Port()), hasPort: true}, nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return addrFilter{}, fmt.Errorf("%w: address %q is neither IP nor IP:port", ErrBadFilter, s)
	}
	return addrFilter{ip: a.Unmap().WithZone("").AsSlice()}, nil
}
