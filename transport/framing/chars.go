package framing

// Byte classes used while scanning. Tables are constant after init and never
// written again.

// tokenChars marks the bytes of an RFC 3261 token (§25.1): alphanum and
// - . ! % * _ + ` ' ~
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "-.!%*_+`'~" {
		t[c] = true
	}
	return t
}()

// IsTokenChar reports whether c may appear in an RFC 3261 token (§25.1),
// for other scanners of SIP text (the forwarder's header splicing).
func IsTokenChar(c byte) bool { return tokenChars[c] }

// uriChars marks the bytes allowed in a Request-URI: anything visible,
// including UTF-8, but no space or control byte.
var uriChars = func() (t [256]bool) {
	for c := 0x21; c < 256; c++ {
		t[c] = c != 0x7f
	}
	return t
}()

// lowerASCII maps A-Z to a-z and every other byte to itself.
var lowerASCII = func() (t [256]byte) {
	for c := range t {
		t[c] = byte(c)
		if c >= 'A' && c <= 'Z' {
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// isLWS reports whether c is a space or a horizontal tab.
func isLWS(c byte) bool { return c == ' ' || c == '\t' }

// isBlank reports whether c is skipped before a start line: CR, LF, SP, TAB.
func isBlank(c byte) bool { return c == '\r' || c == '\n' || c == ' ' || c == '\t' }

// equalFold reports whether b equals lower, a lower-case ASCII string,
// ignoring ASCII case in b.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		if lowerASCII[b[i]] != lower[i] {
			return false
		}
	}
	return true
}

// trimSpan returns the bounds of b[lo:hi] without leading and trailing
// SP, TAB, CR and LF (the latter two appear in folded values).
func trimSpan(b []byte, lo, hi int) (int, int) {
	for lo < hi && isBlank(b[lo]) {
		lo++
	}
	for hi > lo && isBlank(b[hi-1]) {
		hi--
	}
	return lo, hi
}

// trimLWSRight returns b without trailing SP and TAB.
func trimLWSRight(b []byte) []byte {
	n := len(b)
	for n > 0 && isLWS(b[n-1]) {
		n--
	}
	return b[:n]
}

// maxContentLength is the largest Content-Length accepted (2^31-1, the
// bound RFC 3261 sets for CSeq and sipgo for Content-Length); anything
// larger is malformed rather than merely too large.
const maxContentLength = 1<<31 - 1

// parseContentLength parses a trimmed Content-Length value: one or more
// decimal digits, at most maxContentLength.
func parseContentLength(v []byte) (int, bool) {
	if len(v) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > maxContentLength {
			return 0, false
		}
	}
	return n, true
}
