package forward

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// FuzzRewrite feeds framed messages to the request and response paths of a
// Forwarder attached to a real transport, a real client connection being
// the messages' Conn; nothing is sent. A forwarded request must frame as
// one message with the same body and our Via on top, pass the checks again
// (nothing malformed goes out), and end its header lines with LF alone
// when the request's first line did; a response made to it must come back
// through strip, to that connection, with one Via less. A response must
// come out of strip shorter, or not at all.
func FuzzRewrite(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	// Advertise the seeds' address: nothing is sent to it.
	r := newRig(f, Config{Upstream: "up", RecordRoute: true, Advertise: netip.MustParseAddrPort(fuzzAdvertise)}, transport.Options{})
	client := dialPeer(f, r.addr)
	r.sync(client)
	conn := r.tr.ConnByRemote(client.local())
	if conn == nil {
		f.Fatal("no client connection")
	}
	a := r.f.att.Load()
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr framing.Framer
		var res framing.Result
		fr.Next(data, &res)
		if res.Kind != framing.Message {
			return
		}
		m := &transport.Message{Frame: res.Frame, Conn: conn}
		if !m.IsRequest {
			var v, next via
			out, drop := r.f.strip(m.Data, m.HeaderLen, a, nil, &v, &next)
			if drop == nil && len(out) >= len(m.Data) {
				t.Fatalf("response not shortened:\n%q\n%q", m.Data, out)
			}
			return
		}
		var hop nextHop
		out := r.f.rewrite(m, a, nil, &hop)
		if hop.code != 0 {
			return
		}
		fr.Reset()
		fr.Next(out, &res)
		if res.Kind != framing.Message || res.N != len(out) {
			t.Fatalf("forwarded request does not frame (%v %v):\n%q", res.Kind, res.Err, out)
		}
		if !bytes.Equal(res.Frame.Body(), m.Body()) {
			t.Fatalf("body changed:\n%q\n%q", m.Body(), res.Frame.Body())
		}
		var again req
		again.m = &transport.Message{Frame: res.Frame, Conn: conn}
		again.hb = out[:res.Frame.HeaderLen]
		scanHeaders(again.hb, &again.h)
		if d := check(&again); d != defectNone {
			code, reason := d.status()
			t.Fatalf("forwarded a request with a defect (%d %s):\n%q", code, reason, out)
		}
		if first := bytes.IndexByte(m.Data, '\n'); first > 0 && m.Data[first-1] != '\r' &&
			bytes.Count(again.hb, []byte("\r\n")) > bytes.Count(m.Data[:m.HeaderLen], []byte("\r\n")) {
			t.Fatalf("CRLF added to a bare-LF request:\n%q\n%q", m.Data, out)
		}
		top := string(res.Frame.Via)
		if !strings.HasPrefix(top, "SIP/2.0/TCP "+fuzzAdvertise+";branch="+branchPrefix) {
			t.Fatalf("top Via %q", top)
		}
		resp := framing.AppendResponse(nil, &res.Frame, 200, "OK")
		if len(resp) == 0 {
			return
		}
		var v, next via
		back, drop := r.f.strip(resp, bytes.Index(resp, []byte("\r\n\r\n"))+4, a, nil, &v, &next)
		if drop != nil {
			t.Fatalf("response to the forwarded request dropped:\n%q", resp)
		}
		if !v.hasCID || v.cid != conn.ID() {
			t.Fatalf("cid %d, want %d", v.cid, conn.ID())
		}
		if got, want := bytes.Count(back, []byte("\r\nVia: ")), bytes.Count(resp, []byte("\r\nVia: "))-1; got != want {
			t.Fatalf("%d Via headers left, want %d:\n%q", got, want, back)
		}
	})
}

// fuzzAdvertise is the address FuzzRewrite's forwarder advertises.
const fuzzAdvertise = "127.0.0.1:5060"

func fuzzSeeds() []string {
	const fwd = fuzzAdvertise
	return []string{
		benchInvite(fwd),
		invite("f1", "127.0.0.1:5061", "Route: <sip:"+fwd+";lr;cid=1>, <sip:10.0.0.1;lr>"),
		sipMsg("", "OPTIONS sip:u@x SIP/2.0",
			"v: SIP/2.0/TCP a ; branch=z9hG4bK-5 ; rport=, SIP/2.0/TCP b;branch=z9hG4bK-0",
			"f: <sip:a@x>;tag=5", "t: <sip:u@x>", "i: c5", "CSeq: 1 OPTIONS"),
		sipMsg("", "BYE sip:x SIP/2.0", "Via: SIP/2.0/TCP a\r\n ;branch=1", "Route: <sip:"+fwd+">",
			"Route: <sip:b>", "From: sip:x;tag=1", "To: sip:y", "Call-ID: c", "CSeq: 2 BYE", "Max-Forwards: 3"),
		sipMsg("", "SIP/2.0 200 OK", "Via: SIP/2.0/TCP "+fwd+";branch="+branchPrefix+"0;cid=1, SIP/2.0/TCP a;rport=1;received=1.2.3.4",
			"From: x;tag=1", "To: y;tag=2", "Call-ID: c", "CSeq: 1 INVITE"),
		strings.ReplaceAll(benchInvite(fwd), "\r\n", "\n"),
		tortureWsinv, tortureIntmeth, tortureBadinv01, tortureScalar02, tortureQuotbal,
		tortureLtgtruri, tortureEscruri, tortureBadaspec, tortureBaddn, tortureMismatch01,
		tortureMismatch02, tortureInsuf, tortureUnkscm, tortureNovelsc, tortureMulti01, tortureZeromf,
	}
}
