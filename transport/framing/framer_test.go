package framing

import (
	"errors"
	"strings"
	"testing"
)

// want describes the expected result of one Next call; empty strings and
// zero numbers of the view are not checked unless set.
type want struct {
	kind    Kind
	n       int
	need    int
	partial bool
	lone    bool
	err     error
	// view (checked when frame is set)
	frame      bool
	headerLen  int
	cl         int
	method     string
	status     int
	callID     string
	cseq       string
	via        string
	body       string
	noCallID   bool
	checkDatas bool // Data must equal the whole input
}

// all as want.n stands for the length of the whole input.
const all = -1

func TestNext(t *testing.T) {
	const okHead = "SIP/2.0 200 OK\r\nCall-ID: x\r\n"
	inviteHeaderLen := strings.Index(msgInvite, "\r\n\r\n") + 4
	tests := []struct {
		name  string
		in    string
		limit int
		want  want
	}{
		// Boundaries: keep-alives and whitespace.
		{"empty", "", 0, want{kind: NeedMore}},
		{"ping", "\r\n\r\n", 0, want{kind: Ping, n: 4}},
		{"ping then message", "\r\n\r\n" + msgOK, 0, want{kind: Ping, n: 4}},
		{"double ping", "\r\n\r\n\r\n\r\n", 0, want{kind: Ping, n: 4}},
		{"lone CRLF before message", "\r\n" + msgOK, 0, want{kind: Whitespace, n: 2, lone: true}},
		{"lone CRLF then LF", "\r\n\n", 0, want{kind: Whitespace, n: 2, lone: true}},
		{"lone CRLF then CR x", "\r\n\rX", 0, want{kind: Whitespace, n: 2, lone: true}},
		{"CRLF pending", "\r\n", 0, want{kind: NeedMore}},
		{"CRLFCR pending", "\r\n\r", 0, want{kind: NeedMore}},
		{"CR pending", "\r", 0, want{kind: NeedMore}},
		{"CR not LF", "\rINVITE", 0, want{kind: Whitespace, n: 1}},
		{"LF SP TAB run", "\n \t\n" + msgOK, 0, want{kind: Whitespace, n: 4}},
		{"run stops at CR", "  \r\n\r\n", 0, want{kind: Whitespace, n: 2}},

		// Complete messages.
		{"INVITE with SDP", msgInvite, 0, want{kind: Message, n: len(msgInvite), frame: true, checkDatas: true,
			headerLen: inviteHeaderLen, cl: len(sdp), method: "INVITE",
			callID: "3848276298220188511@atlanta.example.com", cseq: "1 INVITE",
			via: "SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9", body: sdp}},
		{"REGISTER", msgRegister, 0, want{kind: Message, n: len(msgRegister), frame: true, checkDatas: true,
			headerLen: len(msgRegister), method: "REGISTER", callID: "843817637684230@998sdasdh09", cseq: "1826 REGISTER",
			via: "SIP/2.0/TCP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7"}},
		{"200 OK first via-parm", msgOK, 0, want{kind: Message, n: len(msgOK), frame: true, checkDatas: true,
			status: 200, callID: "3848276298220188511@atlanta.example.com", cseq: "1 INVITE",
			via: "SIP/2.0/TCP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3"}},
		{"180", msgRinging, 0, want{kind: Message, n: len(msgRinging), frame: true, status: 180}},
		{"OPTIONS", msgOptions, 0, want{kind: Message, n: len(msgOptions), frame: true, method: "OPTIONS", cseq: "63104 OPTIONS"}},
		{"compact headers", msgCompact, 0, want{kind: Message, n: len(msgCompact), frame: true, checkDatas: true,
			method: "MESSAGE", callID: "asd88asd77a@1.2.3.4", cl: 18, body: "Watson, come here.",
			via: "SIP/2.0/TCP user1pc.domain.example;branch=z9hG4bK776sgdkse"}},
		{"pipelined returns the first", msgRegister + msgOK, 0, want{kind: Message, n: len(msgRegister), method: "REGISTER", frame: true}},
		{"body with CRLFCRLF and NUL", "MESSAGE sip:a SIP/2.0\r\nl: 8\r\n\r\n\r\n\r\n\x00ab\x00\r\nMESSAGE", 0,
			want{kind: Message, n: 39, frame: true, method: "MESSAGE", cl: 8, body: "\r\n\r\n\x00ab\x00", noCallID: true}},
		{"bare LF line ends", "SIP/2.0 100 Trying\nCall-ID: lf\nContent-Length: 2\n\nokX", 0,
			want{kind: Message, n: 52, frame: true, status: 100, callID: "lf", body: "ok"}},
		{"LF then CRLF ends headers", "SIP/2.0 100 Trying\nl: 0\n\r\n", 0, want{kind: Message, n: all, frame: true, headerLen: 26}},
		{"lower-case version and empty reason", "sip/2.0 200 \r\nl:0\r\n\r\n", 0, want{kind: Message, n: all, status: 200, frame: true}},
		{"method of token chars", "X-Y.Z!%*_+`'~ sip:a SIP/2.0\r\nl: 0\r\n\r\n", 0, want{kind: Message, n: all, method: "X-Y.Z!%*_+`'~", frame: true}},
		{"SIP as a method", "SIP sip:a SIP/2.0\r\nl: 0\r\n\r\n", 0, want{kind: Message, n: all, method: "SIP", frame: true}},
		{"folded headers", "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/TCP a\r\n ;branch=z9\r\nCall-ID:\r\n\tfolded\r\nContent-Length:\r\n  3\r\n\r\nabc", 0,
			want{kind: Message, n: all, frame: true, via: "SIP/2.0/TCP a\r\n ;branch=z9", callID: "folded", body: "abc"}},
		{"content-length spelled loosely", "OPTIONS sip:a SIP/2.0\r\ncontent-LENGTH \t:\t 2 \t\r\n\r\nab", 0, want{kind: Message, n: all, body: "ab", frame: true}},
		{"compact L upper case", "OPTIONS sip:a SIP/2.0\r\nL: 1\r\n\r\na", 0, want{kind: Message, n: all, body: "a", frame: true}},
		{"same length twice", "OPTIONS sip:a SIP/2.0\r\nContent-Length: 1\r\nl: 01\r\n\r\na", 0, want{kind: Message, n: all, body: "a", frame: true}},
		{"first Call-ID wins", "SIP/2.0 200 OK\r\ni: one\r\nCall-ID: two\r\nl: 0\r\n\r\n", 0, want{kind: Message, n: all, callID: "one", frame: true}},
		{"line without colon is ignored", "SIP/2.0 200 OK\r\nbogus\r\nl: 0\r\n\r\n", 0, want{kind: Message, n: all, frame: true}},
		{"Via quoted comma", "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP a;x=\"p,q\" , SIP/2.0/TCP b\r\nl: 0\r\n\r\n", 0,
			want{kind: Message, n: all, via: `SIP/2.0/TCP a;x="p,q"`, frame: true}},
		{"Via escaped quote", "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP a;x=\"p\\\",q\",SIP/2.0/TCP b\r\nl: 0\r\n\r\n", 0,
			want{kind: Message, n: all, via: `SIP/2.0/TCP a;x="p\",q"`, frame: true}},
		{"Via quoted comma only", "SIP/2.0 200 OK\r\nv: SIP/2.0/TCP a;x=\"p,q\"\r\nl: 0\r\n\r\n", 0,
			want{kind: Message, n: all, via: `SIP/2.0/TCP a;x="p,q"`, frame: true}},
		{"exactly the limit", "SIP/2.0 200 OK\r\nl: 2\r\n\r\nab", 26, want{kind: Message, n: all, body: "ab", frame: true}},

		// Incomplete.
		{"partial start line", "INVITE sip:bob@b", 0, want{kind: NeedMore, partial: true}},
		{"partial status code", "SIP/2.0 20", 0, want{kind: NeedMore, partial: true}},
		{"start line CR pending", "SIP/2.0 200 OK\r", 0, want{kind: NeedMore, partial: true}},
		{"partial headers", msgInvite[:200], 0, want{kind: NeedMore, partial: true}},
		{"headers CR pending", "SIP/2.0 200 OK\r\nl: 0\r\n\r", 0, want{kind: NeedMore, partial: true}},
		{"partial body", msgInvite[:len(msgInvite)-1], 0, want{kind: NeedMore, partial: true, need: len(msgInvite)}},
		{"no body yet", msgInvite[:inviteHeaderLen], 0, want{kind: NeedMore, partial: true, need: len(msgInvite)}},

		// Not SIP, detected as early as possible.
		{"HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"HTTP before the line ends", "GET / H", 0, want{kind: Error, err: ErrNotSIP}},
		{"TLS client hello", "\x16\x03\x01\x02\x00", 0, want{kind: Error, err: ErrNotSIP}},
		{"bad method char", "INV@TE sip:a SIP/2.0\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"empty method", " sip", 0, want{kind: Whitespace, n: 1}},
		// A request line malformed between a method and " SIP/2.0" (RFC 4475
		// §3.1.2.7: multiple SP; a space at the end; a control byte) is read
		// with its header block, to be answered with 400.
		{"double space", "INVITE  sip:a SIP/2.0\r\n", 0, want{kind: NeedMore, partial: true}},
		{"double space, header block", "INVITE  sip:a  SIP/2.0\r\nl: 0\r\n\r\n", 0, want{kind: Error, err: ErrRequestLine, frame: true, method: "INVITE"}},
		{"control byte in URI", "INVITE sip:\x01 SIP/2.0\r\nl: 0\r\n\r\n", 0, want{kind: Error, err: ErrRequestLine, frame: true, method: "INVITE"}},
		{"bad line without SIP/2.0", "INVITE  sip:a\r\nl: 0\r\n\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"another protocol after the URI", "INVITE sip:a HTTP/1.1", 0, want{kind: Error, err: ErrNotSIP}},
		{"bad line over maxBadRequestLine", "INVITE  sip:" + strings.Repeat("a", maxBadRequestLine), 0, want{kind: Error, err: ErrNotSIP}},
		{"long bad line ending as SIP", "INVITE  sip:" + strings.Repeat("a", maxBadRequestLine) + " SIP/2.0\r\nl: 0\r\n\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"CR inside a bad line", "INVITE  sip:a\rb SIP/2.0\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"no version", "INVITE sip:a\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"trailing space", "INVITE sip:a SIP/2.0 \r\nl: 0\r\n\r\n", 0, want{kind: Error, err: ErrRequestLine, frame: true, method: "INVITE"}},
		{"CR without LF", "INVITE sip:a SIP/2.0\rX", 0, want{kind: Error, err: ErrNotSIP}},
		{"SIP/3.0", "SIP/3.0 200 OK\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"four-digit code", "SIP/2.0 2000 OK\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"code without SP", "SIP/2.0 200OK\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"code 700", "SIP/2.0 700 X\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"status line without reason SP", "SIP/2.0 200\r\n", 0, want{kind: Error, err: ErrNotSIP}},
		{"NUL", "\x00", 0, want{kind: Error, err: ErrNotSIP}},

		// Content-Length.
		{"missing Content-Length", okHead + "\r\nbody", 0, want{kind: Error, err: ErrNoContentLength, frame: true, headerLen: len(okHead) + 2, callID: "x", status: 200}},
		{"Content-Type is not Content-Length", "SIP/2.0 200 OK\r\nContent-Type: 5\r\n\r\n", 0, want{kind: Error, err: ErrNoContentLength, frame: true}},
		{"letters", okHead + "Content-Length: abc\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true, callID: "x"}},
		{"negative", okHead + "Content-Length: -1\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"plus sign", okHead + "Content-Length: +1\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"empty value", okHead + "Content-Length:\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"two numbers", okHead + "Content-Length: 5 5\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"list", okHead + "Content-Length: 5,5\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"hex", okHead + "Content-Length: 0x10\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"overflow", okHead + "Content-Length: 2147483648\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"huge overflow", okHead + "l: 99999999999999999999999999\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"bad after good", okHead + "l: 1\r\nl: x\r\n\r\n", 0, want{kind: Error, err: ErrBadContentLength, frame: true}},
		{"conflicting", okHead + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef", 0, want{kind: Error, err: ErrConflictingContentLength, frame: true}},
		{"conflicting compact", okHead + "l: 0\r\nContent-Length: 1\r\n\r\n", 0, want{kind: Error, err: ErrConflictingContentLength, frame: true}},

		// Limits.
		{"max Content-Length is only too large", okHead + "l: 2147483647\r\n\r\n", 0, want{kind: Error, err: ErrTooLarge, frame: true, cl: 2147483647}},
		{"body over the limit before it arrives", "SIP/2.0 200 OK\r\nl: 3\r\n\r\nab", 26, want{kind: Error, err: ErrTooLarge, frame: true, headerLen: 24, cl: 3}},
		{"headers over the limit", "SIP/2.0 200 OK\r\nSubject: " + strings.Repeat("a", 100), 64, want{kind: Error, err: ErrTooLarge}},
		{"header block ends past the limit", "SIP/2.0 200 OK\r\nl: 0\r\n\r\n", 23, want{kind: Error, err: ErrTooLarge}},
		{"start line over the limit", "INVITE sip:" + strings.Repeat("a", 100), 64, want{kind: Error, err: ErrTooLarge}},
		{"not SIP past the limit is too large", "INVITE sip:" + strings.Repeat("a", 100) + "\x01", 64, want{kind: Error, err: ErrTooLarge}},
		{"headers under the limit wait", "SIP/2.0 200 OK\r\nSubject: " + strings.Repeat("a", 30), 64, want{kind: NeedMore, partial: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Framer{MaxMessageBytes: tc.limit}
			var r Result
			buf := []byte(tc.in)
			f.Next(buf, &r)
			checkResult(t, buf, &r)
			w := tc.want
			if w.n == all {
				w.n = len(tc.in)
			}
			if r.Need != w.need {
				t.Errorf("Need %d, want %d", r.Need, w.need)
			}
			if r.Kind != w.kind || r.N != w.n || r.Partial != w.partial || r.LoneCRLF != w.lone || !errors.Is(r.Err, w.err) || (w.err == nil) != (r.Err == nil) {
				t.Fatalf("got kind %v N %d partial %v lone %v err %v; want kind %v N %d partial %v lone %v err %v",
					r.Kind, r.N, r.Partial, r.LoneCRLF, r.Err, w.kind, w.n, w.partial, w.lone, w.err)
			}
			fr := r.Frame
			if !w.frame {
				if fr.Data != nil {
					t.Fatalf("unexpected frame %q", fr.Data)
				}
				return
			}
			if fr.Data == nil {
				t.Fatal("no frame")
			}
			checkFrame(t, fr, w)
			if w.checkDatas && string(fr.Data) != tc.in {
				t.Errorf("Data differs from the input")
			}
		})
	}
}

func checkFrame(t *testing.T, fr Frame, w want) {
	t.Helper()
	if w.headerLen != 0 && fr.HeaderLen != w.headerLen {
		t.Errorf("HeaderLen %d, want %d", fr.HeaderLen, w.headerLen)
	}
	if w.cl != 0 && fr.ContentLength != w.cl {
		t.Errorf("ContentLength %d, want %d", fr.ContentLength, w.cl)
	}
	if w.method != "" && (string(fr.Method) != w.method || !fr.IsRequest) {
		t.Errorf("Method %q (request %v), want %q", fr.Method, fr.IsRequest, w.method)
	}
	if w.status != 0 && (fr.StatusCode != w.status || fr.IsRequest) {
		t.Errorf("StatusCode %d (request %v), want %d", fr.StatusCode, fr.IsRequest, w.status)
	}
	if w.callID != "" && string(fr.CallID) != w.callID {
		t.Errorf("CallID %q, want %q", fr.CallID, w.callID)
	}
	if w.noCallID && fr.CallID != nil {
		t.Errorf("CallID %q, want none", fr.CallID)
	}
	if w.cseq != "" && string(fr.CSeq) != w.cseq {
		t.Errorf("CSeq %q, want %q", fr.CSeq, w.cseq)
	}
	if w.via != "" && string(fr.Via) != w.via {
		t.Errorf("Via %q, want %q", fr.Via, w.via)
	}
	if fr.Data != nil && len(fr.Data) > fr.HeaderLen && string(fr.Body()) != w.body {
		t.Errorf("body %q, want %q", fr.Body(), w.body)
	}
	if fr.Data != nil && cap(fr.Data) != len(fr.Data) {
		t.Errorf("Data capacity %d exceeds its length %d", cap(fr.Data), len(fr.Data))
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{NeedMore: "need-more", Message: "message", Ping: "ping", Whitespace: "whitespace", Error: "error", Kind(99): "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
