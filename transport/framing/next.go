package framing

// DefaultMaxMessageBytes bounds a message when Framer.MaxMessageBytes is 0;
// it matches OpenSIPS' per-connection TCP buffer.
const DefaultMaxMessageBytes = 65535

// Framer splits one connection's byte stream into SIP messages. It keeps
// only what it needs to resume scanning where the previous call stopped, so
// feeding a message one byte per read costs O(n) in total. The zero value is
// ready to use; a Framer serves one stream and is not safe for concurrent
// use.
type Framer struct {
	// MaxMessageBytes bounds a message: the header block, and the header
	// block plus its Content-Length body. Only the first MaxMessageBytes
	// bytes of a message are ever examined. Zero or less means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int

	s scan
}

// phase is how far the Framer got in the current item.
type phase uint8

const (
	phaseIdle    phase = iota // at a message boundary
	phaseLine                 // inside the start line
	phaseHeaders              // inside the header block
	phaseBody                 // header block complete, waiting for the body
)

// span is a byte range [off, end) of the current message; end 0 means unset
// (nothing of interest ends at offset 0, which holds the start line).
type span struct{ off, end int }

// view is the header view of the current message, as offsets so that it
// survives the caller growing or moving its buffer between calls.
type view struct {
	isRequest bool
	method    span
	status    int
	callID    span
	cseq      span
	via       span
	headerLen int
	clSeen    bool
	cl        int
	clErr     error
}

// scan is the resume state: where the previous call stopped in the current
// message, whose first byte is always buf[0].
type scan struct {
	phase  phase
	pos    int       // next byte to examine
	lfFrom int       // where the search for the LF ending the line at pos resumes
	line   lineState // start-line scanner state
	k      int       // progress inside the start-line state
	hdr    int       // start of the pending logical header, 0 when none
	v      view
}

// Reset forgets any partly scanned message. Call it when the stream's
// buffer is discarded without consuming what Next reported.
func (f *Framer) Reset() { f.s = scan{} }

func (f *Framer) maxBytes() int {
	if f.MaxMessageBytes <= 0 {
		return DefaultMaxMessageBytes
	}
	return f.MaxMessageBytes
}

// Next examines buf, the unconsumed bytes of the stream, and describes its
// first item in r:
//
//   - NeedMore: no complete item yet; read more, append, call again with the
//     same prefix (Partial tells whether a message has started, Need how
//     long it is once known).
//   - Message: r.Frame is the first message, r.N = len(r.Frame.Data).
//   - Ping: "\r\n\r\n" at a message boundary, r.N = 4.
//   - Whitespace: r.N bytes of CR/LF/SP/TAB to skip; LoneCRLF marks a single
//     CRLF keep-alive (RFC 5626 pong).
//   - Error: the stream cannot be framed any further (r.N = 0); the
//     connection should be closed, after an error response when r.Frame
//     holds a request's header block (see AppendResponse and ErrorStatus).
//
// After Message, Ping and Whitespace the caller drops r.N bytes and calls
// again; between NeedMore results it only appends to buf. Every slice in r
// aliases buf. Next never allocates.
func (f *Framer) Next(buf []byte, r *Result) {
	*r = Result{}
	s := &f.s
	limit := f.maxBytes()
	win := buf
	if len(win) > limit {
		win = win[:limit]
	}
	if s.pos > len(win) || s.lfFrom > len(win) {
		// The caller dropped bytes without consuming an item, or lowered
		// MaxMessageBytes mid-message: start over.
		f.Reset()
	}
	if s.phase == phaseIdle {
		if len(buf) == 0 {
			return
		}
		if isBlank(buf[0]) {
			blank(buf, r)
			return
		}
		s.phase = phaseLine
	}
	switch s.phase {
	case phaseLine:
		switch s.startLine(win) {
		case lineBad:
			f.fail(r, ErrNotSIP, nil)
			return
		case lineMore:
			f.needMore(buf, limit, r)
			return
		}
		s.phase = phaseHeaders
		fallthrough
	case phaseHeaders:
		if !s.headerBlock(win) {
			f.needMore(win, limit, r)
			return
		}
		v := &s.v
		var err error
		switch {
		case v.clErr != nil:
			err = v.clErr
		case !v.clSeen:
			err = ErrNoContentLength
		case v.headerLen+v.cl > limit:
			err = ErrTooLarge
		}
		if err != nil {
			f.fail(r, err, buf[:v.headerLen])
			return
		}
		s.phase = phaseBody
		fallthrough
	case phaseBody:
		n := s.v.headerLen + s.v.cl
		if len(buf) < n {
			r.Partial, r.Need = true, n
			return
		}
		r.Kind, r.N = Message, n
		s.v.fill(&r.Frame, buf[:n:n])
		f.Reset()
	}
}

// needMore reports NeedMore for a started message, or ErrTooLarge when the
// message already filled MaxMessageBytes without its header block ending.
// Then the header lines of a request scanned so far are exposed in r.Frame
// as its header block, so that a 513 can still be formed from them.
func (f *Framer) needMore(buf []byte, limit int, r *Result) {
	if len(buf) < limit {
		r.Partial = true
		return
	}
	s := &f.s
	if s.phase != phaseHeaders || !s.v.isRequest || s.pos == 0 {
		f.fail(r, ErrTooLarge, nil)
		return
	}
	if s.hdr > 0 {
		s.header(buf, s.hdr, s.pos)
		s.hdr = 0
	}
	s.v.headerLen = s.pos
	f.fail(r, ErrTooLarge, buf[:s.pos])
}

// fail reports err; header, when not nil, is the complete header block,
// exposed in r.Frame for an error response.
func (f *Framer) fail(r *Result, err error, header []byte) {
	r.Kind, r.Err = Error, err
	if header != nil {
		f.s.v.fill(&r.Frame, header[:len(header):len(header)])
	}
	f.Reset()
}

// blank classifies the CR/LF/SP/TAB bytes at a message boundary.
func blank(buf []byte, r *Result) {
	if buf[0] == '\r' {
		switch {
		case len(buf) < 2:
			// A lone CR may become CRLF.
		case buf[1] != '\n':
			r.Kind, r.N = Whitespace, 1
		case len(buf) < 3:
			// CRLF may become CRLFCRLF.
		case buf[2] != '\r':
			r.Kind, r.N, r.LoneCRLF = Whitespace, 2, true
		case len(buf) < 4:
			// CRLFCR may become CRLFCRLF.
		case buf[3] == '\n':
			r.Kind, r.N = Ping, 4
		default:
			r.Kind, r.N, r.LoneCRLF = Whitespace, 2, true
		}
		return
	}
	n := 1
	for n < len(buf) && (buf[n] == '\n' || isLWS(buf[n])) {
		n++
	}
	r.Kind, r.N = Whitespace, n
}

// fill exposes the view over data, the message (or its header block).
func (v *view) fill(fr *Frame, data []byte) {
	fr.Data = data
	fr.HeaderLen = v.headerLen
	fr.ContentLength = v.cl
	fr.IsRequest = v.isRequest
	if v.isRequest {
		fr.Method = v.method.of(data)
	} else {
		fr.StatusCode = v.status
	}
	fr.CallID = v.callID.of(data)
	fr.CSeq = v.cseq.of(data)
	fr.Via = v.via.of(data)
}

// of returns data[sp.off:sp.end], or nil when sp is unset.
func (sp span) of(data []byte) []byte {
	if sp.end == 0 {
		return nil
	}
	return data[sp.off:sp.end:sp.end]
}
