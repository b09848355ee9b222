package forward

import (
	"net/netip"
	"sync/atomic"

	"github.com/sipwire/sipwire/transport"
)

// response removes sipwire's Via from a response and sends it on (§16.11).
func (f *Forwarder) response(m *transport.Message) {
	if !f.upstream.IsValid() {
		f.local(m)
		return
	}
	a := f.att.Load()
	if a == nil {
		f.c.respOff.Add(1)
		return
	}
	buf := f.getBuf()
	var v, next via
	out, drop := f.strip(m.Data, m.HeaderLen, a, (*buf)[:0], &v, &next)
	if drop != nil {
		drop.Add(1)
	} else {
		f.sendResponse(m, a, &v, &next, out)
	}
	*buf = out
	f.putBuf(buf)
}

// strip appends to out the response data (header block data[:hlen])
// without its top via-parm, which must be ours, and parses that via-parm
// into v and the next one into next. When the response cannot be
// forwarded it returns the counter of the reason instead.
func (f *Forwarder) strip(data []byte, hlen int, a *attachment, out []byte, v, next *via) ([]byte, *atomic.Uint64) {
	hb := data[:hlen]
	var h headers
	scanHeaders(hb, &h)
	if !h.via.present() || !parseVia(hb, h.via.vlo, h.via.vhi, v) {
		return out, &f.c.respMalformed
	}
	br := v.branch.of(hb)
	if !a.names(hb, v.host, v.port, f.defPort) || len(br) < len(branchPrefix) || string(br[:len(branchPrefix)]) != branchPrefix {
		return out, &f.c.respNotOurs
	}
	var cut span
	hasNext := false
	if v.next != 0 {
		cut = span{h.via.vlo, v.next}
		hasNext = parseVia(hb, v.next, h.via.vhi, next)
	} else {
		cut = span{h.via.line, h.via.end}
		hasNext = h.via2.present() && parseVia(hb, h.via2.vlo, h.via2.vhi, next)
	}
	if !hasNext {
		return out, &f.c.respNoRoute
	}
	out = append(out, data[:cut.lo]...)
	return append(out, data[cut.hi:]...), nil
}

// sendResponse sends a response over the connection named by our Via's
// cid; when it is gone, over the client's connection from received:rport,
// or else to received (or the sent-by host) and the sent-by port
// (RFC 3261 §18.2.2). Over an open connection it goes with the other
// messages relayed from the same read (Message.Forward).
func (f *Forwarder) sendResponse(m *transport.Message, a *attachment, v, next *via, out []byte) {
	b, callID := m.Data[:m.HeaderLen], m.CallID
	if v.hasCID {
		if c := a.t.Conn(v.cid); c != nil && m.Forward(c, out, callID) == nil {
			f.c.responses.Add(1)
			return
		}
	}
	host := next.host
	if next.hasReceived && !next.received.empty() {
		host = next.received
		if b[host.lo] == '[' && b[host.hi-1] == ']' && host.hi-host.lo > 2 {
			host = span{host.lo + 1, host.hi - 1}
		}
	}
	ip, ok := parseAddr(host.of(b))
	if !ok {
		f.c.respNoRoute.Add(1)
		return
	}
	if next.hasRport && !next.rport.empty() {
		if p, q, ok := parsePort(b, next.rport.lo, next.rport.hi); ok && q == next.rport.hi {
			if c := a.t.ConnByRemote(netip.AddrPortFrom(ip, p)); c != nil && m.Forward(c, out, callID) == nil {
				f.c.responses.Add(1)
				return
			}
		}
	}
	port := next.port
	if port == 0 {
		port = f.defPort
	}
	if err := a.t.SendMessage(netip.AddrPortFrom(ip, port), out, callID, f.respFailed); err != nil {
		f.c.sendErrors.Add(1)
		f.c.respSendFailed.Add(1)
		return
	}
	f.c.responses.Add(1)
}
