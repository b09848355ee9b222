package framing

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// headerIter walks the logical headers of a complete header block.
type headerIter struct {
	b []byte // the header block
	p int    // start of the next line
}

// newHeaderIter starts after the start line of the header block b.
func newHeaderIter(b []byte) headerIter {
	return headerIter{b: b, p: bytes.IndexByte(b, '\n') + 1}
}

// next returns the trimmed name and value of the next header that has a
// colon, joining continuation lines; ok is false at the blank line.
func (it *headerIter) next() (name, value []byte, ok bool) {
	b := it.b
	for it.p > 0 && it.p < len(b) {
		lo := it.p
		if b[lo] == '\n' || (b[lo] == '\r' && lo+1 < len(b) && b[lo+1] == '\n') {
			return nil, nil, false
		}
		hi := lo
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
		it.p = hi
		if isLWS(b[lo]) {
			continue // a continuation with nothing to continue
		}
		colon := bytes.IndexByte(b[lo:hi], ':')
		if colon < 0 {
			continue
		}
		vlo, vhi := trimSpan(b, lo+colon+1, hi)
		return trimLWSRight(b[lo : lo+colon]), b[vlo:vhi], true
	}
	return nil, nil, false
}

// isHeader reports whether name is the header full (lower case) or its
// compact form (empty when it has none).
func isHeader(name []byte, full, compact string) bool {
	return equalFold(name, full) || (compact != "" && equalFold(name, compact))
}

// AppendResponse appends to dst a response with the given status to the
// request framed in f (RFC 3261 §8.2.6): the status line, every Via header in
// order, From, To (with a tag added when it has none), Call-ID, CSeq and
// "Content-Length: 0". The To tag is derived from the Call-ID and the From
// tag, so a retransmitted request gets the same tag. Folded values are
// unfolded; CR and LF are dropped from reason.
//
// It returns dst unchanged when f is not a request, is an ACK (which is
// never answered), or lacks Via, From, To, Call-ID or CSeq; then the caller
// just closes. It allocates only when dst lacks capacity.
func AppendResponse(dst []byte, f *Frame, code int, reason string) []byte {
	return appendResponse(dst, f, code, reason, false, "")
}

// AppendRejection is AppendResponse for a request refused because it is
// malformed, which may lack the very headers a response copies: only a Via
// is required (a response goes back along it, RFC 3261 §18.2.2, and is
// matched to its transaction by its branch, §17.1.3); From, To, Call-ID and
// CSeq are copied when present and left out, never invented, when not (RFC
// 4475 §3.3.1 asks for a 400 to a request without Call-ID, From and To).
// A To without a tag gets the same derived tag as from AppendResponse. It
// returns dst unchanged for a response, an ACK, or a request without Via.
func AppendRejection(dst []byte, f *Frame, code int, reason string) []byte {
	return appendResponse(dst, f, code, reason, true, "")
}

// AppendBadExtension appends to dst the 420 (Bad Extension) a proxy answers
// to a request whose Proxy-Require names extensions it does not support
// (RFC 3261 §16.3 step 5, §20.29): built as AppendRejection's, with an
// Unsupported header listing, in order, every option-tag of every
// Proxy-Require header that is not in supported (compared without regard
// to case). It returns dst unchanged when there is no such tag, and when
// AppendRejection would.
func AppendBadExtension(dst []byte, f *Frame, supported []string) []byte {
	if !f.IsRequest || f.HeaderLen <= 0 || f.HeaderLen > len(f.Data) {
		return dst
	}
	var tags []byte
	it := newHeaderIter(f.Data[:f.HeaderLen])
	for name, value, ok := it.next(); ok; name, value, ok = it.next() {
		if !isHeader(name, "proxy-require", "") {
			continue
		}
		for tag := range bytes.SplitSeq(value, []byte(",")) {
			lo, hi := trimSpan(tag, 0, len(tag))
			if lo == hi || slices.ContainsFunc(supported, func(s string) bool { return bytes.EqualFold(tag[lo:hi], []byte(s)) }) {
				continue
			}
			if len(tags) > 0 {
				tags = append(tags, ", "...)
			}
			tags = appendUnfolded(tags, tag[lo:hi])
		}
	}
	if len(tags) == 0 {
		return dst
	}
	return appendResponse(dst, f, 420, "Bad Extension", true, "Unsupported: "+string(tags)+"\r\n")
}

// appendResponse is AppendResponse, or AppendRejection when partial; extra
// is header lines to add before Content-Length.
func appendResponse(dst []byte, f *Frame, code int, reason string, partial bool, extra string) []byte {
	if !f.IsRequest || equalFold(f.Method, "ack") || f.HeaderLen <= 0 || f.HeaderLen > len(f.Data) {
		return dst
	}
	block := f.Data[:f.HeaderLen]
	var from, to, callID, cseq []byte
	vias := 0
	it := newHeaderIter(block)
	for name, value, ok := it.next(); ok; name, value, ok = it.next() {
		switch {
		case isHeader(name, "via", "v"):
			vias++
		case from == nil && isHeader(name, "from", "f"):
			from = value
		case to == nil && isHeader(name, "to", "t"):
			to = value
		case callID == nil && isHeader(name, "call-id", "i"):
			callID = value
		case cseq == nil && isHeader(name, "cseq", ""):
			cseq = value
		}
	}
	if vias == 0 || !partial && (from == nil || to == nil || callID == nil || cseq == nil) {
		return dst
	}

	dst = append(dst, "SIP/2.0 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	if strings.ContainsAny(reason, "\r\n") {
		for i := range len(reason) {
			if c := reason[i]; c != '\r' && c != '\n' {
				dst = append(dst, c)
			}
		}
	} else {
		dst = append(dst, reason...)
	}
	dst = append(dst, "\r\n"...)
	it = newHeaderIter(block)
	for name, value, ok := it.next(); ok; name, value, ok = it.next() {
		if isHeader(name, "via", "v") {
			dst = appendHeader(dst, "Via: ", value)
		}
	}
	if from != nil {
		dst = appendHeader(dst, "From: ", from)
	}
	if to != nil {
		dst = appendUnfolded(append(dst, "To: "...), to)
		if _, ok := param(to, "tag"); !ok {
			fromTag, _ := param(from, "tag")
			dst = append(dst, ";tag="...)
			dst = appendTag(dst, callID, fromTag)
		}
		dst = append(dst, "\r\n"...)
	}
	if callID != nil {
		dst = appendHeader(dst, "Call-ID: ", callID)
	}
	if cseq != nil {
		dst = appendHeader(dst, "CSeq: ", cseq)
	}
	dst = append(dst, extra...)
	return append(dst, "Content-Length: 0\r\n\r\n"...)
}

// IsLocalTag reports whether the tag of the To value to is the one
// AppendResponse and AppendRejection add for the Call-ID callID and the
// From value from: whether a request (an ACK, above all) belongs to a
// response made by this package rather than by a UAS. The tag is derived,
// not remembered, so this needs no state; another UAS's tag matches only by
// a 64-bit hash collision. It does not allocate.
func IsLocalTag(to, from, callID []byte) bool {
	tag, ok := param(to, "tag")
	if !ok || len(tag) != tagLen {
		return false
	}
	fromTag, _ := param(from, "tag")
	var buf [tagLen]byte
	return string(appendTag(buf[:0], callID, fromTag)) == string(tag)
}

// tagLen is the length of a derived To tag: 16 hex digits.
const tagLen = 16

// appendHeader appends prefix, the unfolded value and CRLF.
func appendHeader(dst []byte, prefix string, value []byte) []byte {
	dst = appendUnfolded(append(dst, prefix...), value)
	return append(dst, "\r\n"...)
}

// appendUnfolded appends v with every run of line breaks and the whitespace
// around them replaced by one space.
func appendUnfolded(dst, v []byte) []byte {
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return append(dst, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\r' && c != '\n' {
			dst = append(dst, c)
			continue
		}
		dst = trimLWSRight(dst)
		for i+1 < len(v) && isBlank(v[i+1]) {
			i++
		}
		dst = append(dst, ' ')
	}
	return dst
}

// param returns the value of the header parameter name (lower case) of a
// From or To value: the parameters follow the URI, after '>' in the
// name-addr form, or start at the first ';' in the addr-spec form.
func param(v []byte, name string) ([]byte, bool) {
	p := paramsStart(v)
	for p < len(v) {
		p++ // skip ';'
		end := p + indexOutsideQuotes(v[p:], ';')
		field := v[p:end]
		key, val := field, []byte(nil)
		if eq := bytes.IndexByte(field, '='); eq >= 0 {
			key, val = field[:eq], field[eq+1:]
		}
		klo, khi := trimSpan(key, 0, len(key))
		if equalFold(key[klo:khi], name) {
			vlo, vhi := trimSpan(val, 0, len(val))
			return val[vlo:vhi], true
		}
		p = end
	}
	return nil, false
}

// paramsStart returns the index of the ';' starting the header parameters
// of a From/To value, or len(v) when there are none.
func paramsStart(v []byte) int {
	lt := indexOutsideQuotes(v, '<')
	if lt == len(v) {
		return indexOutsideQuotes(v, ';')
	}
	gt := bytes.IndexByte(v[lt:], '>')
	if gt < 0 {
		return len(v)
	}
	rest := v[lt+gt:]
	return lt + gt + indexOutsideQuotes(rest, ';')
}

// indexOutsideQuotes returns the index of the first c in v outside a quoted
// string, or len(v).
func indexOutsideQuotes(v []byte, c byte) int {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case quoted && b == '\\':
			i++
		case b == '"':
			quoted = !quoted
		case b == c && !quoted:
			return i
		}
	}
	return len(v)
}

// appendTag appends a 16-hex-digit tag derived from the Call-ID and the From
// tag (64-bit FNV-1a), identical for every retransmission of a request.
func appendTag(dst, callID, fromTag []byte) []byte {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
		digits = "0123456789abcdef"
	)
	h := uint64(offset)
	for _, c := range callID {
		h = (h ^ uint64(c)) * prime
	}
	h *= prime // a zero separator, so ("ab","c") and ("a","bc") differ
	for _, c := range fromTag {
		h = (h ^ uint64(c)) * prime
	}
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, digits[h>>uint(shift)&0xf])
	}
	return dst
}
