package framing

// Kind is what Framer.Next found at the start of the buffer.
type Kind uint8

// The kinds of results.
const (
	// NeedMore: the buffer holds no complete item yet. Result.Partial says
	// whether a message has started (it counts toward chunk and time limits)
	// or only whitespace that may still turn out to be a ping is pending.
	NeedMore Kind = iota
	// Message: Result.Frame is a complete message; Result.N bytes are consumed.
	Message
	// Ping: a CRLFCRLF keep-alive (RFC 5626) between messages; Result.N = 4.
	Ping
	// Whitespace: Result.N bytes of CR/LF/SP/TAB before a start line to skip,
	// among them a lone CRLF keep-alive when Result.LoneCRLF is set.
	Whitespace
	// Error: the stream cannot be framed; Result.Err says why. When the
	// header block was complete, Result.Frame holds it (Data = the header
	// block) so that an error response can be formed.
	Error
)

// String returns the kind's lower-case name.
func (k Kind) String() string {
	switch k {
	case NeedMore:
		return "need-more"
	case Message:
		return "message"
	case Ping:
		return "ping"
	case Whitespace:
		return "whitespace"
	case Error:
		return "error"
	default:
		return "unknown"
	}
}

// Frame is a framed SIP message and a small view of its headers. Every slice
// aliases the buffer passed to Next (with its capacity cut at its end, so an
// append never overwrites the stream).
type Frame struct {
	// Data is the whole message: start line, headers, blank line, body.
	Data []byte
	// HeaderLen is the length of the start line and headers including the
	// blank line that ends them; the body is Data[HeaderLen:].
	HeaderLen     int
	ContentLength int
	IsRequest     bool
	// Method is the request method (requests only).
	Method []byte
	// StatusCode is the response status (responses only).
	StatusCode int
	// CallID and CSeq are the trimmed values of the first Call-ID (or "i")
	// and CSeq headers; Via is the first via-parm (up to a comma) of the
	// first Via (or "v") header. Each is nil when the header is absent. A
	// folded value keeps its line break.
	CallID []byte
	CSeq   []byte
	Via    []byte
}

// Body returns the message body, Data[HeaderLen:].
func (f *Frame) Body() []byte { return f.Data[f.HeaderLen:] }

// Result is what Next reports.
type Result struct {
	Kind     Kind
	N        int
	Partial  bool
	LoneCRLF bool
	// Need, with NeedMore, is the length of the whole message once its
	// header block is complete (the buffer must grow to Need bytes), else 0.
	Need  int
	Frame Frame
	Err   error
}
