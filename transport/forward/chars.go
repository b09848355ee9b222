package forward

import "github.com/sipwire/sipwire/transport/framing"

// span is the byte range [lo, hi) of a message.
type span struct{ lo, hi int }

func (s span) of(b []byte) []byte { return b[s.lo:s.hi] }

func (s span) empty() bool { return s.hi <= s.lo }

// hostEnd marks the bytes that end the host of a sent-by or a URI.
var hostEnd = bytesSet(":;,?>\" \t\r\n")

// valueEnd marks the bytes that end an unquoted parameter value.
var valueEnd = bytesSet(";,?> \t\r\n")

func bytesSet(s string) (t [256]bool) {
	for i := range len(s) {
		t[s[i]] = true
	}
	return t
}

func isLWS(c byte) bool { return c == ' ' || c == '\t' }

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether b equals s ignoring ASCII case (s lower case
// for letters).
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// equalFoldBytes is equalFold for two byte slices, both sides folded.
func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func skipBlank(b []byte, p, hi int) int {
	for p < hi && isBlank(b[p]) {
		p++
	}
	return p
}

func skipToken(b []byte, p, hi int) int {
	for p < hi && framing.IsTokenChar(b[p]) {
		p++
	}
	return p
}

// trim returns [lo, hi) without leading and trailing blanks.
func trim(b []byte, lo, hi int) (int, int) {
	for lo < hi && isBlank(b[lo]) {
		lo++
	}
	for hi > lo && isBlank(b[hi-1]) {
		hi--
	}
	return lo, hi
}

// indexIn returns the index of the first c in b[lo:hi] (as an index of b),
// or -1.
func indexIn(b []byte, lo, hi int, c byte) int {
	for i := lo; i < hi; i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// indexOutsideQuotes returns the index of the first c in b[lo:hi] that is
// not inside a quoted string, or hi.
func indexOutsideQuotes(b []byte, lo, hi int, c byte) int {
	quoted := false
	for i := lo; i < hi; i++ {
		switch x := b[i]; {
		case quoted && x == '\\':
			i++
		case x == '"':
			quoted = !quoted
		case x == c && !quoted:
			return i
		}
	}
	return hi
}

// skipQuoted returns the index after the quoted string starting at b[p]
// ('"'), or hi when it does not end.
func skipQuoted(b []byte, p, hi int) int {
	for i := p + 1; i < hi; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return hi
}

// parseUint parses the decimal b[lo:hi] (at most 9 digits).
func parseUint(b []byte, lo, hi int) (uint64, bool) {
	if lo >= hi || hi-lo > 9 {
		return 0, false
	}
	var n uint64
	for _, c := range b[lo:hi] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// parseID parses a connection id (up to 20 digits).
func parseID(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parsePort parses the port digits starting at b[p]; it returns the port
// and the index after it.
func parsePort(b []byte, p, hi int) (uint16, int, bool) {
	q := p
	for q < hi && b[q] >= '0' && b[q] <= '9' {
		q++
	}
	n, ok := parseUint(b, p, q)
	if !ok || n == 0 || n > 65535 {
		return 0, q, false
	}
	return uint16(n), q, true
}
