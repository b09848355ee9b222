package framing

import (
	"strings"
	"testing"
)

// streams are byte streams as a connection may carry them, with the limit
// to frame them under, the number of messages in them and the error that
// ends them.
var streams = []struct {
	name  string
	in    string
	limit int
	msgs  int
	end   error
}{
	{"INVITE", msgInvite, 0, 1, nil},
	{"REGISTER", msgRegister, 0, 1, nil},
	{"200", msgOK, 0, 1, nil},
	{"180", msgRinging, 0, 1, nil},
	{"OPTIONS", msgOptions, 0, 1, nil},
	{"compact", msgCompact, 0, 1, nil},
	{"pipelined INVITE 180 200", msgInvite + msgRinging + msgOK, 0, 3, nil},
	{"keep-alives between", "\r\n" + msgOptions + "\r\n\r\n" + msgOK + "\r\n\r\n\r\n" + msgRegister + "\r\n", 0, 3, nil},
	{"whitespace between", " \t\n" + msgOK + "\n\n\r\r\n\r\n" + msgCompact + "\r\n\rX", 0, 2, nil},
	{"body looks like headers", withBody("MESSAGE sip:a SIP/2.0\nl: ?\n\n", "\r\n\r\nSIP/2.0 200 OK\r\nl: 5\r\n\r\n\x00\x00") + msgOK, 0, 2, nil},
	{"bare LF", strings.ReplaceAll(msgRegister, "\r\n", "\n") + strings.ReplaceAll(msgOK, "\r\n", "\n"), 0, 2, nil},
	{"message then HTTP", msgOK + "GET / HTTP/1.1\r\n\r\n", 0, 1, ErrNotSIP},
	{"message then missing Content-Length", msgOK + "OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\n", 0, 1, ErrNoContentLength},
	{"message then conflicting lengths", msgOK + "OPTIONS sip:a SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\nab", 0, 1, ErrConflictingContentLength},
	{"headers too large", msgRegister + "OPTIONS sip:a SIP/2.0\r\nSubject: " + strings.Repeat("z", 600), 400, 1, ErrTooLarge},
	{"body too large", msgRegister + withBody("MESSAGE sip:a SIP/2.0\nl: ?\n\n", strings.Repeat("b", 500)), 400, 1, ErrTooLarge},
	{"partial message at the end", msgOK + msgInvite[:300], 0, 1, nil},
	{"partial ping at the end", msgOK + "\r\n\r", 0, 1, nil},
}

// TestChunking frames each stream whole, one byte per read, in cycling odd
// sizes, and split in two at every offset: every way must give the same
// transcript.
func TestChunking(t *testing.T) {
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			in := []byte(st.in)
			ref := frameStream(t, in, st.limit, whole)
			if len(ref.messages()) != st.msgs || ref.end.Err != st.end {
				t.Fatalf("%d messages, end %v; want %d, %v", len(ref.messages()), ref.end.Err, st.msgs, st.end)
			}
			check := func(how string, chunk func(int) int) {
				t.Helper()
				if diff := sameOutcome(ref, frameStream(t, in, st.limit, chunk)); diff != "" {
					t.Fatalf("%s: %s", how, diff)
				}
			}
			check("one byte per read", cycled([]byte{0}))
			check("odd sizes", cycled([]byte{2, 0, 6, 12, 1, 30}))
			for k := 1; k < len(in); k++ {
				check("split at "+itoa(k), splitAt(k))
			}
		})
	}
}

// TestTranscript checks the exact sequence of items of a mixed stream.
func TestTranscript(t *testing.T) {
	in := "\r\n" + msgOptions + "\r\n\r\n" + msgOK + " \n\r\n" + msgCompact + "\r\n"
	got := frameStream(t, []byte(in), 0, cycled([]byte{4, 9}))
	want := []item{
		{kind: Whitespace, n: 2, lone: true},
		{kind: Message, n: len(msgOptions), data: msgOptions},
		{kind: Ping, n: 4},
		{kind: Message, n: len(msgOK), data: msgOK},
		{kind: Whitespace, n: 2},
		{kind: Whitespace, n: 2, lone: true},
		{kind: Message, n: len(msgCompact), data: msgCompact},
	}
	if diff := sameOutcome(got, outcome{items: want, end: Result{Kind: NeedMore}}); diff != "" {
		t.Fatalf("%s:\n got %+v\nwant %+v", diff, got.items, want)
	}
}

// TestResumeState checks that an incomplete header block is not scanned
// again from its start: the Framer keeps the last incomplete line and how
// far it searched it.
func TestResumeState(t *testing.T) {
	var f Framer
	var r Result
	cut := strings.Index(msgInvite, "CSeq:") + 3
	f.Next([]byte(msgInvite[:cut]), &r)
	if r.Kind != NeedMore || !r.Partial {
		t.Fatalf("got %v partial %v", r.Kind, r.Partial)
	}
	if f.s.phase != phaseHeaders || f.s.pos != cut-3 || f.s.lfFrom != cut {
		t.Fatalf("resume state phase %d pos %d lfFrom %d, want %d %d %d", f.s.phase, f.s.pos, f.s.lfFrom, phaseHeaders, cut-3, cut)
	}
	f.Next([]byte(msgInvite), &r)
	if r.Kind != Message || string(r.Frame.CSeq) != "1 INVITE" || r.Frame.ContentLength != len(sdp) {
		t.Fatalf("after resuming: %v %q %d", r.Kind, r.Frame.CSeq, r.Frame.ContentLength)
	}
}

// TestReset checks that Reset, or a buffer shorter than what was scanned,
// starts over.
func TestReset(t *testing.T) {
	var f Framer
	var r Result
	f.Next([]byte(msgInvite[:400]), &r)
	f.Reset()
	f.Next([]byte(msgOK), &r)
	if r.Kind != Message || r.N != len(msgOK) {
		t.Fatalf("after Reset: %v N %d", r.Kind, r.N)
	}
	f.Next([]byte(msgInvite[:400]), &r)
	f.Next([]byte(msgRinging[:100]), &r)
	if r.Kind != NeedMore || f.s.pos > 100 {
		t.Fatalf("shorter buffer: %v pos %d", r.Kind, f.s.pos)
	}
	f.Next([]byte(msgRinging), &r)
	if r.Kind != Message || r.Frame.StatusCode != 180 {
		t.Fatalf("after a shorter buffer: %v %d", r.Kind, r.Frame.StatusCode)
	}
}

// TestNextDoesNotAllocate frames every stream whole and byte by byte.
func TestNextDoesNotAllocate(t *testing.T) {
	for _, st := range streams {
		in := []byte(st.in)
		f := Framer{MaxMessageBytes: st.limit}
		var r Result
		allocs := testing.AllocsPerRun(20, func() {
			f.Reset()
			for end, start := 1, 0; end <= len(in); end++ {
				f.Next(in[start:end], &r)
				switch r.Kind {
				case Error:
					return
				case NeedMore:
				default:
					start += r.N
					end = start
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations", st.name, allocs)
		}
	}
}

// TestMisuseDoesNotPanic feeds buffers that break the contract (shrunk,
// replaced, a lowered limit mid-message): results may be wrong, but Next
// must not panic.
func TestMisuseDoesNotPanic(t *testing.T) {
	var f Framer
	var r Result
	for _, in := range []string{msgInvite[:300], msgInvite[:290], "SIP/2.0 2", msgInvite[:500], msgOK[:40], msgInvite, ""} {
		f.Next([]byte(in), &r)
	}
	f.Next([]byte(msgInvite[:300]), &r)
	f.MaxMessageBytes = 100
	f.Next([]byte(msgInvite[:300]), &r)
	if r.Kind != Error || r.Err != ErrTooLarge {
		t.Fatalf("lowered limit: %v %v", r.Kind, r.Err)
	}
}
