package forward

import (
	"net/netip"

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
	data := m.Data
	hb := data[:m.HeaderLen]
	var h headers
	scanHeaders(hb, &h)
	var v via
	if !h.via.present() || !parseVia(hb, h.via.vlo, h.via.vhi, &v) {
		f.c.respMalformed.Add(1)
		return
	}
	br := v.branch.of(hb)
	if !a.names(hb, v.host, v.port, f.defPort) || len(br) < len(branchPrefix) || string(br[:len(branchPrefix)]) != branchPrefix {
		f.c.respNotOurs.Add(1)
		return
	}
	var cut span
	var next via
	hasNext := false
	if v.next != 0 {
		cut = span{h.via.vlo, v.next}
		hasNext = parseVia(hb, v.next, h.via.vhi, &next)
	} else {
		cut = span{h.via.line, h.via.end}
		hasNext = h.via2.present() && parseVia(hb, h.via2.vlo, h.via2.vhi, &next)
	}
	if !hasNext {
		f.c.respNoRoute.Add(1)
		return
	}
	buf := f.getBuf()
	out := append((*buf)[:0], data[:cut.lo]...)
	out = append(out, data[cut.hi:]...)
	f.sendResponse(a, hb, &v, &next, out)
	*buf = out
	f.putBuf(buf)
}

// sendResponse sends a response over the connection named by our Via's
// cid; when it is gone, over the client's connection from received:rport,
// or else to received (or the sent-by host) and the sent-by port
// (RFC 3261 §18.2.2).
func (f *Forwarder) sendResponse(a *attachment, b []byte, v, next *via, out []byte) {
	if v.hasCID {
		if c := a.t.Conn(v.cid); c != nil && c.Write(out) == nil {
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
			if c := a.t.ConnByRemote(netip.AddrPortFrom(ip, p)); c != nil && c.Write(out) == nil {
				f.c.responses.Add(1)
				return
			}
		}
	}
	port := next.port
	if port == 0 {
		port = f.defPort
	}
	if err := a.t.Send(netip.AddrPortFrom(ip, port), out, f.respFailed); err != nil {
		f.c.sendErrors.Add(1)
		f.c.respSendFailed.Add(1)
		return
	}
	f.c.responses.Add(1)
}
