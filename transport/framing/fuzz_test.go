package framing

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzFramer frames data whole and in reads whose sizes come from sizes and
// checks: no panic; every result's invariants (progress, aliasing, sizes);
// the same transcript whatever the chunking; each message frames alone to
// itself; and, under the default limit, agreement with sipgo's stream
// parser on streams both are meant to accept. An odd sizes[0] selects a
// small MaxMessageBytes to reach the limits. Last, it calls Next on
// prefixes that break the caller's contract, which must not panic.
func FuzzFramer(f *testing.F) {
	for _, st := range streams {
		f.Add([]byte(st.in), []byte{})
		f.Add([]byte(st.in), []byte{0})
		f.Add([]byte(st.in), []byte{7, 1, 40, 3})
	}
	for _, m := range seedMessages {
		f.Add([]byte(m+"\r\n\r\n"+m), []byte{2, 5})
		f.Add([]byte(m), []byte{1})
	}
	f.Add([]byte("\r\n\r\n\r\n\r\n"), []byte{0, 1, 2})
	f.Add([]byte("\r\n\r\r\n\n\r"), []byte{0})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		limit := 0
		if len(sizes) > 0 && sizes[0]&1 == 1 {
			limit = 16 + 2*int(sizes[0])
		}
		ref := frameStream(t, data, limit, whole)
		if diff := sameOutcome(ref, frameStream(t, data, limit, cycled(sizes))); diff != "" {
			t.Fatalf("chunked by %v: %s", sizes, diff)
		}
		if len(data) <= 2048 {
			if diff := sameOutcome(ref, frameStream(t, data, limit, cycled([]byte{0}))); diff != "" {
				t.Fatalf("one byte per read: %s", diff)
			}
		}
		for _, m := range ref.messages() {
			var fr Framer
			var r Result
			fr.MaxMessageBytes = limit
			fr.Next([]byte(m), &r)
			if r.Kind != Message || r.N != len(m) || !bytes.Equal(r.Frame.Data, []byte(m)) {
				t.Fatalf("a framed message does not frame alone: %v %v", r.Kind, r.Err)
			}
		}
		if limit == 0 {
			if diff := diffSipgo(t, data); diff != "" {
				t.Fatalf("sipgo disagrees: %s", diff)
			}
		}
		// Break the contract: prefixes that shrink as well as grow, and a
		// limit that changes; results must still be well-formed.
		var mis Framer
		var r Result
		for i, sz := range sizes {
			mis.MaxMessageBytes = limit + i%3*int(sz)
			buf := data[:min(len(data), int(sz)*(i%5+1))]
			mis.Next(buf, &r)
			checkResult(t, buf, &r)
		}
	})
}

// source hands out the fuzz input's bytes, then zeros.
type source []byte

func (s *source) byte() byte {
	if len(*s) == 0 {
		return 0
	}
	c := (*s)[0]
	*s = (*s)[1:]
	return c
}

// lengthSpellings are the ways a Content-Length header may be written.
var lengthSpellings = []string{"Content-Length: %d", "l:%d", "content-length \t:  %d  ", "CONTENT-LENGTH:\r\n %d", "L: 000%d"}

// The bytes random bodies and Call-IDs are made of.
const (
	bodyBytes   = "\r\n\x00abc:; "
	callIDBytes = "abcXYZ019-.!%*_+`'~()<>:@"
)

// validStream builds a valid stream from the fuzz input: seed messages with
// random bodies (rich in CR, LF and NUL), Call-IDs and Content-Length
// spellings, separated by keep-alives.
func validStream(src source) []byte {
	var out []byte
	for range int(src.byte()%4) + 1 {
		out = append(out, [...]string{"", "\r\n", "\r\n\r\n", "\r\n\r\n\r\n"}[src.byte()%4]...)
		base := seedMessages[int(src.byte())%len(seedMessages)]
		body := make([]byte, int(src.byte()%80))
		for i := range body {
			body[i] = bodyBytes[int(src.byte())%len(bodyBytes)]
		}
		callID := make([]byte, int(src.byte()%12)+1)
		for i := range callID {
			callID[i] = callIDBytes[int(src.byte())%len(callIDBytes)]
		}
		spelling := lengthSpellings[int(src.byte())%len(lengthSpellings)]
		head := base[:strings.Index(base, "\r\n\r\n")+2]
		for _, line := range strings.SplitAfter(head, "\r\n") {
			name, _, _ := strings.Cut(line, ":")
			switch name {
			case "Content-Length", "l":
				out = append(out, strings.Replace(spelling, "%d", itoa(len(body)), 1)+"\r\n"...)
			case "Call-ID", "i":
				out = append(out, name+": "+string(callID)+"\r\n"...)
			default:
				out = append(out, line...)
			}
		}
		out = append(out, "\r\n"...)
		out = append(out, body...)
	}
	return out
}

// FuzzFramerValid frames valid streams built from the input (see
// validStream) whole and in reads sized by the rest of the input, and
// requires agreement with sipgo's stream parser on every one of them.
func FuzzFramerValid(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 1, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 5, 1, 2, 3, 4, 5, 2})
	f.Add(bytes.Repeat([]byte{1, 2, 3, 0, 9, 4}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		stream := validStream(source(data))
		ref := frameStream(t, stream, 0, whole)
		if !comparable(ref) || ref.end.Kind != NeedMore {
			t.Fatalf("a valid stream does not frame: %v %v\n%q", ref.end.Kind, ref.end.Err, stream)
		}
		if _, ok := sipgoStream(stream); !ok {
			t.Fatalf("sipgo rejects a valid stream:\n%q", stream)
		}
		if diff := diffSipgo(t, stream); diff != "" {
			t.Fatalf("sipgo disagrees: %s\n%q", diff, stream)
		}
		if diff := sameOutcome(ref, frameStream(t, stream, 0, cycled(data))); diff != "" {
			t.Fatalf("chunked: %s", diff)
		}
	})
}
