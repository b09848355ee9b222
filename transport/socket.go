package transport

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParseSocket parses a listener or destination in OpenSIPS' socket syntax,
// "tcp:IP[:port]" (IPv6 in brackets: "tcp:[::1]:5070"); the "tcp:" prefix
// may be left out. A socket without a port gets defaultPort (tcp_port).
// Host names are refused: a socket is an address.
func ParseSocket(spec string, defaultPort int) (netip.AddrPort, error) {
	s := strings.TrimSpace(spec)
	if proto, rest, ok := strings.Cut(s, ":"); ok && isProtoName(proto) {
		if !strings.EqualFold(proto, "tcp") {
			return netip.AddrPort{}, fmt.Errorf("%w %q: protocol %q, only tcp is served", ErrBadSocket, spec, proto)
		}
		s = rest
	}
	if s == "" {
		return netip.AddrPort{}, fmt.Errorf("%w %q: no address", ErrBadSocket, spec)
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.AddrPort{}, fmt.Errorf("%w %q: missing ']'", ErrBadSocket, spec)
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return netip.AddrPort{}, fmt.Errorf("%w %q: junk after ']'", ErrBadSocket, spec)
			}
			port = port[1:]
		}
	case strings.Count(s, ":") == 1:
		host, port, _ = strings.Cut(s, ":")
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w %q: %v", ErrBadSocket, spec, err)
	}
	p := defaultPort
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w %q: bad port %q", ErrBadSocket, spec, port)
		}
		p = int(n)
	}
	if p < 0 || p > 65535 {
		return netip.AddrPort{}, fmt.Errorf("%w %q: port %d out of range", ErrBadSocket, spec, p)
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(p)), nil
}

func isProtoName(s string) bool {
	switch strings.ToLower(s) {
	case "tcp", "udp", "tls", "sctp", "ws", "wss", "bin", "hep_tcp", "hep_udp":
		return true
	}
	return false
}
