package forward

import (
	"net/netip"
	"sync/atomic"

	"github.com/sipwire/sipwire/transport"
)

// recordRoutes reports whether sipwire record-routes requests of method:
// the methods that may create a dialog.
func recordRoutes(method []byte) bool {
	switch len(method) {
	case 5:
		return equalFold(method, "refer")
	case 6:
		return equalFold(method, "invite") || equalFold(method, "notify")
	case 9:
		return equalFold(method, "subscribe")
	}
	return false
}

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
	case hop.code != 0:
		f.reply(m, hop.code, hop.reason, hop.kind)
	case len(out) > 0:
		f.sendRequest(m, a, hop.conn, hop.dst, out)
	}
	*buf = out
	f.putBuf(buf)
}

// nextHop is where rewrite sends a request: over conn when set, else to
// dst; or, when code is set, the local reply that answers it instead.
type nextHop struct {
	conn   *transport.Conn
	dst    netip.AddrPort
	code   int
	reason string
	kind   *atomic.Uint64 // the counter of the reply
}

func (h *nextHop) answer(code int, reason string, kind *atomic.Uint64) {
	h.code, h.reason, h.kind = code, reason, kind
}

// rewrite decides what becomes of the request m: it appends the forwarded
// request to out and sets hop to its next hop, or sets hop to a local reply.
func (f *Forwarder) rewrite(m *transport.Message, a *attachment, out []byte, hop *nextHop) []byte {
	data := m.Data
	hb := data[:m.HeaderLen]
	var h headers
	scanHeaders(hb, &h)
	var v via
	if !h.via.present() || !parseVia(hb, h.via.vlo, h.via.vhi, &v) {
		hop.answer(400, "Bad Via", &f.c.rejected)
		return out
	}

	// Max-Forwards (§16.3 step 3).
	var mf uint64
	hasMF := h.maxFwd.present()
	if hasMF {
		var ok bool
		if mf, ok = parseUint(hb, h.maxFwd.vlo, h.maxFwd.vhi); !ok {
			hop.answer(400, "Bad Max-Forwards", &f.c.rejected)
			return out
		}
	}
	isOPTIONS := equalFold(m.Method, "options")
	if hasMF && mf == 0 {
		if isOPTIONS {
			hop.answer(200, "OK", &f.c.options)
		} else {
			hop.answer(483, "Too Many Hops", &f.c.hops)
		}
		return out
	}

	uri := span{lo: len(m.Method) + 1}
	uri.hi = indexIn(hb, uri.lo, len(hb), ' ')
	var ru sipURI
	ruOK := uri.hi > uri.lo && parseSIPURI(hb, uri.lo, uri.hi, &ru)

	// Route (§16.4): a top entry naming us goes.
	var ed edits
	var popped, rest sipURI
	hasPopped, hasRest := false, false
	if h.route.present() {
		u, next, ok := firstRoute(hb, h.route.vlo, h.route.vhi)
		if !ok || !parseSIPURI(hb, u.lo, u.hi, &popped) {
			hop.answer(400, "Bad Route", &f.c.rejected)
			return out
		}
		if a.names(hb, popped.host, popped.port, f.defPort) {
			hasPopped = true
			if next != 0 {
				ed.add(h.route.vlo, next-h.route.vlo, editDelete)
				hasRest = routeURI(hb, next, h.route.vhi, &rest)
			} else {
				ed.add(h.route.line, h.route.end-h.route.line, editDelete)
				hasRest = h.route2.present() && routeURI(hb, h.route2.vlo, h.route2.vhi, &rest)
			}
		} else {
			rest, hasRest = popped, true
		}
	}
	if hasRest && a.names(hb, rest.host, rest.port, f.defPort) {
		hop.answer(482, "Loop Detected", &f.c.rejected)
		return out
	}
	if isOPTIONS && !hasRest && ruOK && !ru.hasUser && a.names(hb, ru.host, ru.port, f.defPort) {
		hop.answer(200, "OK", &f.c.options)
		return out
	}

	// The next hop. A request goes toward a client when it comes from the
	// upstream, or when the removed Route names, by its cid, another open
	// connection (the client's, whose dialog it belongs to). A cid naming a
	// closed connection is the client's own after a reconnect.
	var client *transport.Conn
	if hasPopped && popped.hasCID && popped.cid != m.Conn.ID() {
		client = a.t.Conn(popped.cid)
	}
	toClient := client != nil || f.fromUpstream(m, hb, &v)
	var conn *transport.Conn
	var dst netip.AddrPort
	switch {
	case hasRest:
		if d, ok := addrPort(hb, rest.host, rest.port, f.defPort); ok {
			dst = d
		} else if !toClient {
			dst = f.upstream
		}
	case toClient:
		conn = client
		if ruOK {
			if d, ok := addrPort(hb, ru.host, ru.port, f.defPort); ok && d != a.adv {
				dst = d
			}
		}
	default:
		dst = f.upstream
	}
	if conn == nil && !dst.IsValid() {
		hop.answer(404, "Not Found", &f.c.rejected)
		return out
	}
	if v.alias && !toClient {
		if d, ok := addrPort(hb, v.host, v.port, f.defPort); ok {
			a.t.AddAlias(m.Conn.ID(), d)
		}
	}

	// The edits (§16.6).
	b := builder{a: a, cid: m.Conn.ID(), addMF: !hasMF}
	b.branch = branchHash(hb, &v, &h, uri, m.CallID, m.CSeq)
	if hasMF {
		b.mf = mf - 1
		ed.add(h.maxFwd.vlo, h.maxFwd.vhi-h.maxFwd.vlo, editMaxFwd)
	}
	if f.cfg.RecordRoute && recordRoutes(m.Method) {
		b.rr = true
		switch {
		case !toClient:
			b.rrCID = m.Conn.ID()
		case conn != nil:
			b.rrCID = conn.ID()
		}
	}
	top := h.via.line
	if b.rr && h.recordRoute.present() && h.recordRoute.line < top {
		top = h.recordRoute.line
	}
	ed.add(top, 0, editTop)
	src := m.Conn.Remote()
	b.src = src.Addr().AppendTo(b.srcBuf[:0])
	received := !v.hasReceived && !equalFoldBytes(v.host.of(hb), b.src)
	if v.hasRport && v.rport.empty() {
		b.rport, b.rportEq = src.Port(), v.rportEq
		ed.add(v.rportAt, 0, editRport)
		received = !v.hasReceived // RFC 3581 §4: even when it equals sent-by
	}
	if received {
		ed.add(v.end, 0, editReceived)
	}

	hop.conn, hop.dst = conn, dst
	return b.build(out, data, &ed)
}

// routeURI parses the URI of the first entry of the Route value b[lo:hi].
func routeURI(b []byte, lo, hi int, u *sipURI) bool {
	s, _, ok := firstRoute(b, lo, hi)
	return ok && parseSIPURI(b, s.lo, s.hi, u)
}

// fromUpstream reports whether the request m comes from the upstream: its
// connection's peer is the upstream, or has the upstream's IP and a top Via
// naming the upstream.
func (f *Forwarder) fromUpstream(m *transport.Message, b []byte, v *via) bool {
	r := m.Conn.Remote()
	if r == f.upstream {
		return true
	}
	if r.Addr() != f.upstream.Addr() {
		return false
	}
	port := v.port
	if port == 0 {
		port = f.defPort
	}
	return port == f.upstream.Port() && equalFoldBytes(v.host.of(b), f.upHost)
}

// sendRequest sends a forwarded request over conn, or an open connection to
// dst, or else through Send (which may connect); a request that cannot be
// sent is answered with 503.
func (f *Forwarder) sendRequest(m *transport.Message, a *attachment, conn *transport.Conn, dst netip.AddrPort, out []byte) {
	if conn == nil {
		if c := a.t.ConnByRemote(dst); c != nil && c.State() == transport.StateOpen {
			conn = c
		}
	}
	if conn != nil {
		if conn.Write(out) == nil {
			f.c.requests.Add(1)
			return
		}
		if !dst.IsValid() {
			f.c.sendErrors.Add(1)
			f.reply(m, 503, "Service Unavailable", &f.c.unavailable)
			return
		}
	}
	if err := a.t.Send(dst, out, f.laterFailure(m)); err != nil {
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
