package forward

import (
	"bytes"
	"strconv"

	"github.com/sipwire/sipwire/transport/framing"
)

// editKind is what an edit inserts; edits at one offset go out in this
// order.
type editKind uint8

const (
	editDelete   editKind = iota // insert nothing
	editTop                      // sipwire's Via, Record-Route, Max-Forwards
	editMaxFwd                   // the decremented Max-Forwards value
	editRport                    // the rport value (RFC 3581)
	editReceived                 // ";received=" and the source address
)

// edit replaces del bytes at offset at of the original message with what
// its kind inserts.
type edit struct {
	at, del int
	kind    editKind
}

// edits are a request's edits, at most one of each kind.
type edits struct {
	e [6]edit
	n int
}

func (ed *edits) add(at, del int, k editKind) {
	ed.e[ed.n] = edit{at: at, del: del, kind: k}
	ed.n++
}

// sort orders the edits by offset, then kind (insertion sort: n ≤ 6).
func (ed *edits) sort() {
	for i := 1; i < ed.n; i++ {
		for j := i; j > 0; j-- {
			a, b := &ed.e[j-1], &ed.e[j]
			if a.at < b.at || a.at == b.at && a.kind <= b.kind {
				break
			}
			*a, *b = *b, *a
		}
	}
}

// builder holds what a forwarded request's edits insert.
type builder struct {
	a       *attachment
	branch  uint64
	cid     uint64 // the connection the request came on
	rr      bool   // add Record-Route
	rrCID   uint64 // the client connection named in the Record-Route; 0 none
	addMF   bool   // add Max-Forwards: 70
	mf      uint64 // the decremented Max-Forwards
	rport   uint16
	rportEq bool
	src     []byte // the source IP as text
	srcBuf  [64]byte
	lf      bool // end the inserted lines with LF alone, not CRLF
}

// build appends to out the message data with the edits applied.
func (b *builder) build(out, data []byte, ed *edits) []byte {
	ed.sort()
	pos := 0
	for i := range ed.n {
		e := &ed.e[i]
		out = append(out, data[pos:e.at]...)
		out = b.insert(out, e.kind)
		pos = e.at + e.del
	}
	return append(out, data[pos:]...)
}

func (b *builder) insert(out []byte, k editKind) []byte {
	switch k {
	case editTop:
		out = append(out, b.a.viaHead...)
		out = appendHex16(out, b.branch)
		out = append(out, ";cid="...)
		out = strconv.AppendUint(out, b.cid, 10)
		out = b.eol(out)
		if b.rr {
			out = append(out, b.a.rrHead...)
			if b.rrCID != 0 {
				out = append(out, ";cid="...)
				out = strconv.AppendUint(out, b.rrCID, 10)
			}
			out = append(out, '>')
			out = b.eol(out)
		}
		if b.addMF {
			out = append(out, "Max-Forwards: 70"...)
			out = b.eol(out)
		}
	case editMaxFwd:
		out = strconv.AppendUint(out, b.mf, 10)
	case editRport:
		if !b.rportEq {
			out = append(out, '=')
		}
		out = strconv.AppendUint(out, uint64(b.rport), 10)
	case editReceived:
		out = append(out, ";received="...)
		out = append(out, b.src...)
	}
	return out
}

// responseFrame is the part of a request kept to answer it after
// ServeSIP returned: its header block, copied.
func responseFrame(f *framing.Frame) framing.Frame {
	hdr := append([]byte(nil), f.Data[:f.HeaderLen]...)
	return framing.Frame{Data: hdr, HeaderLen: len(hdr), IsRequest: true, Method: hdr[:len(f.Method)]}
}

// eol ends an inserted line.
func (b *builder) eol(out []byte) []byte {
	if b.lf {
		return append(out, '\n')
	}
	return append(out, '\r', '\n')
}

// bareLF reports whether the start line of the header block b ends with
// LF alone: the lines sipwire inserts end as the request's first line does,
// so that a request written with bare LF stays all LF. RFC 3261 §7 asks
// for CRLF, but sipwire relays a message as it came rather than rewrite it
// line by line: normalising would move every header and cost a pass over
// the block, for a peer that the upstream accepts or refuses as it would
// without sipwire.
func bareLF(b []byte) bool {
	i := bytes.IndexByte(b, '\n')
	return i <= 0 || b[i-1] != '\r'
}

// edit appends the forwarded request to out (§16.6): our Via on top (with
// Record-Route and Max-Forwards when they are added, their lines ended as
// the start line is), Max-Forwards
// decremented, received and rport in the sender's Via, our Route entry
// removed.
func (f *Forwarder) edit(a *attachment, r *req, hop *nextHop, out []byte) []byte {
	m, hb, h, v := r.m, r.hb, &r.h, &r.v
	ed := &r.ed
	b := builder{a: a, cid: m.Conn.ID(), addMF: !r.hasMF}
	b.branch = branchHash(hb, v, h, r.uri, m.CallID, m.CSeq)
	if r.hasMF {
		b.mf = r.mf - 1
		ed.add(h.maxFwd.vlo, h.maxFwd.vhi-h.maxFwd.vlo, editMaxFwd)
	}
	if f.cfg.RecordRoute && recordRoutes(m.Method) {
		b.rr = true
		switch {
		case !hop.toClient:
			b.rrCID = m.Conn.ID()
		case hop.conn != nil:
			b.rrCID = hop.conn.ID()
		}
	}
	top := h.via.line
	if b.rr && h.recordRoute.present() && h.recordRoute.line < top {
		top = h.recordRoute.line
	}
	ed.add(top, 0, editTop)
	b.lf = bareLF(hb)
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
	return b.build(out, m.Data, ed)
}
