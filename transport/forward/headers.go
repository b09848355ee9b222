package forward

import "bytes"

// field is one header of a message: the whole logical header [line, end),
// its continuation lines and line break included, and its trimmed value
// [vlo, vhi).
type field struct {
	line, end int
	vlo, vhi  int
}

func (f *field) present() bool { return f.end > 0 }

// value returns the trimmed value of the field in b, nil when absent.
func (f *field) value(b []byte) []byte {
	if !f.present() {
		return nil
	}
	return b[f.vlo:f.vhi]
}

// headers are the headers the forwarder looks at: the first two of Via and
// Route, the first of the others. dup is the first single-valued header
// (RFC 3261 §7.3.1: To, From, CSeq, Call-ID, Max-Forwards) seen twice.
type headers struct {
	via, via2     field
	route, route2 field
	maxFwd        field
	recordRoute   field
	from, to      field
	callID, cseq  field
	proxyRequire  field // the first
	dup           defect
}

// scanHeaders records the headers of the header block b (the start line,
// the headers and the blank line ending them) in one pass.
func scanHeaders(b []byte, h *headers) {
	p := bytes.IndexByte(b, '\n') + 1
	if p == 0 {
		return
	}
	for p < len(b) {
		c := b[p]
		if c == '\r' || c == '\n' {
			return
		}
		lo, hi := p, p
		for {
			i := bytes.IndexByte(b[hi:], '\n')
			if i < 0 {
				hi = len(b)
				break
			}
			hi += i + 1
			if hi == len(b) || !isLWS(b[hi]) {
				break
			}
		}
		p = hi
		if !isLWS(c) {
			h.record(b, lo, hi)
		}
	}
}

// record examines the logical header b[lo:hi].
func (h *headers) record(b []byte, lo, hi int) {
	colon := indexIn(b, lo, hi, ':')
	if colon < 0 {
		return
	}
	n := colon
	for n > lo && isLWS(b[n-1]) {
		n--
	}
	name := b[lo:n]
	var f *field
	switch len(name) {
	case 1:
		switch lower(name[0]) {
		case 'v':
			f = pick(&h.via, &h.via2)
		case 'f':
			f = h.single(&h.from, defectDupFrom)
		case 't':
			f = h.single(&h.to, defectDupTo)
		case 'i':
			f = h.single(&h.callID, defectDupCallID)
		}
	case 2:
		if equalFold(name, "to") {
			f = h.single(&h.to, defectDupTo)
		}
	case 3:
		if equalFold(name, "via") {
			f = pick(&h.via, &h.via2)
		}
	case 4:
		switch {
		case equalFold(name, "from"):
			f = h.single(&h.from, defectDupFrom)
		case equalFold(name, "cseq"):
			f = h.single(&h.cseq, defectDupCSeq)
		}
	case 5:
		if equalFold(name, "route") {
			f = pick(&h.route, &h.route2)
		}
	case 7:
		if equalFold(name, "call-id") {
			f = h.single(&h.callID, defectDupCallID)
		}
	case 13:
		if equalFold(name, "proxy-require") {
			f = pick(&h.proxyRequire, nil)
		}
	case 12:
		switch {
		case equalFold(name, "max-forwards"):
			f = h.single(&h.maxFwd, defectDupMaxForwards)
		case equalFold(name, "record-route"):
			f = pick(&h.recordRoute, nil)
		}
	}
	if f == nil {
		return
	}
	vlo, vhi := trim(b, colon+1, hi)
	*f = field{line: lo, end: hi, vlo: vlo, vhi: vhi}
}

// pick returns the first of first and second not yet seen, or nil.
func pick(first, second *field) *field {
	switch {
	case !first.present():
		return first
	case second != nil && !second.present():
		return second
	}
	return nil
}

// single returns f when the single-valued header it holds is not yet seen;
// else it notes the duplicate d (the first one only) and returns nil.
func (h *headers) single(f *field, d defect) *field {
	if !f.present() {
		return f
	}
	if h.dup == defectNone {
		h.dup = d
	}
	return nil
}
