package forward

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is the port of a SIP URI that names none (tcp_port).
const DefaultPort = 5060

// resolveTimeout bounds New's look-up of an upstream host name.
const resolveTimeout = 5 * time.Second

// Config configures a Forwarder. The zero value forwards nothing: it
// answers OPTIONS with 200 and other requests with 501.
type Config struct {
	// Upstream is the SIP server that clients' requests go to, a sip: URI
	// over TCP ("sip:127.0.0.1:5070;transport=tcp"; a transport parameter,
	// when present, must be tcp). A host name is resolved once, by New. No
	// port means DefaultPort. Empty turns forwarding off.
	Upstream string

	// RecordRoute adds sipwire as Record-Route (with ;lr) to INVITE,
	// SUBSCRIBE, REFER and NOTIFY, so that in-dialog requests pass through
	// it (RFC 3261 §16.6 step 4).
	RecordRoute bool

	// Advertise is the address sipwire puts in its Via and Record-Route and
	// recognises as itself in Route and Request-URI. The zero value means
	// the transport's first listener with a specific address, taken by
	// Attach.
	Advertise netip.AddrPort

	// RelayExtensions are the option-tags a request's Proxy-Require may name
	// and still be relayed: extensions the next hops support (an IMS
	// P-CSCF behind sipwire: sec-agree). A Proxy-Require naming any other
	// tag is answered with 420 Bad Extension (RFC 3261 §16.3 step 5).
	RelayExtensions []string

	// DefaultPort is tcp_port: the port of a URI or Via that names none.
	// Zero means 5060.
	DefaultPort int
}

func (c *Config) defaultPort() uint16 {
	if c.DefaultPort <= 0 || c.DefaultPort > 65535 {
		return DefaultPort
	}
	return uint16(c.DefaultPort)
}

// parseUpstream turns Config.Upstream into an address, resolving a host
// name.
func parseUpstream(uri string, defPort uint16) (netip.AddrPort, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(uri), ":")
	if !ok || !strings.EqualFold(scheme, "sip") {
		return netip.AddrPort{}, fmt.Errorf("%w %q: not a sip: URI", ErrBadUpstream, uri)
	}
	rest, _, _ = strings.Cut(rest, "?")
	hostport, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		hostport = hostport[at+1:]
	}
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "transport") && !strings.EqualFold(strings.TrimSpace(v), "tcp") {
			return netip.AddrPort{}, fmt.Errorf("%w %q: transport %q, sipwire forwards over tcp", ErrBadUpstream, uri, v)
		}
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return netip.AddrPort{}, fmt.Errorf("%w %q: missing ']'", ErrBadUpstream, uri)
		}
		host, port = hostport[1:end], strings.TrimPrefix(hostport[end+1:], ":")
	} else if h, p, ok := strings.Cut(hostport, ":"); ok {
		host, port = h, p
	}
	p := defPort
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return netip.AddrPort{}, fmt.Errorf("%w %q: bad port %q", ErrBadUpstream, uri, port)
		}
		p = uint16(n)
	}
	if host == "" {
		return netip.AddrPort{}, fmt.Errorf("%w %q: no host", ErrBadUpstream, uri)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(addr.Unmap(), p), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w %q: %w", ErrBadUpstream, uri, err)
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w %q: %s has no address", ErrBadUpstream, uri, host)
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), p), nil
}
