package forward

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// fill replaces the placeholders of a test message: {FWD} the forwarder,
// {UP} the upstream, {CID} the client's connection id, {SRCPORT} the
// client's source port, {BRANCH} sipwire's branch.
func fill(s string, kv ...string) string {
	return strings.NewReplacer(kv...).Replace(s)
}

func TestRequestRewrite(t *testing.T) {
	cases := []struct {
		name string
		in   []string // header lines, without Content-Length
		body string
		want []string
	}{{
		name: "invite with empty rport, record-routed",
		in: []string{
			"INVITE sip:service@{FWD} SIP/2.0",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-1;rport",
			"From: sipp <sip:sipp@127.0.0.1:5061>;tag=1",
			"To: service <sip:service@{FWD}>",
			"Call-ID: call-1@test",
			"CSeq: 1 INVITE",
			"Contact: <sip:sipp@127.0.0.1:5061;transport=tcp>",
			"Max-Forwards: 70",
			"Content-Type: application/sdp",
		},
		body: "v=0\r\n",
		want: []string{
			"INVITE sip:service@{FWD} SIP/2.0",
			"Via: SIP/2.0/TCP {FWD};branch={BRANCH};cid={CID}",
			"Record-Route: <sip:{FWD};transport=tcp;lr;cid={CID}>",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-1;rport={SRCPORT};received=127.0.0.1",
			"From: sipp <sip:sipp@127.0.0.1:5061>;tag=1",
			"To: service <sip:service@{FWD}>",
			"Call-ID: call-1@test",
			"CSeq: 1 INVITE",
			"Contact: <sip:sipp@127.0.0.1:5061;transport=tcp>",
			"Max-Forwards: 69",
			"Content-Type: application/sdp",
		},
	}, {
		name: "no Max-Forwards, host name in sent-by, not record-routed",
		in: []string{
			"MESSAGE sip:bob@example.com SIP/2.0",
			"Via: SIP/2.0/TCP client.example.com:5061;branch=z9hG4bK-2",
			"From: <sip:alice@example.com>;tag=2",
			"To: <sip:bob@example.com>",
			"Call-ID: call-2@test",
			"CSeq: 7 MESSAGE",
		},
		body: "hello",
		want: []string{
			"MESSAGE sip:bob@example.com SIP/2.0",
			"Via: SIP/2.0/TCP {FWD};branch={BRANCH};cid={CID}",
			"Max-Forwards: 70",
			"Via: SIP/2.0/TCP client.example.com:5061;branch=z9hG4bK-2;received=127.0.0.1",
			"From: <sip:alice@example.com>;tag=2",
			"To: <sip:bob@example.com>",
			"Call-ID: call-2@test",
			"CSeq: 7 MESSAGE",
		},
	}, {
		name: "our Route removed, stale cid: from the client, to the upstream",
		in: []string{
			"BYE sip:uas@127.0.0.1:5070 SIP/2.0",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-3;rport=4000;received=127.0.0.1",
			"Route: <sip:{FWD};transport=tcp;lr;cid=99999>",
			"From: <sip:alice@example.com>;tag=3",
			"To: <sip:bob@example.com>;tag=b",
			"Call-ID: call-3@test",
			"CSeq: 2 BYE",
			"Max-Forwards: 10",
		},
		want: []string{
			"BYE sip:uas@127.0.0.1:5070 SIP/2.0",
			"Via: SIP/2.0/TCP {FWD};branch={BRANCH};cid={CID}",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-3;rport=4000;received=127.0.0.1",
			"From: <sip:alice@example.com>;tag=3",
			"To: <sip:bob@example.com>;tag=b",
			"Call-ID: call-3@test",
			"CSeq: 2 BYE",
			"Max-Forwards: 9",
		},
	}, {
		name: "existing Record-Route above the Via: ours goes first",
		in: []string{
			"SUBSCRIBE sip:presence@example.com SIP/2.0",
			"Record-Route: <sip:10.9.9.9;lr>",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-4",
			"From: <sip:alice@example.com>;tag=4",
			"To: <sip:presence@example.com>",
			"Call-ID: call-4@test",
			"CSeq: 1 SUBSCRIBE",
			"Max-Forwards: 5",
			"Event: presence",
		},
		want: []string{
			"SUBSCRIBE sip:presence@example.com SIP/2.0",
			"Via: SIP/2.0/TCP {FWD};branch={BRANCH};cid={CID}",
			"Record-Route: <sip:{FWD};transport=tcp;lr;cid={CID}>",
			"Record-Route: <sip:10.9.9.9;lr>",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-4",
			"From: <sip:alice@example.com>;tag=4",
			"To: <sip:presence@example.com>",
			"Call-ID: call-4@test",
			"CSeq: 1 SUBSCRIBE",
			"Max-Forwards: 4",
			"Event: presence",
		},
	}, {
		name: "compact forms, two via-parms in one header, rport=",
		in: []string{
			"OPTIONS sip:user@example.com SIP/2.0",
			"v: SIP/2.0/TCP 127.0.0.1:5061 ; branch=z9hG4bK-5 ; rport=, SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-0",
			"f: <sip:alice@example.com>;tag=5",
			"t: <sip:user@example.com>",
			"i: call-5@test",
			"CSeq: 1 OPTIONS",
			"Max-Forwards: 2",
		},
		want: []string{
			"OPTIONS sip:user@example.com SIP/2.0",
			"Via: SIP/2.0/TCP {FWD};branch={BRANCH};cid={CID}",
			"v: SIP/2.0/TCP 127.0.0.1:5061 ; branch=z9hG4bK-5 ; rport={SRCPORT};received=127.0.0.1, SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-0",
			"f: <sip:alice@example.com>;tag=5",
			"t: <sip:user@example.com>",
			"i: call-5@test",
			"CSeq: 1 OPTIONS",
			"Max-Forwards: 1",
		},
	}, {
		name: "folded Via",
		in: []string{
			"INFO sip:user@example.com SIP/2.0",
			"Via: SIP/2.0/TCP 127.0.0.2:5061",
			"  ;branch=z9hG4bK-6",
			"From: <sip:alice@example.com>;tag=6",
			"To: <sip:user@example.com>;tag=u",
			"Call-ID: call-6@test",
			"CSeq: 3 INFO",
			"Max-Forwards: 70",
		},
		want: []string{
			"INFO sip:user@example.com SIP/2.0",
			"Via: SIP/2.0/TCP {FWD};branch={BRANCH};cid={CID}",
			"Via: SIP/2.0/TCP 127.0.0.2:5061",
			"  ;branch=z9hG4bK-6;received=127.0.0.1",
			"From: <sip:alice@example.com>;tag=6",
			"To: <sip:user@example.com>;tag=u",
			"Call-ID: call-6@test",
			"CSeq: 3 INFO",
			"Max-Forwards: 69",
		},
	}}
	r := newRig(t, Config{Upstream: "up", RecordRoute: true}, transport.Options{})
	client := dialPeer(t, r.addr)
	var up *peer
	for _, tc := range cases {
		client.send(fill(sipMsg(tc.body, tc.in...), "{FWD}", r.fwd()))
		if up == nil {
			up = r.up.accept()
		}
		got := up.recv()
		want := fill(sipMsg(tc.body, tc.want...),
			"{FWD}", r.fwd(), "{CID}", r.connID(client),
			"{SRCPORT}", strconv.Itoa(int(client.local().Port())),
			"{BRANCH}", ourBranch(t, got))
		t.Run(tc.name, func(t *testing.T) { expectEqual(t, got, want) })
	}
	r.sync(client)
	if s := r.f.Stats(); s.RequestsForwarded != uint64(len(cases)) {
		t.Fatalf("requests_forwarded = %d, want %d", s.RequestsForwarded, len(cases))
	}
}

func TestRouteToNextHop(t *testing.T) {
	r := newRig(t, Config{Upstream: "up", RecordRoute: true}, transport.Options{})
	other := newServer(t)
	client := dialPeer(t, r.addr)
	base := []string{
		"From: <sip:alice@example.com>;tag=1",
		"To: <sip:bob@example.com>;tag=2",
		"Call-ID: route@test",
		"CSeq: 2 BYE",
		"Max-Forwards: 70",
	}
	// Our entry first in a header with two entries.
	client.send(fill(sipMsg("", append([]string{
		"BYE sip:bob@10.1.2.3 SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-r1",
		"Route: <sip:{FWD};lr>, <sip:{OTHER};lr>",
	}, base...)...), "{FWD}", r.fwd(), "{OTHER}", other.addr.String()))
	op := other.accept()
	got := op.recv()
	if h := header(got, "Route"); h != "<sip:"+other.addr.String()+";lr>" {
		t.Fatalf("Route = %q", h)
	}
	// Our entry alone in the first Route header, the next hop in the second.
	client.send(fill(sipMsg("", append([]string{
		"BYE sip:bob@10.1.2.3 SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-r2",
		"Route: <sip:{FWD};lr>",
		"Route: <sip:{OTHER};lr>",
	}, base...)...), "{FWD}", r.fwd(), "{OTHER}", other.addr.String()))
	got = op.recv()
	if n := strings.Count(got, "Route:"); n != 1 || header(got, "Route") != "<sip:"+other.addr.String()+";lr>" {
		t.Fatalf("Route headers after ours removed:\n%s", got)
	}
	// A next hop that is not an IP address: a client's request goes upstream.
	client.send(fill(sipMsg("", append([]string{
		"BYE sip:bob@10.1.2.3 SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-r3",
		"Route: <sip:{FWD};lr>, <sip:proxy.example.com;lr>",
	}, base...)...), "{FWD}", r.fwd()))
	got = r.up.accept().recv()
	if header(got, "Route") != "<sip:proxy.example.com;lr>" {
		t.Fatalf("upstream got\n%s", got)
	}
	// Our address twice: a loop.
	client.send(fill(sipMsg("", append([]string{
		"BYE sip:bob@10.1.2.3 SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-r4",
		"Route: <sip:{FWD};lr>, <sip:{FWD};lr>",
	}, base...)...), "{FWD}", r.fwd()))
	if got := startLine(client.recv()); got != "SIP/2.0 482 Loop Detected" {
		t.Fatalf("got %q", got)
	}
	if s := r.f.Stats(); s.Rejections.LoopDetected != 1 || s.Rejected != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMaxForwards(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	req := func(method, branch, mf string) string {
		return sipMsg("",
			method+" sip:bob@example.com SIP/2.0",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-"+branch,
			"From: <sip:alice@example.com>;tag=1",
			"To: <sip:bob@example.com>",
			"Call-ID: mf@test",
			"CSeq: 1 "+method,
			"Max-Forwards: "+mf)
	}
	client.send(req("INVITE", "a", "0"))
	if got := startLine(client.recv()); got != "SIP/2.0 483 Too Many Hops" {
		t.Fatalf("INVITE with Max-Forwards 0: %q", got)
	}
	client.send(req("OPTIONS", "b", "0"))
	if got := startLine(client.recv()); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS with Max-Forwards 0: %q", got)
	}
	client.send(req("ACK", "c", "0"))
	client.send(req("INVITE", "d", "x1"))
	if got := startLine(client.recv()); got != "SIP/2.0 400 Bad Max-Forwards" {
		t.Fatalf("bad Max-Forwards: %q", got)
	}
	// The first request the upstream sees is the one with hops left.
	client.send(req("MESSAGE", "e", "1"))
	got := r.up.accept().recv()
	if startLine(got) != "MESSAGE sip:bob@example.com SIP/2.0" || header(got, "Max-Forwards") != "0" {
		t.Fatalf("upstream got\n%s", got)
	}
	r.sync(client)
	s := r.f.Stats()
	if s.TooManyHops != 1 || s.OptionsAnswered != 2 || s.Rejected != 1 || s.DroppedRequests.ACK != 1 || s.RequestsForwarded != 1 || s.LocalReplies != 4 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOptionsToSelf(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	options := func(uri, branch string) string {
		return sipMsg("",
			"OPTIONS "+uri+" SIP/2.0",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-"+branch,
			"From: <sip:ping@127.0.0.1>;tag=1",
			"To: <"+uri+">",
			"Call-ID: opt-"+branch+"@test",
			"CSeq: 1 OPTIONS",
			"Max-Forwards: 70")
	}
	client.send(options("sip:"+r.fwd(), "self"))
	resp := client.recv()
	if startLine(resp) != "SIP/2.0 200 OK" || header(resp, "Call-ID") != "opt-self@test" {
		t.Fatalf("OPTIONS to sipwire:\n%s", resp)
	}
	client.send(options("sip:"+r.fwd()+";transport=tcp", "self2"))
	if got := startLine(client.recv()); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS to sipwire with a parameter: %q", got)
	}
	// With a user part, or to someone else, it is forwarded.
	client.send(options("sip:ping@"+r.fwd(), "user"))
	up := r.up.accept()
	if got := up.recv(); header(got, "Call-ID") != "opt-user@test" {
		t.Fatalf("upstream got\n%s", got)
	}
	client.send(options("sip:127.0.0.1:1", "other"))
	if got := up.recv(); header(got, "Call-ID") != "opt-other@test" {
		t.Fatalf("upstream got\n%s", got)
	}
}

func TestBranch(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	msg := func(method, cseq, via, to string) string {
		return sipMsg("",
			method+" sip:bob@example.com SIP/2.0",
			"Via: "+via,
			"From: <sip:alice@example.com>;tag=a",
			"To: "+to,
			"Call-ID: branch@test",
			"CSeq: "+cseq+" "+method,
			"Max-Forwards: 70")
	}
	const via1 = "SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-inv1"
	sends := []struct {
		name string
		msg  string
		same bool // same branch as the INVITE
	}{
		{"invite", msg("INVITE", "1", via1, "<sip:bob@example.com>"), true},
		{"retransmission", msg("INVITE", "1", via1, "<sip:bob@example.com>"), true},
		{"cancel", msg("CANCEL", "1", via1, "<sip:bob@example.com>"), true},
		{"ack of a non-2xx", msg("ACK", "1", via1, "<sip:bob@example.com>;tag=b"), true},
		{"another branch", msg("INVITE", "1", "SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-inv2", "<sip:bob@example.com>"), false},
		{"another sent-by", msg("INVITE", "1", "SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-inv1", "<sip:bob@example.com>"), false},
	}
	var up *peer
	var first string
	seen := map[string]string{}
	for _, s := range sends {
		client.send(s.msg)
		if up == nil {
			up = r.up.accept()
		}
		b := ourBranch(t, up.recv())
		if first == "" {
			first = b
		}
		if (b == first) != s.same {
			t.Errorf("%s: branch %s, INVITE's %s, want same=%v", s.name, b, first, s.same)
		}
		if !s.same {
			if o, dup := seen[b]; dup {
				t.Errorf("%s: branch %s already given to %s", s.name, b, o)
			}
			seen[b] = s.name
		}
	}

	// An RFC 2543 peer: no magic cookie.
	const old = "SIP/2.0/TCP 127.0.0.1:5061;branch=1"
	client.send(msg("INVITE", "5", old, "<sip:bob@example.com>"))
	inv := ourBranch(t, up.recv())
	client.send(msg("CANCEL", "5", old, "<sip:bob@example.com>"))
	if c := ourBranch(t, up.recv()); c != inv {
		t.Errorf("RFC 2543 CANCEL branch %s, INVITE's %s", c, inv)
	}
	client.send(msg("INVITE", "6", old, "<sip:bob@example.com>"))
	if c := ourBranch(t, up.recv()); c == inv {
		t.Errorf("RFC 2543 INVITE with another CSeq got the same branch %s", c)
	}
}

func TestRequestFromUpstreamToSelf(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	client.send(sipMsg("",
		"MESSAGE sip:bob@example.com SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-open",
		"From: <sip:alice@example.com>;tag=1",
		"To: <sip:bob@example.com>",
		"Call-ID: open@test",
		"CSeq: 1 MESSAGE"))
	up := r.up.accept()
	up.recv()
	// The upstream sends a request whose Request-URI names sipwire.
	up.send(sipMsg("",
		"INVITE sip:someone@"+r.fwd()+" SIP/2.0",
		"Via: SIP/2.0/TCP "+r.up.addr.String()+";branch=z9hG4bK-up1",
		"From: <sip:bob@example.com>;tag=2",
		"To: <sip:someone@example.com>",
		"Call-ID: toself@test",
		"CSeq: 1 INVITE",
		"Max-Forwards: 70"))
	if got := startLine(up.recv()); got != "SIP/2.0 404 Not Found" {
		t.Fatalf("got %q", got)
	}
	if s := r.f.Stats(); s.Rejections.NotFound != 1 || s.Rejected != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestProxyRequire: a request whose Proxy-Require names extensions gets
// 420 Bad Extension listing every option-tag in Unsupported (RFC 3261
// §16.3 step 5); its ACK is absorbed; an ACK with Proxy-Require and a
// request without one are relayed.
func TestProxyRequire(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	req := func(method, branch string, extra ...string) string {
		lines := append([]string{
			method + " sip:bob@example.com SIP/2.0",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-" + branch,
			"From: <sip:alice@example.com>;tag=1",
			"To: <sip:bob@example.com>",
			"Call-ID: pr-" + branch + "@test",
			"CSeq: 1 " + method,
			"Max-Forwards: 70"}, extra...)
		return sipMsg("", lines...)
	}
	client.send(req("INVITE", "a", "Proxy-Require: foo, sec-agree", "Subject: x", "proxy-require:  bar\r\n\t,baz "))
	resp := client.recv()
	if startLine(resp) != "SIP/2.0 420 Bad Extension" {
		t.Fatalf("INVITE with Proxy-Require:\n%s", resp)
	}
	if got := header(resp, "Unsupported"); got != "foo, sec-agree, bar, baz" {
		t.Fatalf("Unsupported %q, want every option-tag in order:\n%s", got, resp)
	}
	if header(resp, "Call-ID") != "pr-a@test" || header(resp, "CSeq") != "1 INVITE" {
		t.Fatalf("420 does not match its request:\n%s", resp)
	}
	to := header(resp, "To")
	ack := strings.Replace(req("ACK", "a"), "To: <sip:bob@example.com>", "To: "+to, 1)
	client.send(ack)
	client.send(req("ACK", "b", "Proxy-Require: foo"))
	client.send(req("MESSAGE", "c", "Require: foo"))
	up := r.up.accept()
	if got := up.recv(); startLine(got) != "ACK sip:bob@example.com SIP/2.0" || header(got, "Call-ID") != "pr-b@test" {
		t.Fatalf("upstream got first\n%s\nwant the ACK with Proxy-Require (an ACK is never answered)", got)
	}
	if got := up.recv(); startLine(got) != "MESSAGE sip:bob@example.com SIP/2.0" {
		t.Fatalf("upstream got\n%s", got)
	}
	r.sync(client)
	s := r.f.Stats()
	if s.BadExtension != 1 || s.DroppedRequests.ACKToLocalReply != 1 || s.RequestsForwarded != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestRelayExtensions: option-tags in Config.RelayExtensions (the
// upstream's extensions) pass; a request naming any other still gets 420,
// listing only those.
func TestRelayExtensions(t *testing.T) {
	r := newRig(t, Config{Upstream: "up", RelayExtensions: []string{"sec-agree"}}, transport.Options{})
	client := dialPeer(t, r.addr)
	req := func(branch, proxyRequire string) string {
		return sipMsg("",
			"REGISTER sip:example.com SIP/2.0",
			"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-"+branch,
			"From: <sip:alice@example.com>;tag=1",
			"To: <sip:alice@example.com>",
			"Call-ID: rx-"+branch+"@test",
			"CSeq: 1 REGISTER",
			"Proxy-Require: "+proxyRequire,
			"Max-Forwards: 70")
	}
	client.send(req("a", "sec-agree, foo"))
	resp := client.recv()
	if startLine(resp) != "SIP/2.0 420 Bad Extension" || header(resp, "Unsupported") != "foo" {
		t.Fatalf("sec-agree and foo:\n%s", resp)
	}
	client.send(req("b", "Sec-Agree"))
	if got := r.up.accept().recv(); startLine(got) != "REGISTER sip:example.com SIP/2.0" || header(got, "Proxy-Require") != "Sec-Agree" {
		t.Fatalf("upstream got\n%s", got)
	}
}
