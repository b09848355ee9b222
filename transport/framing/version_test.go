package framing

import (
	"errors"
	"strings"
	"testing"
)

// badvers is RFC 4475 §3.1.2.16 (Unknown Protocol Version), over TCP.
const badvers = "OPTIONS sip:t.watson@example.org SIP/7.0\r\n" +
	"Via: SIP/7.0/TCP c.example.com:5060;branch=z9hG4bKkdjuw\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\n" +
	"To: T. Watson <sip:t.watson@example.org>\r\n" +
	"Call-ID: badvers.31417@c.example.com\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"l: 0\r\n\r\n"

// TestVersion: a request line well formed but for its version is reported
// as ErrVersion with its header block once that is complete, whole or fed
// byte by byte; anything else that is not SIP/2.0 stays ErrNotSIP at once.
func TestVersion(t *testing.T) {
	const head = "INVITE sip:a@b SIP/"
	const rest = "\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: c\r\nl: 0\r\n\r\n"
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"RFC 4475 badvers", badvers, ErrVersion},
		{"SIP/3.0", head + "3.0" + rest, ErrVersion},
		{"SIP/2.1", head + "2.1" + rest, ErrVersion},
		{"SIP/1.0 bare LF", strings.ReplaceAll(head+"1.0"+rest, "\r\n", "\n"), ErrVersion},
		{"SIP/2.00", head + "2.00" + rest, ErrVersion},
		{"SIP/12.0", head + "12.0" + rest, ErrVersion},
		{"SIP/20.0", head + "20.0" + rest, ErrVersion},
		{"lower case sip/7.0", "INVITE sip:a@b sip/7.0" + rest, ErrVersion},
		{"version before a bad Content-Length", head + "7.0\r\nCall-ID: c\r\nl: x\r\n\r\n", ErrVersion},
		{"version without Content-Length", head + "7.0\r\nCall-ID: c\r\n\r\n", ErrVersion},
		{"no minor", head + "2" + rest, ErrNotSIP},
		{"no major", head + ".0" + rest, ErrNotSIP},
		{"empty minor", head + "2." + rest, ErrNotSIP},
		{"two dots", head + "2.0.1" + rest, ErrNotSIP},
		{"letter", head + "2.x" + rest, ErrNotSIP},
		{"trailing space", head + "7.0 " + rest, ErrNotSIP},
		{"CR without LF", head + "7.0\rX", ErrNotSIP},
		{"HTTP", "GET / HTTP/1.1\r\n\r\n", ErrNotSIP},
		{"status line SIP/7.0", "SIP/7.0 200 OK\r\nl: 0\r\n\r\n", ErrNotSIP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{len(tc.in), 1} {
				var f Framer
				var r Result
				n := 0
				for n < len(tc.in) {
					n = min(n+step, len(tc.in))
					f.Next([]byte(tc.in[:n]), &r)
					if r.Kind != NeedMore {
						break
					}
				}
				if r.Kind != Error || !errors.Is(r.Err, tc.err) {
					t.Fatalf("step %d: kind %v err %v, want error %v", step, r.Kind, r.Err, tc.err)
				}
				if tc.err == ErrNotSIP {
					continue
				}
				hl := strings.Index(tc.in, "\r\n\r\n") + 4
				if hl < 4 {
					hl = strings.Index(tc.in, "\n\n") + 2
				}
				if !r.Frame.IsRequest || r.Frame.HeaderLen != hl || string(r.Frame.Data) != tc.in[:hl] {
					t.Fatalf("step %d: frame %q (request %v, header %d), want the header block", step, r.Frame.Data, r.Frame.IsRequest, r.Frame.HeaderLen)
				}
			}
		})
	}
}

// TestVersionResponse: the transport's reject path (ErrorStatus, then
// AppendResponse) answers badvers with 505.
func TestVersionResponse(t *testing.T) {
	var f Framer
	var r Result
	f.Next([]byte(badvers), &r)
	code, reason := ErrorStatus(r.Err)
	resp := string(AppendResponse(nil, &r.Frame, code, reason))
	if !strings.HasPrefix(resp, "SIP/2.0 505 Version Not Supported\r\n") ||
		!strings.Contains(resp, "\r\nCall-ID: badvers.31417@c.example.com\r\n") ||
		!strings.Contains(resp, "\r\nCSeq: 1 OPTIONS\r\n") {
		t.Fatalf("response %q", resp)
	}
}

// TestVersionAfterGood: an ErrVersion message does not leak into the next
// message the Framer sees after a Reset, and SIP/2.0 is still a Message.
func TestVersionAfterGood(t *testing.T) {
	var f Framer
	var r Result
	f.Next([]byte(badvers), &r)
	if !errors.Is(r.Err, ErrVersion) {
		t.Fatalf("err %v", r.Err)
	}
	good := strings.Replace(badvers, "SIP/7.0\r\n", "SIP/2.0\r\n", 1)
	f.Next([]byte(good), &r)
	if r.Kind != Message || r.N != len(good) {
		t.Fatalf("kind %v N %d err %v", r.Kind, r.N, r.Err)
	}
}
