package framing

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// frameOne frames msg alone and fails unless it is one message or an error
// with a header block.
func frameOne(t *testing.T, msg string) Frame {
	t.Helper()
	var f Framer
	var r Result
	f.Next([]byte(msg), &r)
	if r.Frame.Data == nil {
		t.Fatalf("no frame: %v %v", r.Kind, r.Err)
	}
	return r.Frame
}

// tagFor is the To tag AppendResponse should derive, computed with
// hash/fnv: FNV-1a 64 of Call-ID, a zero byte and the From tag.
func tagFor(callID, fromTag string) string {
	h := fnv.New64a()
	h.Write([]byte(callID))
	h.Write([]byte{0})
	h.Write([]byte(fromTag))
	return fmt.Sprintf("%016x", h.Sum64())
}

func TestAppendResponse(t *testing.T) {
	optionsTag := tagFor("a84b4c76e66710", "1928301774")
	tests := []struct {
		name   string
		req    string
		code   int
		reason string
		want   string // "" means dst comes back unchanged
	}{
		{"OPTIONS 200", msgOptions, 200, "OK", crlf(`SIP/2.0 200 OK
Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
To: <sip:carol@chicago.example.com>;tag=` + optionsTag + `
Call-ID: a84b4c76e66710
CSeq: 63104 OPTIONS
Content-Length: 0

`)},
		{"every Via in order, compact forms", crlf(`INVITE sip:b@x SIP/2.0
v: SIP/2.0/TCP p1;branch=z9hG4bK1, SIP/2.0/TCP p2;branch=z9hG4bK2
Max-Forwards: 69
Via: SIP/2.0/TCP p3;branch=z9hG4bK3
f: <sip:a@x>;tag=aa
t: sip:b@x;tag=bb
i: cid
CSeq: 7 INVITE
VIA: SIP/2.0/TCP p4
 ;branch=z9hG4bK4
l: 0

`), 400, "Missing Content-Length", crlf(`SIP/2.0 400 Missing Content-Length
Via: SIP/2.0/TCP p1;branch=z9hG4bK1, SIP/2.0/TCP p2;branch=z9hG4bK2
Via: SIP/2.0/TCP p3;branch=z9hG4bK3
Via: SIP/2.0/TCP p4 ;branch=z9hG4bK4
From: <sip:a@x>;tag=aa
To: sip:b@x;tag=bb
Call-ID: cid
CSeq: 7 INVITE
Content-Length: 0

`)},
		{"tag inside the URI is not a To tag", crlf(`BYE sip:b@x SIP/2.0
Via: SIP/2.0/TCP p1
From: "A;tag=no" <sip:a@x>;TAG = ft
To: "B;tag=no" <sip:b@x;tag=uri>
Call-ID: c2
CSeq: 2 BYE
l: 0

`), 513, "Message Too Large", crlf(`SIP/2.0 513 Message Too Large
Via: SIP/2.0/TCP p1
From: "A;tag=no" <sip:a@x>;TAG = ft
To: "B;tag=no" <sip:b@x;tag=uri>;tag=` + tagFor("c2", "ft") + `
Call-ID: c2
CSeq: 2 BYE
Content-Length: 0

`)},
		{"reason cannot inject headers", msgRegister, 400, "Bad\r\nX-Evil: 1", ""},
		{"response", msgOK, 400, "Bad", ""},
		{"ACK is never answered", crlf("ACK sip:b@x SIP/2.0\nVia: SIP/2.0/TCP p\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\nCall-ID: c\nCSeq: 1 ACK\nl: 0\n\n"), 400, "Bad", ""},
	}
	for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		var b strings.Builder
		for _, line := range strings.SplitAfter(msgRegister, "\r\n") {
			if !strings.HasPrefix(line, h+":") {
				b.WriteString(line)
			}
		}
		tests = append(tests, struct {
			name   string
			req    string
			code   int
			reason string
			want   string
		}{"without " + h, b.String(), 400, "Bad", ""})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := frameOne(t, tc.req)
			dst := append(make([]byte, 0, 1024), "prefix"...)
			got := AppendResponse(dst, &fr, tc.code, tc.reason)
			if !strings.HasPrefix(string(got), "prefix") {
				t.Fatalf("dst prefix lost: %q", got)
			}
			out := string(got[len("prefix"):])
			if tc.name == "reason cannot inject headers" {
				if !strings.HasPrefix(out, "SIP/2.0 400 BadX-Evil: 1\r\nVia:") {
					t.Fatalf("reason not sanitised: %q", out)
				}
				return
			}
			if out != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", out, tc.want)
			}
		})
	}
}

// TestAppendResponseParses checks every response against the Framer and
// sipgo's parser: one framed message whose Call-ID, Via count and To tag
// match the request.
func TestAppendResponseParses(t *testing.T) {
	for _, req := range []string{msgInvite, msgRegister, msgOptions, msgCompact} {
		fr := frameOne(t, req)
		resp := AppendResponse(nil, &fr, 200, "OK")
		again := AppendResponse(nil, &fr, 200, "OK")
		if string(resp) != string(again) {
			t.Fatalf("not deterministic:\n%s\n%s", resp, again)
		}
		var f Framer
		var r Result
		f.Next(resp, &r)
		if r.Kind != Message || r.N != len(resp) || r.Frame.StatusCode != 200 || string(r.Frame.CallID) != string(fr.CallID) {
			t.Fatalf("response does not frame: %v %v\n%s", r.Kind, r.Err, resp)
		}
		m, err := sip.ParseMessage(resp)
		if err != nil {
			t.Fatalf("sipgo: %v\n%s", err, resp)
		}
		res, ok := m.(*sip.Response)
		if !ok {
			t.Fatalf("sipgo parsed %T", m)
		}
		reqMsg, err := sip.ParseMessage([]byte(req))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetHeaders("Via")) != len(reqMsg.GetHeaders("Via")) {
			t.Errorf("%d Via, request has %d\n%s", len(res.GetHeaders("Via")), len(reqMsg.GetHeaders("Via")), resp)
		}
		if res.CallID().Value() != reqMsg.CallID().Value() || res.CSeq().Value() != reqMsg.CSeq().Value() {
			t.Errorf("Call-ID/CSeq differ\n%s", resp)
		}
		if tag, ok := res.To().Params.Get("tag"); !ok || tag == "" {
			t.Errorf("no To tag\n%s", resp)
		}
	}
}

// TestToTagDeterministic checks the tag depends on the Call-ID and the
// From tag only.
func TestToTagDeterministic(t *testing.T) {
	base := tagFor("call", "from")
	if len(base) != 16 || strings.Trim(base, "0123456789abcdef") != "" {
		t.Fatalf("tag %q is not 16 hex digits", base)
	}
	for _, other := range [][2]string{{"call2", "from"}, {"call", "from2"}, {"callf", "rom"}} {
		if tagFor(other[0], other[1]) == base {
			t.Errorf("%v gives the same tag as (call, from)", other)
		}
	}
}

func TestAppendResponseDoesNotAllocate(t *testing.T) {
	fr := frameOne(t, msgInvite)
	dst := make([]byte, 0, 2048)
	allocs := testing.AllocsPerRun(50, func() {
		dst = AppendResponse(dst[:0], &fr, 400, "Bad Request")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

func TestErrorStatus(t *testing.T) {
	tests := []struct {
		err    error
		code   int
		reason string
	}{
		{ErrTooLarge, 513, "Message Too Large"},
		{fmt.Errorf("conn 7: %w", ErrTooLarge), 513, "Message Too Large"},
		{ErrNoContentLength, 400, "Missing Content-Length"},
		{ErrBadContentLength, 400, "Bad Content-Length"},
		{ErrConflictingContentLength, 400, "Conflicting Content-Length"},
		{ErrNotSIP, 400, "Bad Request Line"},
		{ErrVersion, 505, "Version Not Supported"},
		{fmt.Errorf("conn 7: %w", ErrVersion), 505, "Version Not Supported"},
		{errors.New("other"), 400, "Bad Request"},
	}
	for _, tc := range tests {
		code, reason := ErrorStatus(tc.err)
		if code != tc.code || reason != tc.reason {
			t.Errorf("ErrorStatus(%v) = %d %q, want %d %q", tc.err, code, reason, tc.code, tc.reason)
		}
	}
}

// TestErrorResponse goes from a framing error to the response the
// transport sends.
func TestErrorResponse(t *testing.T) {
	var f Framer
	var r Result
	req := strings.Replace(msgRegister, "Content-Length: 0\r\n", "", 1)
	f.Next([]byte(req), &r)
	if r.Kind != Error || !errors.Is(r.Err, ErrNoContentLength) {
		t.Fatalf("got %v %v", r.Kind, r.Err)
	}
	code, reason := ErrorStatus(r.Err)
	resp := string(AppendResponse(nil, &r.Frame, code, reason))
	if !strings.HasPrefix(resp, "SIP/2.0 400 Missing Content-Length\r\nVia: SIP/2.0/TCP bobspc") || !strings.HasSuffix(resp, "CSeq: 1826 REGISTER\r\nContent-Length: 0\r\n\r\n") {
		t.Fatalf("response:\n%s", resp)
	}
}

// TestParam covers the From/To parameter parsing behind the To tag.
func TestParam(t *testing.T) {
	tests := []struct {
		v, tag string
		ok     bool
	}{
		{`<sip:a@x>;tag=1`, "1", true},
		{`sip:a@x;tag=2;lr`, "2", true},
		{`sip:a@x`, "", false},
		{`"A \"q;tag=no\"" <sip:a@x;tag=no>;x=1; Tag = 3 `, "3", true},
		{`"A, <b>" <sip:a@x>`, "", false},
		{`<sip:a@x;tag=no`, "", false},
		{`<sip:a@x>;tag`, "", true},
	}
	for _, tc := range tests {
		got, ok := param([]byte(tc.v), "tag")
		if string(got) != tc.tag || ok != tc.ok {
			t.Errorf("param(%q) = %q %v, want %q %v", tc.v, got, ok, tc.tag, tc.ok)
		}
	}
}

// TestHeaderIterOddLines checks lines AppendResponse skips: a continuation
// right after the start line and a line without a colon.
func TestHeaderIterOddLines(t *testing.T) {
	block := []byte("OPTIONS sip:a SIP/2.0\r\n  stray\r\nnocolon\r\nCall-ID: c\r\n\r\n")
	it := newHeaderIter(block)
	name, value, ok := it.next()
	if !ok || string(name) != "Call-ID" || string(value) != "c" {
		t.Fatalf("got %q %q %v", name, value, ok)
	}
	if _, _, ok := it.next(); ok {
		t.Fatal("header after the blank line")
	}
	it = newHeaderIter([]byte("OPTIONS sip:a SIP/2.0\r\nCall-ID: unterminated"))
	if name, _, ok := it.next(); !ok || string(name) != "Call-ID" {
		t.Fatalf("unterminated block: %q %v", name, ok)
	}
}
