package forward

import (
	"sync/atomic"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// reply answers the request m on its own connection, counting the reply
// in kind. The response copies what m has of Via, From, To, Call-ID and
// CSeq (framing.AppendRejection); a request without Via cannot be answered
// and is dropped and counted; an ACK is never answered.
func (f *Forwarder) reply(m *transport.Message, code int, reason string, kind *atomic.Uint64) {
	if equalFold(m.Method, "ack") {
		f.c.reqACK.Add(1)
		return
	}
	buf := f.getBuf()
	out := framing.AppendRejection((*buf)[:0], &m.Frame, code, reason)
	if len(out) == 0 {
		f.c.reqMalformed.Add(1)
	} else {
		// Counted before it goes out, so that whoever reads it sees it
		// counted; a connection that fails the write is the transport's to
		// count.
		f.c.local.Add(1)
		kind.Add(1)
		m.Reply(out)
	}
	*buf = out
	f.putBuf(buf)
}

// replyBadExtension answers m, whose Proxy-Require names extensions, with
// 420 Bad Extension and an Unsupported header listing them.
func (f *Forwarder) replyBadExtension(m *transport.Message) {
	buf := f.getBuf()
	out := framing.AppendBadExtension((*buf)[:0], &m.Frame, f.cfg.RelayExtensions)
	if len(out) == 0 {
		f.c.reqMalformed.Add(1)
	} else {
		f.c.local.Add(1)
		f.c.badExtension.Add(1)
		m.Reply(out)
	}
	*buf = out
	f.putBuf(buf)
}

// local is the Forwarder with no upstream: 200 to OPTIONS, 501 to every
// other request but ACK, responses dropped.
func (f *Forwarder) local(m *transport.Message) {
	switch {
	case !m.IsRequest:
		f.c.respOff.Add(1)
	case equalFold(m.Method, "options"):
		f.reply(m, 200, "OK", &f.c.options)
	default:
		f.reply(m, 501, "Not Implemented", &f.c.n501)
	}
}

// laterFailure returns the notify callback of a request sent over a new
// connection: if the connect or the queued write fails after ServeSIP
// returned, the sender gets a 503 made from a copy of the request's header
// block. It allocates, which only a new connection costs.
func (f *Forwarder) laterFailure(m *transport.Message) func(error) {
	if equalFold(m.Method, "ack") {
		return f.ackFailed
	}
	fr := responseFrame(&m.Frame)
	callID := append([]byte(nil), m.CallID...)
	c := m.Conn
	return func(error) {
		f.c.sendErrors.Add(1)
		buf := f.getBuf()
		out := framing.AppendResponse((*buf)[:0], &fr, 503, "Service Unavailable")
		if len(out) > 0 {
			f.c.local.Add(1)
			f.c.unavailable.Add(1)
			c.WriteMessage(out, callID)
		}
		*buf = out
		f.putBuf(buf)
	}
}
