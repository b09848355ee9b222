package forward

import "net/netip"

// parseAddr parses an IP address literal (IPv6 without brackets); IPv4
// costs no allocation.
func parseAddr(b []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	if indexIn(b, 0, len(b), ':') < 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseIPv4 parses a dotted-quad IPv4 address.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, digits, val := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && val == 0 {
				return netip.Addr{}, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && field < 3:
			ip[field] = byte(val)
			field++
			digits, val = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(val)
	return netip.AddrFrom4(ip), true
}

// addrPort makes the address of a host and an optional port.
func addrPort(b []byte, host span, port, defPort uint16) (netip.AddrPort, bool) {
	a, ok := parseAddr(host.of(b))
	if !ok {
		return netip.AddrPort{}, false
	}
	if port == 0 {
		port = defPort
	}
	return netip.AddrPortFrom(a, port), true
}
