package framing

import "errors"

// Sentinel errors reported in Result.Err. Compare with errors.Is.
var (
	// ErrNotSIP: the first line is not a SIP/2.0 request or status line.
	ErrNotSIP = errors.New("framing: not a SIP message")
	// ErrRequestLine: a request line that begins and ends as one does but
	// is malformed between (two SPs between its elements, a space at its
	// end, a URI in <>). It is reported once the header block is
	// complete, with it, so that the request can be answered with 400.
	ErrRequestLine = errors.New("framing: malformed request line")
	// ErrVersion: a well-formed request line whose SIP-Version is not
	// SIP/2.0 ("SIP/7.0", RFC 4475 §3.1.2.16). It is reported once the
	// header block is complete, so that the request can be answered with
	// 505 Version Not Supported (RFC 3261 §21.5.6).
	ErrVersion = errors.New("framing: SIP version not supported")
	// ErrNoContentLength: the header block has no Content-Length (or "l"),
	// which RFC 3261 §18.3 makes mandatory on a stream.
	ErrNoContentLength = errors.New("framing: missing Content-Length")
	// ErrBadContentLength: a Content-Length value is not a decimal number
	// between 0 and 2^31-1.
	ErrBadContentLength = errors.New("framing: bad Content-Length")
	// ErrConflictingContentLength: Content-Length headers with different
	// values (RFC 4475 §3.1.2.x torture cases).
	ErrConflictingContentLength = errors.New("framing: conflicting Content-Length values")
	// ErrTooLarge: the header block, or the header block plus the body
	// announced by Content-Length, exceeds Framer.MaxMessageBytes.
	ErrTooLarge = errors.New("framing: message too large")
)

// ErrorStatus maps a framing error to the status code and reason phrase of
// the response a server sends before closing: 513 for ErrTooLarge (RFC 3261
// §21.5.7), 505 for ErrVersion (§21.5.6), 400 with a phrase naming the
// fault for the others.
func ErrorStatus(err error) (code int, reason string) {
	switch {
	case errors.Is(err, ErrTooLarge):
		return 513, "Message Too Large"
	case errors.Is(err, ErrVersion):
		return 505, "Version Not Supported"
	case errors.Is(err, ErrNoContentLength):
		return 400, "Missing Content-Length"
	case errors.Is(err, ErrBadContentLength):
		return 400, "Bad Content-Length"
	case errors.Is(err, ErrConflictingContentLength):
		return 400, "Conflicting Content-Length"
	case errors.Is(err, ErrNotSIP), errors.Is(err, ErrRequestLine):
		return 400, "Bad Request Line"
	default:
		return 400, "Bad Request"
	}
}
