package forward

// magicCookie starts every RFC 3261 branch; branchPrefix starts sipwire's.
const (
	magicCookie  = "z9hG4bK"
	branchPrefix = magicCookie + "sw"
)

// 64-bit FNV-1a.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvAdd hashes b into h, then a zero separator so that ("ab","c") and
// ("a","bc") differ.
func fnvAdd(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h * fnvPrime
}

// branchHash is the stateless branch of a forwarded request (RFC 3261
// §16.11): the same for a retransmission, for the CANCEL of an INVITE and
// for the ACK of a non-2xx final response, because the method is left out.
// When the incoming top Via has an RFC 3261 branch it covers that branch and
// the sent-by; otherwise the From and To tags, Call-ID, CSeq number,
// Request-URI and the whole top via-parm.
func branchHash(b []byte, v *via, h *headers, uri span, callID, cseq []byte) uint64 {
	hs := uint64(fnvOffset)
	if br := v.branch.of(b); len(br) > len(magicCookie) && string(br[:len(magicCookie)]) == magicCookie {
		hs = fnvAdd(hs, br)
		return fnvAdd(hs, v.sentBy.of(b))
	}
	hs = fnvAdd(hs, headerTag(b, &h.from))
	hs = fnvAdd(hs, headerTag(b, &h.to))
	hs = fnvAdd(hs, callID)
	hs = fnvAdd(hs, cseqNumber(cseq))
	hs = fnvAdd(hs, uri.of(b))
	return fnvAdd(hs, b[h.via.vlo:v.end])
}

// appendHex16 appends h as 16 lower-case hex digits.
func appendHex16(dst []byte, h uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, digits[h>>uint(shift)&0xf])
	}
	return dst
}

// cseqNumber returns the sequence number of a CSeq value.
func cseqNumber(v []byte) []byte {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	return v[:i]
}

// headerTag returns the tag parameter of a From or To header, or nil: the
// parameters follow the '>' of a name-addr, or the URI of an addr-spec
// (which cannot have parameters of its own).
func headerTag(b []byte, f *field) []byte {
	if !f.present() {
		return nil
	}
	lo, hi := f.vlo, f.vhi
	p := indexOutsideQuotes(b, lo, hi, '<')
	if p < hi {
		gt := indexIn(b, p, hi, '>')
		if gt < 0 {
			return nil
		}
		p = gt + 1
	} else {
		p = lo
	}
	for {
		p = indexOutsideQuotes(b, p, hi, ';')
		if p >= hi {
			return nil
		}
		p = skipBlank(b, p+1, hi)
		n0 := p
		p = skipToken(b, p, hi)
		name := b[n0:p]
		e := skipBlank(b, p, hi)
		if e >= hi || b[e] != '=' {
			continue
		}
		v0 := skipBlank(b, e+1, hi)
		v1 := v0
		for v1 < hi && !valueEnd[b[v1]] {
			v1++
		}
		if equalFold(name, "tag") {
			return b[v0:v1]
		}
		p = v1
	}
}
