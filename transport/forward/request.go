package forward

import (
	"net/netip"
	"sync/atomic"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// request forwards a request statelessly, or answers it.
func (f *Forwarder) request(m *transport.Message) {
	if !f.upstream.IsValid() {
		f.local(m)
		return
	}
	a := f.att.Load()
	if a == nil {
		f.reply(m, 503, "Service Unavailable", &f.c.unavailable)
		return
	}
	buf := f.getBuf()
	var hop nextHop
	out := f.rewrite(m, a, (*buf)[:0], &hop)
	switch {
	case hop.drop != nil:
		hop.drop.Add(1)
	case hop.badExtension:
		f.replyBadExtension(m)
	case hop.code != 0:
		f.reply(m, hop.code, hop.reason, hop.kind)
	case len(out) > 0:
		f.sendRequest(m, a, &hop, out)
	}
	*buf = out
	f.putBuf(buf)
}

// nextHop is where a request goes: over conn when set, else to dst; or,
// when code is set, the local reply that answers it instead; or, when drop
// is set, nowhere (drop counts it).
type nextHop struct {
	conn     *transport.Conn
	dst      netip.AddrPort
	toClient bool // from the upstream toward a client

	code   int
	reason string
	kind   *atomic.Uint64 // the counter of the reply
	// badExtension: the reply is the 420 to a Proxy-Require, with its
	// Unsupported header.
	badExtension bool

	drop *atomic.Uint64
}

func (h *nextHop) answer(code int, reason string, kind *atomic.Uint64) {
	h.code, h.reason, h.kind = code, reason, kind
}

// reject counts the defect d and answers it.
func (f *Forwarder) reject(hop *nextHop, d defect) {
	f.c.rejections[d].Add(1)
	code, reason := d.status()
	hop.answer(code, reason, &f.c.rejected)
}

// req is what the forwarder reads of a request, as offsets into its header
// block hb.
type req struct {
	m     *transport.Message
	hb    []byte
	h     headers
	v     via    // the top Via
	uri   span   // the Request-URI
	ru    sipURI // the Request-URI, when ruOK
	ruOK  bool
	mf    uint64 // Max-Forwards, when hasMF
	hasMF bool

	popped    sipURI // our top Route entry, removed, when hasPopped
	hasPopped bool
	rest      sipURI // the top Route entry after ours, when hasRest
	hasRest   bool
	ed        edits
}

// rewrite decides what becomes of the request m: it appends the forwarded
// request to out and sets hop to its next hop, or sets hop to a local
// reply.
func (f *Forwarder) rewrite(m *transport.Message, a *attachment, out []byte, hop *nextHop) []byte {
	var r req
	if !f.read(m, a, &r, hop) {
		return out
	}
	if !f.route(a, &r, hop) {
		return out
	}
	if r.v.alias && !hop.toClient {
		if d, ok := addrPort(r.hb, r.v.host, r.v.port, f.defPort); ok {
			a.t.AddAlias(m.Conn.ID(), d)
		}
	}
	return f.edit(a, &r, hop, out)
}

// read parses and checks the request and handles what needs no next hop:
// the ACK of a local reply, a malformed request (§16.3 step 1),
// Max-Forwards (step 3), our Route entry (§16.4), OPTIONS to sipwire
// itself. It returns false when hop holds the answer.
func (f *Forwarder) read(m *transport.Message, a *attachment, r *req, hop *nextHop) bool {
	r.m = m
	r.hb = m.Data[:m.HeaderLen]
	hb := r.hb
	scanHeaders(hb, &r.h)
	if equalFold(m.Method, "ack") && r.h.to.present() &&
		framing.IsLocalTag(r.h.to.value(hb), r.h.from.value(hb), r.h.callID.value(hb)) {
		hop.drop = &f.c.ackLocal
		return false
	}
	if d := check(r); d != defectNone {
		f.reject(hop, d)
		return false
	}
	isOPTIONS := equalFold(m.Method, "options")
	if r.hasMF && r.mf == 0 {
		if isOPTIONS {
			hop.answer(200, "OK", &f.c.options)
		} else {
			hop.answer(483, "Too Many Hops", &f.c.hops)
		}
		return false
	}
	if !f.readRoute(a, r) {
		f.reject(hop, defectBadRoute)
		return false
	}
	if r.hasRest && a.names(hb, r.rest.host, r.rest.port, f.defPort) {
		f.reject(hop, defectLoop)
		return false
	}
	if isOPTIONS && !r.hasRest && r.ruOK && !r.ru.hasUser && a.names(hb, r.ru.host, r.ru.port, f.defPort) {
		hop.answer(200, "OK", &f.c.options)
		return false
	}
	// §16.3 step 5: a proxy answers 420 to a Proxy-Require naming an
	// extension it does not support; sipwire supports those its next hops
	// do (Config.RelayExtensions). An ACK cannot be answered: it is
	// relayed. Only a request with a Proxy-Require pays for the check.
	if r.h.proxyRequire.present() && !equalFold(m.Method, "ack") &&
		len(framing.AppendBadExtension(nil, &m.Frame, f.cfg.RelayExtensions)) > 0 {
		hop.badExtension = true
		return false
	}
	return true
}

// readRoute removes the top Route entry when it names us (loose routing,
// §16.4) and finds the entry after it; false means a malformed Route.
func (f *Forwarder) readRoute(a *attachment, r *req) bool {
	h, hb := &r.h, r.hb
	if !h.route.present() {
		return true
	}
	u, next, ok := firstRoute(hb, h.route.vlo, h.route.vhi)
	if !ok || !parseSIPURI(hb, u.lo, u.hi, &r.popped) {
		return false
	}
	if !a.names(hb, r.popped.host, r.popped.port, f.defPort) {
		r.rest, r.hasRest = r.popped, true
		return true
	}
	r.hasPopped = true
	if next != 0 {
		r.ed.add(h.route.vlo, next-h.route.vlo, editDelete)
		r.hasRest = routeURI(hb, next, h.route.vhi, &r.rest)
	} else {
		r.ed.add(h.route.line, h.route.end-h.route.line, editDelete)
		r.hasRest = h.route2.present() && routeURI(hb, h.route2.vlo, h.route2.vhi, &r.rest)
	}
	return true
}

// routeURI parses the URI of the first entry of the Route value b[lo:hi].
func routeURI(b []byte, lo, hi int, u *sipURI) bool {
	s, _, ok := firstRoute(b, lo, hi)
	return ok && parseSIPURI(b, s.lo, s.hi, u)
}

// sendRequest sends a forwarded request over hop.conn, or an open
// connection to hop.dst, or else through Send (which may connect); a
// request that cannot be sent is answered with 503.
func (f *Forwarder) sendRequest(m *transport.Message, a *attachment, hop *nextHop, out []byte) {
	conn := hop.conn
	if conn == nil {
		if c := a.t.ConnByRemote(hop.dst); c != nil && c.State() == transport.StateOpen {
			conn = c
		}
	}
	if conn != nil {
		if m.Forward(conn, out, m.CallID) == nil {
			f.c.requests.Add(1)
			return
		}
		if !hop.dst.IsValid() {
			f.c.sendErrors.Add(1)
			f.reply(m, 503, "Service Unavailable", &f.c.unavailable)
			return
		}
	}
	if err := a.t.SendMessage(hop.dst, out, m.CallID, f.laterFailure(m)); err != nil {
		f.c.sendErrors.Add(1)
		f.reply(m, 503, "Service Unavailable", &f.c.unavailable)
		return
	}
	f.c.requests.Add(1)
}

// ackFailed counts an ACK whose connect failed in the background.
func (f *Forwarder) ackFailed(error) {
	f.c.sendErrors.Add(1)
	f.c.reqACK.Add(1)
}
