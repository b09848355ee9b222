package framing

import "testing"

// item is one result of framing a stream, copied out of the buffer.
type item struct {
	kind Kind
	n    int
	lone bool
	data string // the message, or the header block of an error
	err  error
}

// outcome is the whole transcript of framing a stream.
type outcome struct {
	items []item
	// end is the last result: NeedMore once the input is used up, or Error.
	end Result
}

// messages returns the framed messages.
func (o outcome) messages() []string {
	var ms []string
	for _, it := range o.items {
		if it.kind == Message {
			ms = append(ms, it.data)
		}
	}
	return ms
}

// whole reads a stream in one piece.
func whole(int) int { return 1 << 30 }

// cycled reads a stream in pieces of sizes[i]+1 bytes, cycling through sizes.
func cycled(sizes []byte) func(int) int {
	if len(sizes) == 0 {
		return whole
	}
	return func(read int) int { return int(sizes[read%len(sizes)]) + 1 }
}

// splitAt reads a stream in two pieces, the first k bytes long.
func splitAt(k int) func(int) int {
	return func(read int) int {
		if read == 0 {
			return k
		}
		return 1 << 30
	}
}

// frameStream feeds stream to a fresh Framer the way a connection reader
// does: it appends one read at a time (chunk(i) is the size of read i) and
// calls Next until it needs more, dropping what each result consumed. It
// checks each result's invariants and returns the transcript, with runs of
// plain whitespace merged so that transcripts of different chunkings
// compare equal.
func frameStream(tb testing.TB, stream []byte, limit int, chunk func(read int) int) outcome {
	tb.Helper()
	f := Framer{MaxMessageBytes: limit}
	var (
		out     outcome
		pending []byte
		r       Result
		off     int
	)
	for read := 0; off < len(stream) || read == 0; read++ {
		n := min(len(stream)-off, max(chunk(read), 1))
		pending = append(pending, stream[off:off+n]...)
		off += n
		for {
			f.Next(pending, &r)
			checkResult(tb, pending, &r)
			if r.Kind == NeedMore {
				break
			}
			out.add(r)
			if r.Kind == Error {
				out.end = r
				return out
			}
			// Move the rest to a new array and scribble over the old one, so
			// that any slice kept across calls would show.
			rest := append([]byte(nil), pending[r.N:]...)
			for i := range pending {
				pending[i] = '#'
			}
			pending = rest
		}
	}
	out.end = r
	return out
}

// add appends r to the transcript, merging plain whitespace runs.
func (o *outcome) add(r Result) {
	if r.Kind == Whitespace && !r.LoneCRLF && len(o.items) > 0 {
		if last := &o.items[len(o.items)-1]; last.kind == Whitespace && !last.lone {
			last.n += r.N
			return
		}
	}
	o.items = append(o.items, item{kind: r.Kind, n: r.N, lone: r.LoneCRLF, data: string(r.Frame.Data), err: r.Err})
}

// checkResult checks the invariants every result of Next(buf) must hold.
func checkResult(tb testing.TB, buf []byte, r *Result) {
	tb.Helper()
	fail := func(what string) {
		tb.Helper()
		tb.Fatalf("%s: kind %v N %d partial %v lone %v err %v on %q", what, r.Kind, r.N, r.Partial, r.LoneCRLF, r.Err, buf)
	}
	if r.N < 0 || r.N > len(buf) {
		fail("N out of range")
	}
	fr := &r.Frame
	if r.Kind != NeedMore && r.Need != 0 {
		fail("Need outside NeedMore")
	}
	switch r.Kind {
	case NeedMore:
		if r.N != 0 || r.Err != nil || fr.Data != nil {
			fail("NeedMore with N, Err or Frame")
		}
		if r.Need != 0 && (r.Need <= len(buf) || !r.Partial) {
			fail("bad Need")
		}
	case Message:
		if r.N == 0 || len(fr.Data) != r.N || fr.HeaderLen <= 0 || fr.HeaderLen+fr.ContentLength != r.N {
			fail("Message sizes inconsistent")
		}
		if &fr.Data[0] != &buf[0] {
			fail("Message does not alias the start of buf")
		}
		checkView(tb, fr)
	case Ping:
		if r.N != 4 || string(buf[:4]) != "\r\n\r\n" {
			fail("bad Ping")
		}
	case Whitespace:
		if r.N == 0 {
			fail("Whitespace without progress")
		}
		for _, c := range buf[:r.N] {
			if !isBlank(c) {
				fail("Whitespace over a non-blank byte")
			}
		}
		if r.LoneCRLF && (r.N != 2 || string(buf[:2]) != "\r\n") {
			fail("bad LoneCRLF")
		}
	case Error:
		if r.Err == nil || r.N != 0 {
			fail("Error without Err or with N")
		}
		if fr.Data != nil {
			if &fr.Data[0] != &buf[0] || len(fr.Data) != fr.HeaderLen {
				fail("Error frame is not the header block")
			}
			checkView(tb, fr)
		}
	default:
		fail("unknown kind")
	}
}

// checkView checks that the header view lies inside the header block.
func checkView(tb testing.TB, fr *Frame) {
	tb.Helper()
	head := fr.Data[:fr.HeaderLen]
	for _, v := range [][]byte{fr.Method, fr.CallID, fr.CSeq, fr.Via} {
		if v != nil && !within(head, v) {
			tb.Fatalf("header view %q outside the header block %q", v, head)
		}
	}
	if fr.IsRequest != (fr.Method != nil) || (!fr.IsRequest && (fr.StatusCode < 100 || fr.StatusCode > 699)) {
		tb.Fatalf("inconsistent start line view: %+v", fr)
	}
}

// within reports whether v is a sub-slice of b.
func within(b, v []byte) bool {
	if len(v) == 0 {
		return true
	}
	for i := range b {
		if &b[i] == &v[0] {
			return i+len(v) <= len(b)
		}
	}
	return false
}

// sameOutcome reports how two transcripts differ, or "" when they do not.
func sameOutcome(a, b outcome) string {
	if len(a.items) != len(b.items) {
		return "different number of items"
	}
	for i := range a.items {
		x, y := a.items[i], b.items[i]
		if x.kind != y.kind || x.n != y.n || x.lone != y.lone || x.err != y.err {
			return "item " + itoa(i) + " differs: " + x.kind.String() + " vs " + y.kind.String()
		}
		if x.kind == Message && x.data != y.data {
			return "message " + itoa(i) + " differs"
		}
	}
	if a.end.Kind != b.end.Kind || a.end.Partial != b.end.Partial || a.end.Err != b.end.Err {
		return "different end: " + a.end.Kind.String() + " vs " + b.end.Kind.String()
	}
	return ""
}
