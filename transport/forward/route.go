package forward

import (
	"github.com/sipwire/sipwire/transport"
)

// route sets the next hop of a request: the remaining top Route; else, for
// a request toward a client, the client connection named by the cid of our
// removed Route entry, or the Request-URI's address; else the upstream.
// It returns false when hop holds the answer instead (404).
//
// A request goes toward a client when it comes from the upstream, or when
// our removed Route entry names, by its cid, another open connection (the
// client's, whose dialog it belongs to). A cid naming a closed connection is
// the sender's own from before a reconnect.
func (f *Forwarder) route(a *attachment, r *req, hop *nextHop) bool {
	m, hb := r.m, r.hb
	var client *transport.Conn
	if r.hasPopped && r.popped.hasCID && r.popped.cid != m.Conn.ID() {
		client = a.t.Conn(r.popped.cid)
	}
	hop.toClient = client != nil || f.fromUpstream(m, hb, &r.v)
	switch {
	case r.hasRest:
		if d, ok := addrPort(hb, r.rest.host, r.rest.port, f.defPort); ok {
			hop.dst = d
		} else if !hop.toClient {
			hop.dst = f.upstream // a name: sipwire does no DNS; the upstream can
		}
	case hop.toClient:
		hop.conn = client
		if r.ruOK {
			if d, ok := addrPort(hb, r.ru.host, r.ru.port, f.defPort); ok && d != a.adv {
				hop.dst = d
			}
		}
	default:
		hop.dst = f.upstream
	}
	if hop.conn == nil && !hop.dst.IsValid() {
		f.reject(hop, defectNotFound)
		return false
	}
	return true
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
