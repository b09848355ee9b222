package forward

import "github.com/sipwire/sipwire/transport/framing"

// defect is why a request is refused rather than relayed: mostly what
// makes it malformed (RFC 3261 §16.3 step 1: "reasonable syntax", and the
// §8.1.1 headers every request carries), also a loop or a next hop that
// cannot be reached without DNS. The forwarder answers it with status();
// see the package documentation for what cannot be answered.
type defect uint8

const (
	defectNone           defect = iota
	defectNoVia                 // no Via: nowhere to answer, dropped
	defectBadVia                // the top via-parm does not parse
	defectRequestURI            // not scheme ":" ..., in <>, or a bad sip/sips URI
	defectURIScheme             // a well-formed URI of a scheme sipwire does not relay
	defectNoTo                  // no To
	defectBadTo                 // a To that is neither name-addr nor addr-spec
	defectNoFrom                // no From
	defectBadFrom               // a From that is neither name-addr nor addr-spec
	defectNoCSeq                // no CSeq
	defectBadCSeq               // not 1*DIGIT LWS Method, or above 2^31-1
	defectCSeqMethod            // the CSeq method is not the request's
	defectNoCallID              // no Call-ID
	defectBadCallID             // an empty Call-ID, or one with blanks
	defectMaxForwards           // not 1*DIGIT, or above 255
	defectDupTo                 // the single-valued headers, twice (§7.3.1)
	defectDupFrom               //
	defectDupCSeq               //
	defectDupCallID             //
	defectDupMaxForwards        //
	defectBadRoute              // a top Route entry that does not parse
	defectLoop                  // the next Route names sipwire again (§16.3 step 4)
	defectNotFound              // no next hop: a host name toward a client, or no address
	numDefects
)

// maxMaxForwards is the largest Max-Forwards (RFC 3261 §20.22: 0-255 in
// practice; §25.1 leaves the number unbounded, RFC 4475 §3.1.2.4 shows 300
// as an error a proxy refuses).
const maxMaxForwards = 255

// maxCSeq is the largest CSeq number (RFC 3261 §8.1.1.5: less than 2^31).
const maxCSeq = 1<<31 - 1

// status is the response to a request with the defect: 416 for an unknown
// URI scheme (§16.3 step 2), 482 for a loop, 404 for no next hop, else 400
// with a phrase naming the defect.
func (d defect) status() (int, string) {
	switch d {
	case defectNoVia:
		return 400, "Missing Via"
	case defectBadVia:
		return 400, "Bad Via"
	case defectRequestURI:
		return 400, "Bad Request-URI"
	case defectURIScheme:
		return 416, "Unsupported URI Scheme"
	case defectNoTo:
		return 400, "Missing To"
	case defectBadTo:
		return 400, "Bad To"
	case defectNoFrom:
		return 400, "Missing From"
	case defectBadFrom:
		return 400, "Bad From"
	case defectNoCSeq:
		return 400, "Missing CSeq"
	case defectBadCSeq:
		return 400, "Bad CSeq"
	case defectCSeqMethod:
		return 400, "CSeq Method Mismatch"
	case defectNoCallID:
		return 400, "Missing Call-ID"
	case defectBadCallID:
		return 400, "Bad Call-ID"
	case defectMaxForwards:
		return 400, "Bad Max-Forwards"
	case defectDupTo:
		return 400, "Duplicate To"
	case defectDupFrom:
		return 400, "Duplicate From"
	case defectDupCSeq:
		return 400, "Duplicate CSeq"
	case defectDupCallID:
		return 400, "Duplicate Call-ID"
	case defectDupMaxForwards:
		return 400, "Duplicate Max-Forwards"
	case defectBadRoute:
		return 400, "Bad Route"
	case defectLoop:
		return 482, "Loop Detected"
	case defectNotFound:
		return 404, "Not Found"
	}
	return 400, "Bad Request"
}

// check returns the first defect of the request r, in the order: Via, the
// Request-URI, To, From, CSeq, Call-ID, Max-Forwards, a duplicate. It
// parses the top Via into r.v, the Request-URI into r.uri (and r.ru when it
// is sip: or sips:) and Max-Forwards into r.mf.
func check(r *req) defect {
	hb, h := r.hb, &r.h
	if !h.via.present() {
		return defectNoVia
	}
	if !parseVia(hb, h.via.vlo, h.via.vhi, &r.v) {
		return defectBadVia
	}
	r.uri = span{lo: len(r.m.Method) + 1}
	if r.uri.hi = indexIn(hb, r.uri.lo, len(hb), ' '); r.uri.hi < r.uri.lo {
		return defectRequestURI
	}
	if d := r.checkURI(); d != defectNone {
		return d
	}
	switch {
	case !h.to.present():
		return defectNoTo
	case !addressOK(hb, h.to.vlo, h.to.vhi):
		return defectBadTo
	case !h.from.present():
		return defectNoFrom
	case !addressOK(hb, h.from.vlo, h.from.vhi):
		return defectBadFrom
	case !h.cseq.present():
		return defectNoCSeq
	}
	if d := checkCSeq(h.cseq.value(hb), r.m.Method); d != defectNone {
		return d
	}
	switch {
	case !h.callID.present():
		return defectNoCallID
	case !callIDOK(h.callID.value(hb)):
		return defectBadCallID
	}
	if r.hasMF = h.maxFwd.present(); r.hasMF {
		var ok bool
		if r.mf, ok = parseUint(hb, h.maxFwd.vlo, h.maxFwd.vhi); !ok || r.mf > maxMaxForwards {
			return defectMaxForwards
		}
	}
	return h.dup
}

// checkURI checks the Request-URI: a scheme and a colon, no angle brackets
// or quotes (RFC 4475 §3.1.2.7); sip: and sips: must parse and carry no
// headers (RFC 3261 §19.1.1, Table 1); tel: and urn: (an emergency call's
// urn:service:sos, RFC 5031) go on as they are; other schemes get 416.
func (r *req) checkURI() defect {
	b, lo, hi := r.hb, r.uri.lo, r.uri.hi
	p := lo
	for p < hi && schemeChar(b[p], p == lo) {
		p++
	}
	if p == lo || p >= hi || b[p] != ':' || p+1 == hi {
		return defectRequestURI
	}
	for i := p + 1; i < hi; i++ {
		switch b[i] {
		case '<', '>', '"':
			return defectRequestURI
		}
	}
	scheme := b[lo:p]
	switch {
	case equalFold(scheme, "sip") || equalFold(scheme, "sips"):
		// A '?' in the user part is a user-unreserved character (§25.1);
		// after the host it starts headers.
		r.ruOK = parseSIPURI(b, lo, hi, &r.ru)
		if !r.ruOK || indexIn(b, r.ru.host.hi, hi, '?') >= 0 {
			return defectRequestURI
		}
	case equalFold(scheme, "tel") || equalFold(scheme, "urn"):
	default:
		return defectURIScheme
	}
	return defectNone
}

// schemeChar reports whether c may be in a URI scheme (RFC 3986 §3.1:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
func schemeChar(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	case first:
		return false
	}
	return c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// addressOK checks a To or From value b[lo:hi] (RFC 3261 §20.20, §20.39):
// a name-addr, [display-name] "<" URI ">", whose display name is tokens or
// one quoted string and whose URI has no blanks (RFC 4475 §3.1.2.6,
// §3.1.2.14, §3.1.2.15); or an addr-spec, a URI without blanks up to the
// header parameters. An unquoted display name may also hold UTF-8, which
// UAs send and which a proxy has no reason to refuse (§16.3 step 1: parts
// a proxy does not use are relayed as they are).
func addressOK(b []byte, lo, hi int) bool {
	if lo >= hi {
		return false
	}
	p := lo
	if b[p] == '"' {
		q, ok := quotedEnd(b, p, hi)
		if !ok {
			return false
		}
		p = skipBlank(b, q, hi)
		if p >= hi || b[p] != '<' {
			return false
		}
	} else {
		for p < hi && displayChar[b[p]] {
			p++
		}
		if p >= hi || b[p] != '<' {
			// No display name: an addr-spec up to the parameters (SEMI
			// may have blanks around it).
			_, end := trim(b, lo, indexOutsideQuotes(b, lo, hi, ';'))
			return uriOK(b, lo, end)
		}
	}
	// The URI, up to '>'.
	colon := false
	for p++; p < hi; p++ {
		c := b[p]
		if c == '>' {
			break
		}
		if uriStop[c] {
			return false
		}
		colon = colon || c == ':'
	}
	if p >= hi || !colon {
		return false
	}
	p = skipBlank(b, p+1, hi)
	return p == hi || b[p] == ';'
}

// displayChar marks the bytes of an unquoted display name: token
// characters, blanks, and UTF-8.
var displayChar = func() (t [256]bool) {
	for c := range t {
		t[c] = framing.IsTokenChar(byte(c)) || isBlank(byte(c)) || c >= 0x80
	}
	return t
}()

// uriStop marks the bytes a URI in a To or From cannot hold.
var uriStop = bytesSet(" \t\r\n\"<>")

// quotedEnd returns the index after the quoted string starting at b[p]
// ('"'), and false when it does not end before hi.
func quotedEnd(b []byte, p, hi int) (int, bool) {
	for i := p + 1; i < hi; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return hi, false
}

// uriOK reports whether b[lo:hi] can be a URI: not empty, a colon, no
// blanks, quotes or angle brackets.
func uriOK(b []byte, lo, hi int) bool {
	colon := false
	for i := lo; i < hi; i++ {
		if uriStop[b[i]] {
			return false
		}
		colon = colon || b[i] == ':'
	}
	return colon
}

// checkCSeq checks a CSeq value (RFC 3261 §20.16: 1*DIGIT LWS Method): a
// number below 2^31 and the request's method, compared case-sensitively
// (§7.1).
func checkCSeq(v, method []byte) defect {
	n := 0
	var num uint64
	for n < len(v) && v[n] >= '0' && v[n] <= '9' {
		num = num*10 + uint64(v[n]-'0')
		n++
		if num > maxCSeq {
			return defectBadCSeq
		}
	}
	if n == 0 || n == len(v) || !isBlank(v[n]) {
		return defectBadCSeq
	}
	m := skipBlank(v, n, len(v))
	if e := skipToken(v, m, len(v)); e == m || e != len(v) {
		return defectBadCSeq
	}
	if string(v[m:]) != string(method) {
		return defectCSeqMethod
	}
	return defectNone
}

// callIDOK reports whether a Call-ID value is one word, without blanks or
// control bytes (RFC 3261 §25.1: word ["@" word]).
func callIDOK(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
