package framing

import (
	"strings"
	"testing"
)

// insuf is RFC 4475 §3.3.1 (Missing Required Header Fields), over TCP.
const insuf = "INVITE sip:user@example.com SIP/2.0\r\n" +
	"CSeq: 193942 INVITE\r\n" +
	"Via: SIP/2.0/TCP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n" +
	"l: 0\r\n\r\n"

func frameOf(t *testing.T, msg string) *Frame {
	t.Helper()
	var f Framer
	var r Result
	f.Next([]byte(msg), &r)
	if r.Kind != Message {
		t.Fatalf("%q: kind %v err %v", msg, r.Kind, r.Err)
	}
	return &r.Frame
}

// TestAppendRejection: a refusal copies what the request has and invents
// nothing; only a Via is required; a complete request gets what
// AppendResponse writes.
func TestAppendRejection(t *testing.T) {
	got := string(AppendRejection(nil, frameOf(t, insuf), 400, "Missing Call-ID"))
	want := "SIP/2.0 400 Missing Call-ID\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n" +
		"CSeq: 193942 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n"
	if got != want {
		t.Errorf("insuf:\n%q\nwant\n%q", got, want)
	}
	if resp := AppendResponse(nil, frameOf(t, insuf), 400, "x"); len(resp) != 0 {
		t.Errorf("AppendResponse answered insuf: %q", resp)
	}
	noVia := strings.Replace(insuf, "Via: SIP/2.0/TCP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n", "", 1)
	if resp := AppendRejection(nil, frameOf(t, noVia), 400, "x"); len(resp) != 0 {
		t.Errorf("answered a request without Via: %q", resp)
	}
	ack := strings.Replace(insuf, "INVITE sip", "ACK sip", 1)
	if resp := AppendRejection(nil, frameOf(t, ack), 400, "x"); len(resp) != 0 {
		t.Errorf("answered an ACK: %q", resp)
	}
	toOnly := strings.Replace(insuf, "CSeq: 193942 INVITE\r\n", "t: <sip:user@example.com>\r\n", 1)
	got = string(AppendRejection(nil, frameOf(t, toOnly), 400, "Missing CSeq"))
	if !strings.Contains(got, "\r\nTo: <sip:user@example.com>;tag=") || strings.Contains(got, "\r\nCSeq:") || strings.Contains(got, "\r\nFrom:") {
		t.Errorf("To only: %q", got)
	}
	for _, m := range seedMessages {
		fr := frameOf(t, m)
		if a, b := AppendResponse(nil, fr, 503, "x"), AppendRejection(nil, fr, 503, "x"); string(a) != string(b) {
			t.Errorf("complete request: AppendRejection\n%q\nAppendResponse\n%q", b, a)
		}
	}
}

// TestIsLocalTag: the To tag of a local response is recognised in the ACK
// that copies it, and no other tag is.
func TestIsLocalTag(t *testing.T) {
	fr := frameOf(t, msgInvite)
	resp := AppendResponse(nil, fr, 486, "Busy Here")
	var rf Framer
	var r Result
	rf.Next(resp, &r)
	var from, to, callID []byte
	it := newHeaderIter(r.Frame.Data[:r.Frame.HeaderLen])
	for name, value, ok := it.next(); ok; name, value, ok = it.next() {
		switch {
		case isHeader(name, "from", "f"):
			from = value
		case isHeader(name, "to", "t"):
			to = value
		case isHeader(name, "call-id", "i"):
			callID = value
		}
	}
	if !IsLocalTag(to, from, callID) {
		t.Fatalf("the local To %q is not recognised", to)
	}
	tag, _ := param(to, "tag")
	other := []byte(strings.Replace(string(to), string(tag), "8321234356", 1))
	tests := []struct {
		name             string
		to, from, callID []byte
	}{
		{"a UAS tag", other, from, callID},
		{"no tag", []byte("Bob <sip:bob@biloxi.example.com>"), from, callID},
		{"another Call-ID", to, from, []byte("other@host")},
		{"another From tag", to, []byte("<sip:alice@atlanta.example.com>;tag=1"), callID},
		{"upper-case hex", []byte(strings.ToUpper(string(to))), from, callID},
	}
	for _, tc := range tests {
		if IsLocalTag(tc.to, tc.from, tc.callID) {
			t.Errorf("%s: recognised as local", tc.name)
		}
	}
	if n := testing.AllocsPerRun(100, func() { IsLocalTag(to, from, callID) }); n != 0 {
		t.Errorf("IsLocalTag: %v allocations", n)
	}
}

// TestAppendBadExtension: 420 with every option-tag of every Proxy-Require
// (folded, spaced, in order) in Unsupported, before Content-Length; nothing
// for a request without option-tags, an ACK or a response.
func TestAppendBadExtension(t *testing.T) {
	pr := strings.Replace(insuf, "l: 0\r\n", "Proxy-Require: foo ,bar\r\nPROXY-REQUIRE:\r\n baz\r\nl: 0\r\n", 1)
	got := string(AppendBadExtension(nil, frameOf(t, pr), nil))
	want := "SIP/2.0 420 Bad Extension\r\n" +
		"Via: SIP/2.0/TCP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n" +
		"CSeq: 193942 INVITE\r\n" +
		"Unsupported: foo, bar, baz\r\n" +
		"Content-Length: 0\r\n\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	for name, msg := range map[string]string{
		"no Proxy-Require":    insuf,
		"empty Proxy-Require": strings.Replace(insuf, "l: 0\r\n", "Proxy-Require: , \r\nl: 0\r\n", 1),
		"ACK":                 strings.Replace(pr, "INVITE sip", "ACK sip", 1),
	} {
		if resp := AppendBadExtension(nil, frameOf(t, msg), nil); len(resp) != 0 {
			t.Errorf("%s: answered %q", name, resp)
		}
	}
	if resp := AppendBadExtension(nil, frameOf(t, pr), []string{"FOO", "bar", "baz"}); len(resp) != 0 {
		t.Errorf("every tag supported: answered %q", resp)
	}
	if got := string(AppendBadExtension(nil, frameOf(t, pr), []string{"bar"})); !strings.Contains(got, "\r\nUnsupported: foo, baz\r\n") {
		t.Errorf("bar supported: %q", got)
	}
}
