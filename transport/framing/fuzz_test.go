package framing

import (
	"bytes"
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
