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

// headers are the headers the forwarder looks at: the first two of Via and
// Route, the first of the others.
type headers struct {
	via, via2     field
	route, route2 field
	maxFwd        field
	recordRoute   field
	from, to      field
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
			f = pick(&h.from, nil)
		case 't':
			f = pick(&h.to, nil)
		}
	case 2:
		if equalFold(name, "to") {
			f = pick(&h.to, nil)
		}
	case 3:
		if equalFold(name, "via") {
			f = pick(&h.via, &h.via2)
		}
	case 4:
		if equalFold(name, "from") {
			f = pick(&h.from, nil)
		}
	case 5:
		if equalFold(name, "route") {
			f = pick(&h.route, &h.route2)
		}
	case 12:
		switch {
		case equalFold(name, "max-forwards"):
			f = pick(&h.maxFwd, nil)
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
