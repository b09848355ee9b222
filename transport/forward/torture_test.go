package forward

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// Messages of RFC 4475 (SIP torture tests) sent over TCP: Via says TCP
// where the RFC's says UDP, and a body is cut or its Content-Length fixed
// where the RFC relies on a datagram's end. Each is named after its .dat
// file in the RFC.
var (
	// §3.1.1.1 wsinv: valid, folded and spaced in every legal way.
	tortureWsinv = "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n" +
		"TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n" +
		"from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n" +
		"MaX-fOrWaRdS: 0068\r\n" +
		"Call-ID: wsinv.ndaksdj@192.0.2.1\r\n" +
		"Content-Length   : 0\r\n" +
		"cseq: 0009\r\n  INVITE\r\n" +
		"Via  : SIP  /   2.0\r\n /TCP\r\n    192.0.2.2;branch=390skdjuw\r\n" +
		"s :\r\n" +
		"NewFieldHeader: newfieldvalue\r\n" +
		"NewFieldHeader2:                value with\r\n  with continuation line\r\n" +
		"Contact:\r\n \"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33\r\n" +
		"\r\n"

	// §3.1.1.3 intmeth: valid, every character a token or URI may hold.
	tortureIntmeth = "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n" +
		"To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n" +
		"From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xD1\x80\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x82\xD0\xB0\xD1\x8E\xD1\x89\xD0\xB8\xD0\xB9\";tag=_token~1'+`*%!-.\r\n" +
		"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n" +
		"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n" +
		"Max-Forwards: 255\r\n" +
		"extensionHeader-!.%*+_`'~:\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB\r\n" +
		"Content-Length: 0\r\n\r\n"

	// §3.1.2.1 badinv01: extraneous separators in Via.
	tortureBadinv01 = sipMsg("", "INVITE sip:user@example.com SIP/2.0",
		"To: sip:j.user@example.com",
		"From: sip:caller@example.net;tag=134161461246",
		"Max-Forwards: 7",
		"Call-ID: badinv01.0ha0isndaksdjasdf3234nas",
		"CSeq: 8 INVITE",
		"Via: SIP/2.0/TCP 192.0.2.15;;,;,,",
		"Contact: \"Joe\" <sip:joe@example.org>;;;;",
		"Content-Type: application/sdp")

	// §3.1.2.4 scalar02: CSeq and Max-Forwards beyond their range.
	tortureScalar02 = sipMsg("", "REGISTER sip:example.com SIP/2.0",
		"Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3",
		"To: <sip:user@example.com>",
		"From: <sip:user@example.com>;tag=239232jh3",
		"CSeq: 36893488147419103232 REGISTER",
		"Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32",
		"Max-Forwards: 300",
		"Expires: 1"+strings.Repeat("0", 40),
		"Contact: <sip:user@host129.example.com>;expires=280297596632815")

	// §3.1.2.6 quotbal: an unterminated quoted display name.
	tortureQuotbal = sipMsg("", "INVITE sip:user@example.com SIP/2.0",
		"To: \"Mr. J. User <sip:j.user@example.com>",
		"From: sip:caller@example.net;tag=93334",
		"Max-Forwards: 10",
		"Call-ID: quotbal.aksdj",
		"Contact: <sip:caller@host59.example.net>",
		"CSeq: 8 INVITE",
		"Via: SIP/2.0/TCP 192.0.2.15:5060;branch=z9hG4bKkdjuw",
		"Content-Type: application/sdp")

	// §3.1.2.7 ltgtruri: the Request-URI in <>.
	tortureLtgtruri = sipMsg("", "INVITE <sip:user@example.com> SIP/2.0",
		"To: sip:user@example.com",
		"From: sip:caller@example.net;tag=39291",
		"Max-Forwards: 23",
		"Call-ID: ltgtruri.1@192.0.2.5",
		"CSeq: 1 INVITE",
		"Via: SIP/2.0/TCP 192.0.2.5;branch=z9hG4bKkdjuw",
		"Contact: <sip:caller@host5.example.net>",
		"Content-Type: application/sdp")

	// §3.1.2.11 escruri: headers in the Request-URI.
	tortureEscruri = sipMsg("", "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0",
		"To: sip:user@example.com",
		"From: sip:caller@example.net;tag=341518",
		"Max-Forwards: 7",
		"Contact: <sip:caller@host39923.example.net>",
		"Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5",
		"CSeq: 149209342 INVITE",
		"Via: SIP/2.0/TCP host-of-the-hour.example.com;branch=z9hG4bKkdjuw",
		"Content-Type: application/sdp")

	// §3.1.2.14 badaspec: blanks inside <>.
	tortureBadaspec = sipMsg("", "OPTIONS sip:user@example.org SIP/2.0",
		"Via: SIP/2.0/TCP host4.example.com:5060;branch=z9hG4bKkdju43234",
		"Max-Forwards: 70",
		"From: \"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423",
		"To: \"Watson, Thomas\" < sip:t.watson@example.org >",
		"Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3",
		"Accept: application/sdp",
		"CSeq: 3923239 OPTIONS")

	// §3.1.2.15 baddn: a display name with a comma, unquoted.
	tortureBaddn = sipMsg("", "OPTIONS sip:t.watson@example.org SIP/2.0",
		"Via: SIP/2.0/TCP c.example.com:5060;branch=z9hG4bKkdjuw",
		"Max-Forwards: 70",
		"From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
		"To: Watson, Thomas <sip:t.watson@example.org>",
		"Call-ID: baddn.31415@c.example.com",
		"Accept: application/sdp",
		"CSeq: 3923239 OPTIONS")

	// §3.1.2.16 badvers: SIP/7.0.
	tortureBadvers = sipMsg("", "OPTIONS sip:t.watson@example.org SIP/7.0",
		"Via: SIP/7.0/TCP c.example.com;branch=z9hG4bKkdjuw",
		"Max-Forwards: 70",
		"From: A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe",
		"To: T. Watson <sip:t.watson@example.org>",
		"Call-ID: badvers.31417@c.example.com",
		"CSeq: 1 OPTIONS")

	// §3.1.2.17 mismatch01: the CSeq method is not the request's.
	tortureMismatch01 = sipMsg("", "OPTIONS sip:user@example.com SIP/2.0",
		"To: sip:j.user@example.com",
		"From: sip:caller@example.net;tag=34525",
		"Max-Forwards: 6",
		"Call-ID: mismatch01.dj0234sxdfl3",
		"CSeq: 8 INVITE",
		"Via: SIP/2.0/TCP host.example.com;branch=z9hG4bKkdjuw")

	// §3.1.2.18 mismatch02: an unknown method, and a CSeq of another.
	tortureMismatch02 = sipMsg("", "NEWMETHOD sip:user@example.com SIP/2.0",
		"To: sip:j.user@example.com",
		"From: sip:caller@example.net;tag=34525",
		"Max-Forwards: 6",
		"Call-ID: mismatch02.dj0234sxdfl3",
		"CSeq: 8 INVITE",
		"Contact: <sip:caller@host.example.net>",
		"Via: SIP/2.0/TCP host.example.net;branch=z9hG4bKkdjuw",
		"Content-Type: application/sdp")

	// §3.3.1 insuf: no Call-ID, From or To.
	tortureInsuf = sipMsg("", "INVITE sip:user@example.com SIP/2.0",
		"CSeq: 193942 INVITE",
		"Via: SIP/2.0/TCP 192.0.2.95;branch=z9hG4bKkdj.insuf",
		"Content-Type: application/sdp")

	// §3.3.2 unkscm: a Request-URI of an unknown scheme.
	tortureUnkscm = sipMsg("", "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0",
		"To: sip:user@example.com",
		"From: sip:caller@example.net;tag=384",
		"Max-Forwards: 3",
		"Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34",
		"CSeq: 3923423 OPTIONS",
		"Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234")

	// §3.3.3 novelsc: a novel scheme, well formed.
	tortureNovelsc = sipMsg("", "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0",
		"To: sip:user@example.com",
		"From: sip:caller@example.net;tag=384",
		"Max-Forwards: 3",
		"Call-ID: novelsc.asdfasser0q239nwsdfasdkl34",
		"CSeq: 3923423 OPTIONS",
		"Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234")

	// §3.3.9 multi01: To, From, CSeq, Call-ID and Max-Forwards twice.
	tortureMulti01 = sipMsg("", "INVITE sip:user@company.com SIP/2.0",
		"Contact: <sip:caller@host25.example.net>",
		"Via: SIP/2.0/TCP 192.0.2.25;branch=z9hG4bKkdjuw",
		"Max-Forwards: 70",
		"CSeq: 5 INVITE",
		"Call-ID: multi01.98asdh@192.0.2.1",
		"CSeq: 59 INVITE",
		"Call-ID: multi01.98asdh@192.0.2.2",
		"From: sip:caller@example.com;tag=3413415",
		"To: sip:user@example.com",
		"To: sip:other@example.net",
		"From: sip:caller@example.net;tag=2923420123",
		"Content-Type: application/sdp",
		"Contact: <sip:caller@host36.example.net>",
		"Max-Forwards: 5")

	// §3.3.12 zeromf: OPTIONS with Max-Forwards 0.
	tortureZeromf = sipMsg("", "OPTIONS sip:user@example.com SIP/2.0",
		"To: sip:user@example.com",
		"From: sip:caller@example.net;tag=3ghsd41",
		"Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas",
		"CSeq: 39234321 OPTIONS",
		"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bKkdjuw2349i",
		"Max-Forwards: 0")
)

// without returns msg without the header line that starts with prefix.
func without(msg, prefix string) string {
	i := strings.Index(msg, "\r\n"+prefix)
	if i < 0 {
		panic("no " + prefix)
	}
	j := strings.Index(msg[i+2:], "\r\n")
	return msg[:i] + msg[i+2+j:]
}

// exchange sends msg, then an OPTIONS to sipwire, and returns what came
// back before the OPTIONS' answer (a connection's requests are handled in
// order).
func (r *rig) exchange(p *peer, msg string) []string {
	r.t.Helper()
	p.send(msg)
	r.syncs++
	id := "sync-" + strconv.Itoa(r.syncs)
	self := r.f.att.Load().adv.String()
	p.send(sipMsg("",
		"OPTIONS sip:"+self+" SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-"+id,
		"From: <sip:sync@127.0.0.1>;tag="+id,
		"To: <sip:"+self+">",
		"Call-ID: "+id,
		"CSeq: 1 OPTIONS"))
	var got []string
	for range 64 {
		m := p.recv()
		if header(m, "Call-ID") == id {
			return got
		}
		got = append(got, m)
	}
	r.t.Fatalf("no answer to %s", id)
	return nil
}

// TestTorture: RFC 4475's malformed requests (and a few of its valid
// ones, which must still go through) from a client of the forwarder. Each
// gets its status with a phrase naming the defect, or nothing when it
// cannot be answered, and is counted by defect; the upstream receives only
// the valid ones, then the marker sent last.
func TestTorture(t *testing.T) {
	r := newRig(t, Config{Upstream: "up", RecordRoute: true}, transport.Options{})
	client := dialPeer(t, r.addr)
	type count func(Stats) uint64
	rej := func(f func(*Rejections) uint64) count { return func(s Stats) uint64 { return f(&s.Rejections) } }
	cases := []struct {
		name    string
		msg     string
		status  string // the answer's status line; "" for none
		counter count  // must go up by one
		relayed bool   // must reach the upstream
	}{
		{"wsinv", tortureWsinv, "", func(s Stats) uint64 { return s.RequestsForwarded }, true},
		{"intmeth", tortureIntmeth, "", func(s Stats) uint64 { return s.RequestsForwarded }, true},
		{"tel: URI", strings.Replace(invite("tel1", "127.0.0.1:5061"), "sip:bob@example.com SIP/2.0", "tel:+358-555-1234567 SIP/2.0", 1), "", func(s Stats) uint64 { return s.RequestsForwarded }, true},
		{"ACK with a UAS's To tag", sipMsg("", "ACK sip:bob@example.com SIP/2.0",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-ack1", "From: <sip:alice@example.com>;tag=a1",
			"To: <sip:bob@example.com>;tag=8321234356", "Call-ID: ack1@test", "CSeq: 1 ACK", "Max-Forwards: 70"),
			"", func(s Stats) uint64 { return s.RequestsForwarded }, true},
		{"zeromf", tortureZeromf, "SIP/2.0 200 OK", func(s Stats) uint64 { return s.OptionsAnswered - uint64(r.syncs) }, false}, // less exchange's OPTIONS

		{"badinv01", tortureBadinv01, "SIP/2.0 400 Bad Via", rej(func(r *Rejections) uint64 { return r.BadVia }), false},
		{"scalar02", tortureScalar02, "SIP/2.0 400 Bad CSeq", rej(func(r *Rejections) uint64 { return r.BadCSeq }), false},
		{"Max-Forwards 300", strings.Replace(invite("mf300", "127.0.0.1:5061"), "Max-Forwards: 70", "Max-Forwards: 300", 1), "SIP/2.0 400 Bad Max-Forwards", rej(func(r *Rejections) uint64 { return r.BadMaxForwards }), false},
		{"Max-Forwards 256", strings.Replace(invite("mf256", "127.0.0.1:5061"), "Max-Forwards: 70", "Max-Forwards: 256", 1), "SIP/2.0 400 Bad Max-Forwards", rej(func(r *Rejections) uint64 { return r.BadMaxForwards }), false},
		{"Max-Forwards -1", strings.Replace(invite("mfneg", "127.0.0.1:5061"), "Max-Forwards: 70", "Max-Forwards: -1", 1), "SIP/2.0 400 Bad Max-Forwards", rej(func(r *Rejections) uint64 { return r.BadMaxForwards }), false},
		{"quotbal", tortureQuotbal, "SIP/2.0 400 Bad To", rej(func(r *Rejections) uint64 { return r.BadTo }), false},
		{"ltgtruri", tortureLtgtruri, "SIP/2.0 400 Bad Request-URI", rej(func(r *Rejections) uint64 { return r.BadRequestURI }), false},
		{"escruri", tortureEscruri, "SIP/2.0 400 Bad Request-URI", rej(func(r *Rejections) uint64 { return r.BadRequestURI }), false},
		{"no scheme", strings.Replace(invite("nosch", "127.0.0.1:5061"), "sip:bob@example.com SIP/2.0", "bob@example.com SIP/2.0", 1), "SIP/2.0 400 Bad Request-URI", rej(func(r *Rejections) uint64 { return r.BadRequestURI }), false},
		{"badaspec", tortureBadaspec, "SIP/2.0 400 Bad To", rej(func(r *Rejections) uint64 { return r.BadTo }), false},
		{"baddn", tortureBaddn, "SIP/2.0 400 Bad To", rej(func(r *Rejections) uint64 { return r.BadTo }), false},
		{"baddn From", strings.Replace(tortureBaddn, "To: Watson, Thomas", "To: \"Watson, Thomas\"", 1), "SIP/2.0 400 Bad From", rej(func(r *Rejections) uint64 { return r.BadFrom }), false},
		{"mismatch01", tortureMismatch01, "SIP/2.0 400 CSeq Method Mismatch", rej(func(r *Rejections) uint64 { return r.CSeqMethod }), false},
		{"mismatch02", tortureMismatch02, "SIP/2.0 400 CSeq Method Mismatch", rej(func(r *Rejections) uint64 { return r.CSeqMethod }), false},
		{"lower-case CSeq method", strings.Replace(invite("lcm", "127.0.0.1:5061"), "CSeq: 1 INVITE", "CSeq: 1 invite", 1), "SIP/2.0 400 CSeq Method Mismatch", rej(func(r *Rejections) uint64 { return r.CSeqMethod }), false},
		{"insuf", tortureInsuf, "SIP/2.0 400 Missing To", rej(func(r *Rejections) uint64 { return r.MissingTo }), false},
		{"no From", without(invite("nofrom", "127.0.0.1:5061"), "From:"), "SIP/2.0 400 Missing From", rej(func(r *Rejections) uint64 { return r.MissingFrom }), false},
		{"no CSeq", without(invite("nocseq", "127.0.0.1:5061"), "CSeq:"), "SIP/2.0 400 Missing CSeq", rej(func(r *Rejections) uint64 { return r.MissingCSeq }), false},
		{"no Call-ID", without(invite("nocid", "127.0.0.1:5061"), "Call-ID:"), "SIP/2.0 400 Missing Call-ID", rej(func(r *Rejections) uint64 { return r.MissingCallID }), false},
		{"Call-ID with a blank", strings.Replace(invite("cidsp", "127.0.0.1:5061"), "Call-ID: cidsp@test", "Call-ID: cid sp@test", 1), "SIP/2.0 400 Bad Call-ID", rej(func(r *Rejections) uint64 { return r.BadCallID }), false},
		{"unkscm", tortureUnkscm, "SIP/2.0 416 Unsupported URI Scheme", rej(func(r *Rejections) uint64 { return r.URIScheme }), false},
		{"novelsc", tortureNovelsc, "SIP/2.0 416 Unsupported URI Scheme", rej(func(r *Rejections) uint64 { return r.URIScheme }), false},
		{"multi01", tortureMulti01, "SIP/2.0 400 Duplicate CSeq", rej(func(r *Rejections) uint64 { return r.Duplicate }), false},
		{"two Max-Forwards", invite("mf2", "127.0.0.1:5061", "Max-Forwards: 69"), "SIP/2.0 400 Duplicate Max-Forwards", rej(func(r *Rejections) uint64 { return r.Duplicate }), false},
		{"no Via", without(invite("novia", "127.0.0.1:5061"), "Via:"), "", rej(func(r *Rejections) uint64 { return r.MissingVia }), false},
		{"ACK without Call-ID", without(strings.Replace(invite("ack2", "127.0.0.1:5061"), "INVITE", "ACK", 2), "Call-ID:"), "", rej(func(r *Rejections) uint64 { return r.MissingCallID }), false},
	}
	var up *peer
	relayed, refused := 0, 0
	for _, tc := range cases {
		if strings.HasPrefix(tc.status, "SIP/2.0 4") {
			refused++
		}
		t.Run(tc.name, func(t *testing.T) {
			before := tc.counter(r.f.Stats())
			got := r.exchange(client, tc.msg)
			if after := tc.counter(r.f.Stats()); after != before+1 {
				t.Errorf("counter %d -> %d, want +1", before, after)
			}
			if tc.status == "" {
				if len(got) != 0 {
					t.Fatalf("answered:\n%s", got[0])
				}
			} else {
				if len(got) != 1 || startLine(got[0]) != tc.status {
					t.Fatalf("got %q, want %q", got, tc.status)
				}
				// The answer goes back along the request's top Via.
				reqVia := header(tc.msg, "Via")
				if reqVia != "" && header(got[0], "Via") != reqVia {
					t.Errorf("answer's Via %q, want %q", header(got[0], "Via"), reqVia)
				}
			}
			if tc.relayed {
				relayed++
				if up == nil {
					up = r.up.accept()
				}
				fwd := up.recv()
				if strings.Fields(startLine(fwd))[0] != strings.Fields(startLine(tc.msg))[0] {
					t.Fatalf("upstream got\n%s", fwd)
				}
			}
		})
	}
	marker := invite("marker", "127.0.0.1:5061")
	client.send(marker)
	if up == nil {
		up = r.up.accept()
	}
	if got := up.recv(); header(got, "Call-ID") != "marker@test" {
		t.Fatalf("the upstream got, before the marker:\n%s", got)
	}
	r.sync(client) // the marker counted
	s := r.f.Stats()
	if s.RequestsForwarded != uint64(relayed+1) {
		t.Errorf("requests_forwarded %d, want %d", s.RequestsForwarded, relayed+1)
	}
	if s.Rejected != uint64(refused) {
		t.Errorf("rejected %d, want %d", s.Rejected, refused)
	}
	if s.DroppedRequests.Malformed != 1 || s.DroppedRequests.ACK != 1 {
		t.Errorf("dropped %+v: want the Via-less request and the ACK", s.DroppedRequests)
	}
}

// TestTortureAnswerContent: the 400 to insuf copies its Via and CSeq and
// invents no From, To or Call-ID (RFC 4475 §3.3.1).
func TestTortureAnswerContent(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	got := r.exchange(client, tortureInsuf)
	if len(got) != 1 {
		t.Fatalf("got %q", got)
	}
	expectEqual(t, got[0], "SIP/2.0 400 Missing To\r\n"+
		"Via: SIP/2.0/TCP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n"+
		"CSeq: 193942 INVITE\r\n"+
		"Content-Length: 0\r\n\r\n")
}

// TestTortureFramingErrors: what the framer refuses is answered by the
// transport's reject path (which uses framing.ErrorStatus), then the
// connection closes; nothing reaches the upstream.
func TestTortureFramingErrors(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	cases := []struct{ name, msg, status string }{
		{"badvers", tortureBadvers, "SIP/2.0 505 Version Not Supported"},
		{"ncl", strings.Replace(invite("ncl", "127.0.0.1:5061"), "Content-Length: 0", "Content-Length: -999", 1), "SIP/2.0 400 Bad Content-Length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := dialPeer(t, r.addr)
			client.send(tc.msg)
			select {
			case m, ok := <-client.msgs:
				if !ok || startLine(m) != tc.status {
					t.Fatalf("got %q (open %v), want %q", m, ok, tc.status)
				}
			case <-time.After(wait):
				t.Fatal("no answer")
			}
			select {
			case m, ok := <-client.msgs:
				if ok {
					t.Fatalf("after the answer: %q", m)
				}
			case <-time.After(wait):
				t.Fatal("the connection stayed open")
			}
		})
	}
	client := dialPeer(t, r.addr)
	client.send(invite("marker", "127.0.0.1:5061"))
	if got := r.up.accept().recv(); header(got, "Call-ID") != "marker@test" {
		t.Fatalf("the upstream got, before the marker:\n%s", got)
	}
}

// TestBareLF: a request written with bare LF is relayed with bare LF only,
// sipwire's Via, Record-Route and Max-Forwards included.
func TestBareLF(t *testing.T) {
	r := newRig(t, Config{Upstream: "up", RecordRoute: true}, transport.Options{})
	client := dialPeer(t, r.addr)
	body := "v=0\r\n" // the body is relayed as it is
	msg := strings.ReplaceAll(without(invite("lf", "127.0.0.1:5061"), "Max-Forwards:"), "\r\n", "\n")
	msg = strings.Replace(msg, "Content-Length: 0\n", "Content-Length: 5\n", 1) + body
	client.send(msg)
	got := r.up.accept().recv()
	head, gotBody, ok := strings.Cut(got, "\n\n")
	if !ok || gotBody != body {
		t.Fatalf("relayed:\n%q", got)
	}
	if strings.Contains(head, "\r") {
		t.Fatalf("mixed line ends:\n%q", head)
	}
	for _, want := range []string{"\nVia: SIP/2.0/TCP " + r.fwd() + ";", "\nRecord-Route: <sip:" + r.fwd() + ";", "\nMax-Forwards: 70\n"} {
		if !strings.Contains(head, want) {
			t.Errorf("no %q in\n%s", want, head)
		}
	}
}

// TestACKToLocalReply: the ACK of sipwire's own negative response carries
// the To tag sipwire derived; it is absorbed (counted), not forwarded.
func TestACKToLocalReply(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	inv := strings.Replace(invite("a483", "127.0.0.1:5061"), "Max-Forwards: 70", "Max-Forwards: 0", 1)
	got := r.exchange(client, inv)
	if len(got) != 1 || startLine(got[0]) != "SIP/2.0 483 Too Many Hops" {
		t.Fatalf("got %q", got)
	}
	if got := r.exchange(client, ackFor(inv, got[0])); len(got) != 0 {
		t.Fatalf("the ACK was answered: %q", got)
	}
	client.send(invite("marker", "127.0.0.1:5061"))
	if got := r.up.accept().recv(); header(got, "Call-ID") != "marker@test" {
		t.Fatalf("the upstream got, before the marker:\n%s", got)
	}
	r.sync(client) // the marker counted
	if s := r.f.Stats(); s.DroppedRequests.ACKToLocalReply != 1 || s.RequestsForwarded != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestACKToLocal503: the ACK of the 503 for an unreachable upstream starts
// no second connect.
func TestACKToLocal503(t *testing.T) {
	r := newRig(t, Config{Upstream: "sip:" + unusedPort(t)}, transport.Options{})
	client := dialPeer(t, r.addr)
	inv := invite("a503", "127.0.0.1:5061")
	got := r.exchange(client, inv)
	if len(got) != 1 || startLine(got[0]) != "SIP/2.0 503 Service Unavailable" {
		t.Fatalf("got %q", got)
	}
	connects := r.tr.Stats().Connects
	r.exchange(client, ackFor(inv, got[0]))
	if n := r.tr.Stats().Connects; n != connects {
		t.Fatalf("connects %d -> %d: the ACK was sent on", connects, n)
	}
	if s := r.f.Stats(); s.DroppedRequests.ACKToLocalReply != 1 || s.SendErrors != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// ackFor builds the ACK of a non-2xx response resp to the INVITE inv
// (RFC 3261 §17.1.1.3): the INVITE's Request-URI, top Via, From and
// Call-ID, the response's To.
func ackFor(inv, resp string) string {
	uri := strings.Fields(startLine(inv))[1]
	return sipMsg("", "ACK "+uri+" SIP/2.0",
		"Via: "+header(inv, "Via"),
		"From: "+header(inv, "From"),
		"To: "+header(resp, "To"),
		"Call-ID: "+header(inv, "Call-ID"),
		"CSeq: "+strings.Fields(header(inv, "CSeq"))[0]+" ACK",
		"Max-Forwards: 70")
}
