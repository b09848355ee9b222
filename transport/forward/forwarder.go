package forward

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/sipwire/sipwire/transport"
)

// Buffer sizes of the pool: a buffer starts at bufSize and is kept for
// reuse up to maxPooledBuf.
const (
	bufSize      = 4096
	maxPooledBuf = 128 << 10
)

// Forwarder is a transport.Handler relaying SIP statelessly between clients
// and one upstream (see the package documentation). Build it with New,
// install it as the transport's handler, and Attach it to the transport
// once it listens. Its methods are safe for concurrent use.
type Forwarder struct {
	cfg      Config
	defPort  uint16
	upstream netip.AddrPort // invalid when forwarding is off
	upHost   []byte         // the upstream's IP as text

	att  atomic.Pointer[attachment]
	bufs sync.Pool // *[]byte
	c    counters

	respFailed func(error) // notify of a response sent over a new connection
}

// attachment is what Attach learns: the transport and the address sipwire
// advertises, with the texts derived from it.
type attachment struct {
	t       *transport.Transport
	adv     netip.AddrPort
	advHost []byte // the advertised IP as text, no brackets
	viaHead []byte // "Via: SIP/2.0/TCP host:port;branch=z9hG4bKsw"
	rrHead  []byte // "Record-Route: <sip:host:port;transport=tcp;lr"
}

// New returns a Forwarder for cfg. With no Config.Upstream it forwards
// nothing (see the package documentation). It resolves an upstream host
// name once.
func New(cfg Config) (*Forwarder, error) {
	cfg.RelayExtensions = slices.Clone(cfg.RelayExtensions)
	f := &Forwarder{cfg: cfg, defPort: cfg.defaultPort()}
	if cfg.Upstream != "" {
		up, err := parseUpstream(cfg.Upstream, f.defPort)
		if err != nil {
			return nil, err
		}
		f.upstream = up
		f.upHost = up.Addr().AppendTo(nil)
		if cfg.Advertise.IsValid() && unmapped(cfg.Advertise) == up {
			return nil, fmt.Errorf("%w: %s", ErrLoop, up)
		}
	}
	f.bufs.New = func() any {
		b := make([]byte, 0, bufSize)
		return &b
	}
	f.respFailed = func(error) {
		f.c.sendErrors.Add(1)
		f.c.respSendFailed.Add(1)
	}
	return f, nil
}

// Attach gives the Forwarder the transport it sends with. Call it once,
// after the transport's Listen when Config.Advertise is not set (the first
// listener with a specific address is advertised then). Until then,
// requests are answered with 503 and responses dropped.
func (f *Forwarder) Attach(t *transport.Transport) error {
	adv := f.cfg.Advertise
	if !adv.IsValid() {
		adv = f.advertiseFrom(t.Listeners())
	}
	if !adv.IsValid() || adv.Addr().IsUnspecified() || adv.Port() == 0 {
		return ErrNoAdvertise
	}
	adv = unmapped(adv)
	if adv == f.upstream {
		return fmt.Errorf("%w: %s", ErrLoop, adv)
	}
	a := &attachment{t: t, adv: adv, advHost: adv.Addr().AppendTo(nil)}
	host := string(a.advHost)
	if adv.Addr().Is6() {
		host = "[" + host + "]"
	}
	hostport := host + ":" + strconv.Itoa(int(adv.Port()))
	a.viaHead = []byte("Via: SIP/2.0/TCP " + hostport + ";branch=" + branchPrefix)
	a.rrHead = []byte("Record-Route: <sip:" + hostport + ";transport=tcp;lr")
	if !f.att.CompareAndSwap(nil, a) {
		return ErrAttached
	}
	return nil
}

// advertiseFrom picks the address to advertise among the listeners: the
// first with a specific address; else, for a wildcard listener (tcp:0.0.0.0,
// as in a container), the local address the kernel would use to reach the
// upstream (found by connecting a UDP socket, which sends nothing), or the
// loopback address of the listener's family when there is no upstream.
func (f *Forwarder) advertiseFrom(listeners []netip.AddrPort) netip.AddrPort {
	for _, l := range listeners {
		if !l.Addr().IsUnspecified() {
			return l
		}
	}
	if len(listeners) == 0 {
		return netip.AddrPort{}
	}
	l := listeners[0]
	if f.upstream.IsValid() {
		if c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(f.upstream)); err == nil {
			local := c.LocalAddr().(*net.UDPAddr).AddrPort()
			c.Close()
			return netip.AddrPortFrom(local.Addr().Unmap(), l.Port())
		}
	}
	if l.Addr().Is4() {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), l.Port())
	}
	return netip.AddrPortFrom(netip.IPv6Loopback(), l.Port())
}

// ServeSIP handles one message read by the transport.
func (f *Forwarder) ServeSIP(m *transport.Message) {
	if m.IsRequest {
		f.request(m)
		return
	}
	f.response(m)
}

// names reports whether host[:port] of the message b names the advertised
// address (no port meaning the default port).
func (a *attachment) names(b []byte, host span, port, defPort uint16) bool {
	if port == 0 {
		port = defPort
	}
	if port != a.adv.Port() {
		return false
	}
	h := host.of(b)
	if equalFoldBytes(h, a.advHost) {
		return true
	}
	if indexIn(h, 0, len(h), ':') < 0 {
		return false
	}
	ip, ok := parseAddr(h)
	return ok && ip == a.adv.Addr()
}

func (f *Forwarder) getBuf() *[]byte { return f.bufs.Get().(*[]byte) }

func (f *Forwarder) putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	f.bufs.Put(b)
}

func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
