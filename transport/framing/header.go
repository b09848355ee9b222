package framing

import "bytes"

// headerBlock advances the header scanner over b[s.pos:], one line at a
// time, and reports whether the blank line ending the block was found (then
// s.v.headerLen is set). A logical header (a line and its continuation lines,
// RFC 3261 §7.3.1) is examined once the first byte of the following line
// shows it is complete. On a missing LF the scanner remembers how far it
// searched so that the next call only looks at new bytes.
func (s *scan) headerBlock(b []byte) bool {
	p := s.pos
	for p < len(b) {
		c := b[p]
		if c == '\n' {
			s.endBlock(b, p, p+1)
			return true
		}
		if c == '\r' {
			if p+1 == len(b) {
				break
			}
			if b[p+1] == '\n' {
				s.endBlock(b, p, p+2)
				return true
			}
		}
		from := max(p+1, s.lfFrom)
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			s.lfFrom = len(b)
			break
		}
		if !isLWS(c) {
			if s.hdr > 0 {
				s.header(b, s.hdr, p)
			}
			s.hdr = p
		}
		p = from + i + 1
		s.lfFrom = 0
	}
	s.pos = p
	return false
}

// endBlock examines the last pending header, which ends at the blank line
// starting at p, and records the header block length n.
func (s *scan) endBlock(b []byte, p, n int) {
	if s.hdr > 0 {
		s.header(b, s.hdr, p)
		s.hdr = 0
	}
	s.v.headerLen = n
}

// header examines the logical header b[lo:hi] (its line breaks included) and
// records the values the Frame exposes. Only names starting with c, i, l or v
// can matter, so most headers cost one table look-up.
func (s *scan) header(b []byte, lo, hi int) {
	switch lowerASCII[b[lo]] {
	case 'c', 'i', 'l', 'v':
	default:
		return
	}
	// Names are short: a plain loop beats IndexByte here.
	end := lo + 1
	for end < hi && tokenChars[b[end]] {
		end++
	}
	colon := end
	for colon < hi && isLWS(b[colon]) {
		colon++
	}
	if colon == hi || b[colon] != ':' {
		return
	}
	name := b[lo:end]
	vlo, vhi := trimSpan(b, colon+1, hi)
	switch {
	case equalFold(name, "via") || equalFold(name, "v"):
		if s.v.via.end == 0 {
			s.v.via = span{vlo, firstViaParm(b, vlo, vhi)}
		}
	case equalFold(name, "call-id") || equalFold(name, "i"):
		if s.v.callID.end == 0 {
			s.v.callID = span{vlo, vhi}
		}
	case equalFold(name, "cseq"):
		if s.v.cseq.end == 0 {
			s.v.cseq = span{vlo, vhi}
		}
	case equalFold(name, "content-length") || equalFold(name, "l"):
		s.contentLength(b[vlo:vhi])
	}
}

// contentLength records one Content-Length value: the first malformed or
// conflicting value is remembered as the message's error.
func (s *scan) contentLength(v []byte) {
	n, ok := parseContentLength(v)
	switch {
	case s.v.clErr != nil:
	case !ok:
		s.v.clErr = ErrBadContentLength
	case s.v.clSeen && n != s.v.cl:
		s.v.clErr = ErrConflictingContentLength
	default:
		s.v.clSeen, s.v.cl = true, n
	}
}

// firstViaParm returns the end of the first via-parm of the Via value
// b[lo:hi]: the value up to its first comma outside a quoted string, without
// trailing whitespace.
func firstViaParm(b []byte, lo, hi int) int {
	v := b[lo:hi]
	i := bytes.IndexByte(v, ',')
	if i < 0 {
		return hi
	}
	if bytes.IndexByte(v[:i], '"') >= 0 {
		i = commaOutsideQuotes(v)
		if i < 0 {
			return hi
		}
	}
	_, end := trimSpan(b, lo, lo+i)
	return end
}

// commaOutsideQuotes returns the index of the first comma of v that is not
// inside a quoted string, or -1.
func commaOutsideQuotes(v []byte) int {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return i
		}
	}
	return -1
}
