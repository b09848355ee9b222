package forward

import (
	"strings"
	"testing"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// checkOf runs check on a request framed from raw.
func checkOf(t *testing.T, raw string) defect {
	t.Helper()
	var fr framing.Framer
	var res framing.Result
	fr.Next([]byte(raw), &res)
	if res.Kind != framing.Message {
		t.Fatalf("not a message (%v %v):\n%s", res.Kind, res.Err, raw)
	}
	var r req
	r.m = &transport.Message{Frame: res.Frame}
	r.hb = res.Frame.Data[:res.Frame.HeaderLen]
	scanHeaders(r.hb, &r.h)
	return check(&r)
}

// TestCheck: the edges of each check, one header changed at a time from
// a valid request.
func TestCheck(t *testing.T) {
	base := invite("chk", "127.0.0.1:5061")
	tests := []struct {
		name, old, new string
		want           defect
	}{
		{"valid", "", "", defectNone},
		{"IPv6 host", "sip:bob@example.com SIP", "sip:bob@[2001:db8::1]:5070 SIP", defectNone},
		{"'?' in the user part", "sip:bob@example.com SIP", "sip:b?o,b@example.com SIP", defectNone},
		{"headers after an IPv6 host", "sip:bob@example.com SIP", "sip:bob@[2001:db8::1]?Subject=x SIP", defectRequestURI},
		{"urn:service:sos", "sip:bob@example.com SIP", "urn:service:sos SIP", defectNone},
		{"sips", "sip:bob@example.com SIP", "sips:bob@example.com SIP", defectNone},
		{"upper-case scheme", "sip:bob@example.com SIP", "SIP:bob@example.com SIP", defectNone},
		{"sip: alone", "sip:bob@example.com SIP", "sip: SIP", defectRequestURI},
		{"tel: alone", "sip:bob@example.com SIP", "tel: SIP", defectRequestURI},
		{"scheme starting with a digit", "sip:bob@example.com SIP", "9ip:bob SIP", defectRequestURI},
		{"http", "sip:bob@example.com SIP", "http://example.com/ SIP", defectURIScheme},
		{"quote in the URI", "sip:bob@example.com SIP", "sip:\"bob\"@example.com SIP", defectRequestURI},
		{"Max-Forwards 255", "Max-Forwards: 70", "Max-Forwards: 255", defectNone},
		{"Max-Forwards 0", "Max-Forwards: 70", "Max-Forwards: 0", defectNone},
		{"Max-Forwards empty", "Max-Forwards: 70", "Max-Forwards:", defectMaxForwards},
		{"Max-Forwards 10 digits", "Max-Forwards: 70", "Max-Forwards: 0000000070", defectMaxForwards},
		{"CSeq 2^31-1", "CSeq: 1 INVITE", "CSeq: 2147483647 INVITE", defectNone},
		{"CSeq 2^31", "CSeq: 1 INVITE", "CSeq: 2147483648 INVITE", defectBadCSeq},
		{"CSeq tab", "CSeq: 1 INVITE", "CSeq: 1\tINVITE", defectNone},
		{"CSeq folded", "CSeq: 1 INVITE", "CSeq: 1\r\n INVITE", defectNone},
		{"CSeq no blank", "CSeq: 1 INVITE", "CSeq: 1INVITE", defectBadCSeq},
		{"CSeq no number", "CSeq: 1 INVITE", "CSeq: INVITE", defectBadCSeq},
		{"CSeq no method", "CSeq: 1 INVITE", "CSeq: 1", defectBadCSeq},
		{"CSeq trailing word", "CSeq: 1 INVITE", "CSeq: 1 INVITE x", defectBadCSeq},
		{"quoted display name with escaped quote", "From: <sip:alice", "From: \"A \\\"B\\\" C\" <sip:alice", defectNone},
		{"UTF-8 display name", "From: <sip:alice", "From: J\xc3\xbcrgen M\xc3\xbcller <sip:alice", defectNone},
		{"addr-spec with blanks around SEMI", "From: <sip:alice@example.com>;tag=chk", "From: sip:alice@example.com ; tag=chk", defectNone},
		{"addr-spec without a scheme", "To: <sip:bob@example.com>", "To: bob", defectBadTo},
		{"empty <>", "To: <sip:bob@example.com>", "To: <>", defectBadTo},
		{"no '>'", "To: <sip:bob@example.com>", "To: <sip:bob@example.com", defectBadTo},
		{"junk after '>'", "To: <sip:bob@example.com>", "To: <sip:bob@example.com> x", defectBadTo},
		{"compact i", "Call-ID: chk@test", "i: chk@test", defectNone},
		{"Call-ID and i", "Call-ID: chk@test", "Call-ID: chk@test\r\ni: chk@test", defectDupCallID},
		{"To and t", "To: <sip:bob@example.com>", "To: <sip:bob@example.com>\r\nt: <sip:bob@example.com>", defectDupTo},
		{"empty Call-ID", "Call-ID: chk@test", "Call-ID:", defectBadCallID},
		{"two Via headers are fine", "Max-Forwards: 70", "Max-Forwards: 70\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK2", defectNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := base
			if tc.old != "" {
				if !strings.Contains(msg, tc.old) {
					t.Fatalf("no %q in the base", tc.old)
				}
				msg = strings.Replace(msg, tc.old, tc.new, 1)
			}
			if got := checkOf(t, msg); got != tc.want {
				gc, gr := got.status()
				wc, wr := tc.want.status()
				t.Fatalf("defect %d (%d %s), want %d (%d %s)", got, gc, gr, tc.want, wc, wr)
			}
		})
	}
}

// TestDefectStatus: every defect has its own phrase, 400 but for the URI
// scheme's 416, the loop's 482 and no next hop's 404, and a counter in
// Stats.
func TestDefectStatus(t *testing.T) {
	seen := map[string]defect{}
	for d := defectNone + 1; d < numDefects; d++ {
		code, reason := d.status()
		want := map[defect]int{defectURIScheme: 416, defectLoop: 482, defectNotFound: 404}[d]
		if want == 0 {
			want = 400
		}
		if reason == "Bad Request" || code != want {
			t.Errorf("defect %d: %d %s", d, code, reason)
		}
		if o, ok := seen[reason]; ok {
			t.Errorf("defects %d and %d share %q", o, d, reason)
		}
		seen[reason] = d
	}
	var c counters
	for d := defectNone + 1; d < numDefects; d++ {
		c.rejections[d].Add(1)
	}
	s := c.rejectionStats()
	sum := s.MissingVia + s.BadVia + s.BadRequestURI + s.URIScheme + s.MissingTo + s.BadTo +
		s.MissingFrom + s.BadFrom + s.MissingCSeq + s.BadCSeq + s.CSeqMethod + s.MissingCallID +
		s.BadCallID + s.BadMaxForwards + s.Duplicate + s.BadRoute + s.LoopDetected + s.NotFound
	if sum != uint64(numDefects-1) {
		t.Fatalf("Stats.Rejections counts %d of %d defects: %+v", sum, numDefects-1, s)
	}
}
