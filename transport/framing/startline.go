package framing

import "bytes"

// sipVersion is the only protocol version accepted (compared ignoring case).
const sipVersion = "SIP/2.0"

// The version number of a request line, after "SIP/", is matched against
// wantVersion as it arrives: scan.k counts the bytes matched so far, or is
// versionMismatch once one differs.
const (
	wantVersion     = "2.0"
	versionMismatch = len(wantVersion) + 1
)

// lineState is where the start-line scanner is inside the first line.
type lineState uint8

const (
	lineMethod     lineState = iota // method token, or "SIP" of a status line
	lineURIStart                    // first byte of the Request-URI
	lineURI                         // rest of the Request-URI
	lineReqVer                      // "SIP/" of a request line
	lineVerMajor0                   // first digit of the major version
	lineVerMajor                    // major version digits, or '.'
	lineVerMinor0                   // first digit of the minor version
	lineVerMinor                    // minor version digits, or CR or LF
	lineLF                          // LF after CR
	lineRespVer                     // "2.0" of a status line, after "SIP/"
	lineRespSP                      // SP after the version
	lineCode                        // three-digit status code
	lineCodeSP                      // SP after the code
	lineReason                      // reason phrase up to CR or LF
	lineBadRequest                  // a malformed request line, skipped to its LF (badRequest)
)

// maxBadRequestLine bounds a malformed request line that is still read to
// its end to be answered (badRequest): longer, it is not SIP.
const maxBadRequestLine = 4096

// lineResult is the outcome of scanning the start line so far.
type lineResult uint8

const (
	lineMore lineResult = iota // valid so far, no end yet
	lineDone                   // complete and valid; scan.pos is past its LF
	lineBad                    // these bytes cannot start a SIP message
)

// startLine advances the start-line scanner over b[s.pos:]:
//
//	Request-Line = Method SP Request-URI SP SIP-Version CRLF
//	Status-Line  = SIP-Version SP Status-Code SP Reason-Phrase CRLF
//
// It rejects a byte as soon as no valid line can contain it, so a peer that
// speaks another protocol is refused after its first few bytes. A bare LF
// ends the line as well as CRLF.
//
// A request line that is well formed but for its version (SIP-Version =
// "SIP" "/" 1*DIGIT "." 1*DIGIT, other than 2.0) is not refused here: the
// header block is still scanned, and Next then reports ErrVersion with it,
// so that the request can be answered with 505. The error waits in the
// view's error slot (clErr), which Next checks first once the header block
// is complete and which no later Content-Length error replaces.
func (s *scan) startLine(b []byte) lineResult {
	if s.line == lineBadRequest {
		return s.skipBadRequest(b)
	}
	p := s.pos
	if p == 0 && len(b) >= 8 && string(b[:8]) == "SIP/2.0 " {
		p, s.line, s.k = 8, lineCode, 0 // the usual status line, in one comparison
	}
	for ; p < len(b); p++ {
		c := b[p]
		switch s.line {
		case lineMethod:
			for tokenChars[c] {
				p++
				if p == len(b) {
					s.pos = p
					return lineMore
				}
				c = b[p]
			}
			switch {
			case c == ' ' && p > 0:
				s.v.isRequest = true
				s.v.method = span{0, p}
				s.line = lineURIStart
			case c == '/' && p == 3 && equalFold(b[:3], "sip"):
				s.line, s.k = lineRespVer, len("SIP/")
			default:
				return lineBad
			}
		case lineURIStart:
			if !uriChars[c] {
				return s.badRequest(b, p)
			}
			s.line = lineURI
		case lineURI:
			for uriChars[c] {
				p++
				if p == len(b) {
					s.pos = p
					return lineMore
				}
				c = b[p]
			}
			if c != ' ' {
				return s.badRequest(b, p)
			}
			if string(b[p+1:min(p+10, len(b))]) == "SIP/2.0\r\n" {
				s.pos = p + 10 // the usual ending, in one comparison
				return lineDone
			}
			s.line, s.k = lineReqVer, 0
		case lineReqVer:
			if lowerASCII[c] != lowerASCII[sipVersion[s.k]] {
				if c != ' ' && c != '\t' {
					return lineBad // another protocol's version ("HTTP/1.1"), or garbage
				}
				return s.badRequest(b, p)
			}
			s.k++
			if s.k == len("SIP/") {
				s.line, s.k = lineVerMajor0, 0
			}
		case lineVerMajor0, lineVerMinor0:
			if c < '0' || c > '9' {
				return s.badRequest(b, p)
			}
			s.matchVersion(c)
			if s.line == lineVerMajor0 {
				s.line = lineVerMajor
			} else {
				s.line = lineVerMinor
			}
		case lineVerMajor:
			switch {
			case c == '.':
				s.line = lineVerMinor0
			case c < '0' || c > '9':
				return s.badRequest(b, p)
			}
			s.matchVersion(c)
		case lineVerMinor:
			if c == '\r' || c == '\n' {
				if s.k != len(wantVersion) {
					s.v.clErr = ErrVersion
				}
				if c == '\n' {
					s.pos = p + 1
					return lineDone
				}
				s.line = lineLF
				continue
			}
			if c < '0' || c > '9' {
				return s.badRequest(b, p)
			}
			s.matchVersion(c)
		case lineRespVer:
			if lowerASCII[c] != lowerASCII[sipVersion[s.k]] {
				return lineBad
			}
			s.k++
			if s.k == len(sipVersion) {
				s.line = lineRespSP
			}
		case lineRespSP, lineCodeSP:
			if c != ' ' {
				return lineBad
			}
			if s.line == lineRespSP {
				s.line, s.k = lineCode, 0
			} else {
				s.line = lineReason
			}
		case lineCode:
			if c < '0' || c > '9' || (s.k == 0 && (c < '1' || c > '6')) {
				return lineBad
			}
			s.v.status = s.v.status*10 + int(c-'0')
			s.k++
			if s.k == 3 {
				s.line = lineCodeSP
			}
		case lineReason:
			for c != '\r' && c != '\n' {
				p++
				if p == len(b) {
					s.pos = p
					return lineMore
				}
				c = b[p]
			}
			if c == '\n' {
				s.pos = p + 1
				return lineDone
			}
			s.line = lineLF
		case lineLF:
			if c != '\n' {
				return lineBad
			}
			s.pos = p + 1
			return lineDone
		}
	}
	s.pos = p
	return lineMore
}

// matchVersion advances the match of the version number against
// wantVersion by the byte c.
func (s *scan) matchVersion(c byte) {
	if s.k < len(wantVersion) && c == wantVersion[s.k] {
		s.k++
		return
	}
	s.k = versionMismatch
}

// badRequest handles b[p], a byte no valid request line can hold there. A
// line that began as a request does (a method token, then SP) and ends as
// one does (" SIP/2.0", whatever lies between: two SPs, a space at the
// end, a URI in <>) is read to its end and its header block scanned, then
// reported as ErrRequestLine with the header block, so that it can be
// answered with 400 (RFC 4475 §3.1.2 lists such lines among the messages a
// server rejects with 400). Anything else is not SIP (lineBad), and a peer
// speaking another protocol (an HTTP request line ends otherwise) is still
// refused at its first line.
func (s *scan) badRequest(b []byte, p int) lineResult {
	if !s.v.isRequest {
		return lineBad
	}
	s.line, s.pos = lineBadRequest, p
	return s.skipBadRequest(b)
}

// skipBadRequest looks for the end of a malformed request line.
func (s *scan) skipBadRequest(b []byte) lineResult {
	i := bytes.IndexByte(b[s.pos:], '\n')
	if i < 0 {
		if len(b) >= maxBadRequestLine {
			return lineBad
		}
		s.pos = len(b)
		return lineMore
	}
	end := s.pos + i
	if cr := bytes.IndexByte(b[s.pos:end], '\r'); cr >= 0 && s.pos+cr != end-1 {
		return lineBad // a CR that does not end the line
	}
	line := b[:end]
	for len(line) > 0 && (line[len(line)-1] == '\r' || line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	const suffix = " sip/2.0" // " " + sipVersion, lower case for equalFold
	if end > maxBadRequestLine || len(line) < len(suffix) || !equalFold(line[len(line)-len(suffix):], suffix) {
		return lineBad
	}
	s.v.clErr = ErrRequestLine
	s.pos = end + 1
	return lineDone
}
