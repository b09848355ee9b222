package framing

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// parsed is what the differential check compares of one message.
type parsed struct {
	body   string
	callID string
}

// sipgoStream frames stream with sipgo's stream parser (sip.ParserStream),
// the way its TCP transport does. sipgo reports a keep-alive as an
// incomplete message after consuming it, so parsing goes on while the
// buffer shrinks. ok is false when sipgo rejects the stream.
func sipgoStream(stream []byte) (msgs []parsed, ok bool) {
	ps := sip.NewParser().NewSIPStream()
	defer ps.Close()
	if _, err := ps.Write(stream); err != nil {
		return nil, false
	}
	for ps.Buffer().Len() > 0 {
		before := ps.Buffer().Len()
		m, _, err := ps.ParseNext()
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			if ps.Buffer().Len() == before {
				return msgs, true
			}
		case err != nil:
			return msgs, false
		default:
			p := parsed{body: string(m.Body())}
			if id := m.CallID(); id != nil {
				p.callID = id.Value()
			}
			msgs = append(msgs, p)
		}
	}
	return msgs, true
}

// ours frames stream with the Framer, unfolding Call-IDs as sipgo does.
func ours(tb testing.TB, stream []byte) ([]parsed, outcome) {
	o := frameStream(tb, stream, 0, whole)
	var msgs []parsed
	for _, m := range o.messages() {
		var f Framer
		var r Result
		f.Next([]byte(m), &r)
		// sipgo also trims Unicode white space (bytes.TrimSpace).
		callID := bytes.TrimSpace(appendUnfolded(nil, r.Frame.CallID))
		msgs = append(msgs, parsed{body: string(r.Frame.Body()), callID: string(callID)})
	}
	return msgs, o
}

// comparable reports whether both parsers are meant to agree on stream:
// the Framer framed it without error and ends at a message boundary, and
// it avoids the liberties the Framer takes that sipgo does not: only CRLF
// line ends in header blocks, and nothing but CRLF pairs between messages
// (sipgo skips no other whitespace). It also leaves out what RFC 3261
// forbids and the two resolve differently: header names that are not
// tokens, and several Call-IDs (the Framer keeps the first, sipgo the last).
func comparable(o outcome) bool {
	if o.end.Kind != NeedMore || o.end.Partial {
		return false
	}
	for _, it := range o.items {
		switch it.kind {
		case Error:
			return false
		case Whitespace:
			if !it.lone {
				return false
			}
		case Message:
			var f Framer
			var r Result
			f.Next([]byte(it.data), &r)
			if !strictLines(r.Frame.Data[:r.Frame.HeaderLen]) || !strictHeaders(r.Frame.Data[:r.Frame.HeaderLen]) {
				return false
			}
		}
	}
	return true
}

// strictLines reports whether every CR in b is followed by LF and every LF
// preceded by CR.
func strictLines(b []byte) bool {
	return bytes.Count(b, []byte("\r")) == bytes.Count(b, []byte("\n")) &&
		bytes.Count(b, []byte("\r")) == bytes.Count(b, []byte("\r\n"))
}

// strictHeaders reports whether every header line of the block b starts
// with a token name followed by optional SP/TAB and a colon, or is a
// continuation line, and whether there is at most one Call-ID value.
func strictHeaders(b []byte) bool {
	lines := bytes.Split(b[bytes.IndexByte(b, '\n')+1:], []byte("\r\n"))
	var callID []byte
	for _, line := range lines {
		if len(line) == 0 || isLWS(line[0]) {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		name := trimLWSRight(line[:colon])
		for _, c := range name {
			if !tokenChars[c] {
				return false
			}
		}
	}
	it := newHeaderIter(b)
	for name, value, ok := it.next(); ok; name, value, ok = it.next() {
		if isHeader(name, "call-id", "i") {
			if callID != nil && !bytes.Equal(callID, value) {
				return false
			}
			callID = value
		}
	}
	return true
}

// diffSipgo compares the two parsers on stream when they are meant to
// agree and sipgo accepts it; it returns what differs, or "".
func diffSipgo(tb testing.TB, stream []byte) string {
	mine, o := ours(tb, stream)
	if !comparable(o) {
		return ""
	}
	theirs, ok := sipgoStream(stream)
	if !ok {
		return ""
	}
	if len(mine) != len(theirs) {
		return "framer found " + itoa(len(mine)) + " messages, sipgo " + itoa(len(theirs))
	}
	for i := range mine {
		if mine[i].body != theirs[i].body {
			return "body of message " + itoa(i) + " differs"
		}
		if mine[i].callID != theirs[i].callID {
			return "Call-ID of message " + itoa(i) + " differs: " + mine[i].callID + " vs " + theirs[i].callID
		}
	}
	return ""
}

// TestSipgoAgrees runs the differential check on the valid streams, and
// makes sure sipgo accepted each of them, so the check cannot pass
// vacuously.
func TestSipgoAgrees(t *testing.T) {
	valid := []string{
		msgInvite, msgRegister, msgOK, msgRinging, msgOptions, msgCompact,
		msgInvite + msgRinging + msgOK,
		"\r\n" + msgOptions + "\r\n\r\n" + msgOK + "\r\n\r\n\r\n" + msgRegister,
		withBody("MESSAGE sip:a@b SIP/2.0\nCall-ID: body\nl: ?\n\n", "\r\n\r\nSIP/2.0 200 OK\r\nl: 5\r\n\r\n\x00\x00") + msgOK,
		crlf("OPTIONS sip:a@b SIP/2.0\nCall-ID: fol\n ded\nContent-Length:\n 0\n\n"),
	}
	for i, s := range valid {
		if _, o := ours(t, []byte(s)); !comparable(o) {
			t.Fatalf("stream %d is not comparable", i)
		}
		if _, ok := sipgoStream([]byte(s)); !ok {
			t.Fatalf("sipgo rejects stream %d", i)
		}
		if diff := diffSipgo(t, []byte(s)); diff != "" {
			t.Errorf("stream %d: %s", i, diff)
		}
	}
}
