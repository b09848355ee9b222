package forward

// via is the first via-parm of a Via value, as offsets into the message.
type via struct {
	end  int // end of the via-parm (before a comma or the end of the value)
	next int // start of the next via-parm in the same value; 0 when none

	host   span   // sent-by host, IPv6 brackets stripped
	port   uint16 // sent-by port; 0 when absent
	sentBy span   // host[:port] as written

	branch      span
	hasReceived bool
	received    span
	hasRport    bool
	rport       span // rport's value, empty when it has none
	rportAt     int  // where a value for an empty rport goes
	rportEq     bool // the empty rport is written "rport="
	alias       bool
	hasCID      bool
	cid         uint64
}

// parseVia parses the first via-parm of the Via value b[lo:hi]
// (RFC 3261 §20.42): sent-protocol LWS sent-by *( SEMI via-params ).
func parseVia(b []byte, lo, hi int, v *via) bool {
	*v = via{}
	p := lo
	for range 2 {
		q := skipToken(b, p, hi)
		if q == p {
			return false
		}
		p = skipBlank(b, q, hi)
		if p >= hi || b[p] != '/' {
			return false
		}
		p = skipBlank(b, p+1, hi)
	}
	q := skipToken(b, p, hi)
	if q == p {
		return false
	}
	p = skipBlank(b, q, hi)
	if p == q || p >= hi {
		return false
	}
	h0 := p
	if b[p] == '[' {
		e := indexIn(b, p, hi, ']')
		if e < 0 {
			return false
		}
		v.host = span{p + 1, e}
		p = e + 1
	} else {
		for p < hi && !hostEnd[b[p]] {
			p++
		}
		v.host = span{h0, p}
	}
	if v.host.empty() {
		return false
	}
	if p < hi && b[p] == ':' {
		port, q, ok := parsePort(b, p+1, hi)
		if !ok {
			return false
		}
		v.port, p = port, q
	}
	v.sentBy = span{h0, p}
	last := p
	for {
		p = skipBlank(b, p, hi)
		if p >= hi {
			v.end = last
			return true
		}
		switch b[p] {
		case ',':
			v.end = last
			if n := skipBlank(b, p+1, hi); n < hi {
				v.next = n
			}
			return true
		case ';':
		default:
			return false
		}
		p = skipBlank(b, p+1, hi)
		n0 := p
		p = skipToken(b, p, hi)
		if p == n0 {
			return false
		}
		name := b[n0:p]
		afterName := p
		last = p
		var val span
		eq := false
		if e := skipBlank(b, p, hi); e < hi && b[e] == '=' {
			eq = true
			p = skipBlank(b, e+1, hi)
			v0 := p
			if p < hi && b[p] == '"' {
				p = skipQuoted(b, p, hi)
			} else {
				for p < hi && !valueEnd[b[p]] {
					p++
				}
			}
			val = span{v0, p}
			last = p
		}
		v.param(b, name, val, eq, afterName)
	}
}

// param records one via-param.
func (v *via) param(b, name []byte, val span, eq bool, afterName int) {
	switch len(name) {
	case 3:
		if equalFold(name, "cid") {
			v.cid, v.hasCID = parseID(val.of(b))
		}
	case 5:
		switch {
		case equalFold(name, "rport"):
			v.hasRport, v.rport, v.rportEq = true, val, eq
			v.rportAt = afterName
			if eq {
				v.rportAt = val.lo
			}
		case equalFold(name, "alias"):
			v.alias = true
		}
	case 6:
		if equalFold(name, "branch") {
			v.branch = val
		}
	case 8:
		if equalFold(name, "received") {
			v.hasReceived, v.received = true, val
		}
	}
}
