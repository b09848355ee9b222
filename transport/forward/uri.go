package forward

// sipURI is a sip: or sips: URI, as offsets into the message.
type sipURI struct {
	hasUser bool
	host    span   // IPv6 brackets stripped
	port    uint16 // 0 when absent
	hasCID  bool   // a cid parameter (in sipwire's Record-Route)
	cid     uint64
}

// parseSIPURI parses the URI b[lo:hi]:
// sip:[userinfo@]host[:port][;params][?headers].
func parseSIPURI(b []byte, lo, hi int, u *sipURI) bool {
	*u = sipURI{}
	p := lo
	switch {
	case hi-p > 4 && equalFold(b[p:p+4], "sip:"):
		p += 4
	case hi-p > 5 && equalFold(b[p:p+5], "sips:"):
		p += 5
	default:
		return false
	}
	if at := indexIn(b, p, hi, '@'); at >= 0 {
		u.hasUser = true
		p = at + 1
	}
	if p < hi && b[p] == '[' {
		e := indexIn(b, p, hi, ']')
		if e < 0 {
			return false
		}
		u.host = span{p + 1, e}
		p = e + 1
	} else {
		h0 := p
		for p < hi && !hostEnd[b[p]] {
			p++
		}
		u.host = span{h0, p}
	}
	if u.host.empty() {
		return false
	}
	if p < hi && b[p] == ':' {
		port, q, ok := parsePort(b, p+1, hi)
		if !ok {
			return false
		}
		u.port, p = port, q
	}
	for p < hi && b[p] == ';' {
		n0 := p + 1
		p = n0
		for p < hi && b[p] != '=' && b[p] != ';' && b[p] != '?' {
			p++
		}
		name := b[n0:p]
		v0 := p
		if p < hi && b[p] == '=' {
			v0 = p + 1
			p = v0
			for p < hi && b[p] != ';' && b[p] != '?' {
				p++
			}
		}
		if equalFold(name, "cid") {
			u.cid, u.hasCID = parseID(b[v0:p])
		}
	}
	return true
}

// firstRoute finds the first entry of the Route value b[lo:hi]
// (name-addr *(SEMI rr-param)): the URI between its angle brackets, and the
// start of the next entry (0 when none).
func firstRoute(b []byte, lo, hi int) (uri span, next int, ok bool) {
	lt := indexOutsideQuotes(b, lo, hi, '<')
	if lt >= hi {
		return span{}, 0, false
	}
	gt := indexIn(b, lt+1, hi, '>')
	if gt < 0 {
		return span{}, 0, false
	}
	if c := indexOutsideQuotes(b, gt+1, hi, ','); c < hi {
		if n := skipBlank(b, c+1, hi); n < hi {
			next = n
		}
	}
	return span{lt + 1, gt}, next, true
}
