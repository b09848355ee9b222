package forward

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// bye is an in-dialog BYE from the callee (behind the upstream) to the
// caller.
func bye(uri, branch, sentBy string, extra ...string) string {
	return sipMsg("", append([]string{
		"BYE " + uri + " SIP/2.0",
		"Via: SIP/2.0/TCP " + sentBy + ";branch=z9hG4bK-" + branch,
		"From: <sip:bob@example.com>;tag=callee",
		"To: <sip:alice@example.com>;tag=caller",
		"Call-ID: " + branch + "@test",
		"CSeq: 1 BYE",
		"Max-Forwards: 70",
	}, extra...)...)
}

// unusedPort returns a port on 127.0.0.1 that nothing listens on.
func unusedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestInDialogByRecordRoute: the BYE of the callee reaches the caller over
// the caller's connection, found by the cid of sipwire's Record-Route,
// although the caller's Contact names another port. The 200 goes back the
// same way.
func TestInDialogByRecordRoute(t *testing.T) {
	r := newRig(t, Config{Upstream: "up", RecordRoute: true}, transport.Options{})
	client := dialPeer(t, r.addr)
	contact := unusedPort(t)
	client.send(invite("dlg1", contact))
	up := r.up.accept()
	fwd := up.recv()
	rr := header(fwd, "Record-Route")
	if rr != "<sip:"+r.fwd()+";transport=tcp;lr;cid="+r.connID(client)+">" {
		t.Fatalf("Record-Route %q", rr)
	}
	req := bye("sip:alice@"+contact+";transport=tcp", "dlg1b", r.up.addr.String(), "Route: "+rr)
	up.send(req)
	got := client.recv()
	if strings.Contains(got, "Route:") || startLine(got) != "BYE sip:alice@"+contact+";transport=tcp SIP/2.0" {
		t.Fatalf("caller got\n%s", got)
	}
	upID := r.tr.ConnByRemote(r.up.addr).ID()
	if v := header(got, "Via"); !strings.HasSuffix(v, ";cid="+strconv.FormatUint(upID, 10)) {
		t.Fatalf("top Via %q, want the upstream connection %d", v, upID)
	}
	client.send(answer(got, "200 OK"))
	expectEqual(t, up.recv(), answer(strings.Replace(req, "Route: "+rr+"\r\n", "", 1), "200 OK"))
}

// TestInDialogByAlias: with no Route, the Request-URI's address is the
// caller's, which reached us with an RFC 5923 alias: its connection is
// reused.
func TestInDialogByAlias(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	contact := unusedPort(t)
	client.send(strings.Replace(invite("dlg2", contact), "branch=z9hG4bK-dlg2", "branch=z9hG4bK-dlg2;alias", 1))
	up := r.up.accept()
	up.recv()
	up.send(bye("sip:alice@"+contact, "dlg2b", r.up.addr.String()))
	if got := client.recv(); startLine(got) != "BYE sip:alice@"+contact+" SIP/2.0" {
		t.Fatalf("caller got\n%s", got)
	}
}

// TestInDialogNewConnection: no connection to the caller's address: one is
// opened.
func TestInDialogNewConnection(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	home := newServer(t)
	client := dialPeer(t, r.addr)
	client.send(invite("dlg3", home.addr.String()))
	up := r.up.accept()
	up.recv()
	up.send(bye("sip:alice@"+home.addr.String(), "dlg3b", r.up.addr.String()))
	hp := home.accept()
	got := hp.recv()
	if startLine(got) != "BYE sip:alice@"+home.addr.String()+" SIP/2.0" {
		t.Fatalf("caller got\n%s", got)
	}
	// Its 200 comes back over that connection.
	hp.send(answer(got, "200 OK"))
	if got := up.recv(); startLine(got) != "SIP/2.0 200 OK" || strings.Count(got, "Via:") != 1 {
		t.Fatalf("upstream got\n%s", got)
	}
}

// TestUpstreamOnOwnConnection: the upstream opens its own connection from
// another port; its Via names it, so its request goes toward the client.
func TestUpstreamOnOwnConnection(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	home := newServer(t)
	fromUp := dialPeer(t, r.addr)
	fromUp.send(bye("sip:alice@"+home.addr.String(), "dlg4", r.up.addr.String()))
	if got := home.accept().recv(); startLine(got) != "BYE sip:alice@"+home.addr.String()+" SIP/2.0" {
		t.Fatalf("caller got\n%s", got)
	}
}
