package forward

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// answer makes a response to the request req as its receiver would: the
// Vias, From, To (with a tag), Call-ID and CSeq copied.
func answer(req, status string) string {
	lines := []string{"SIP/2.0 " + status}
	for _, l := range strings.Split(req, "\r\n") {
		name, _, _ := strings.Cut(l, ":")
		switch name {
		case "Via", "v", "From", "Call-ID", "CSeq":
			lines = append(lines, l)
		case "To":
			lines = append(lines, l+";tag=callee")
		}
	}
	return sipMsg("", lines...)
}

func invite(branch, sentBy string, extra ...string) string {
	return sipMsg("", append([]string{
		"INVITE sip:bob@example.com SIP/2.0",
		"Via: SIP/2.0/TCP " + sentBy + ";branch=z9hG4bK-" + branch,
		"From: <sip:alice@example.com>;tag=" + branch,
		"To: <sip:bob@example.com>",
		"Call-ID: " + branch + "@test",
		"CSeq: 1 INVITE",
		"Contact: <sip:alice@" + sentBy + ";transport=tcp>",
		"Max-Forwards: 70",
	}, extra...)...)
}

func TestResponseByConnectionID(t *testing.T) {
	r := newRig(t, Config{Upstream: "up", RecordRoute: true}, transport.Options{})
	client := dialPeer(t, r.addr)
	req := invite("resp1", "127.0.0.1:5061")
	client.send(req)
	up := r.up.accept()
	fwd := up.recv()
	for _, status := range []string{"180 Ringing", "200 OK"} {
		up.send(answer(fwd, status))
		got := client.recv()
		expectEqual(t, got, answer(req, status))
	}
	// Our Via and the client's in one header.
	resp := answer(fwd, "183 Session Progress")
	i := strings.Index(resp, "\r\nVia: ") + 2
	j := strings.Index(resp[i:], "\r\nVia: ") + i
	merged := resp[:j] + ", " + resp[j+len("\r\nVia: "):]
	if strings.Count(merged, "Via:") != 1 {
		t.Fatalf("test message has %d Via headers", strings.Count(merged, "Via:"))
	}
	up.send(merged)
	got := client.recv()
	expectEqual(t, got, answer(req, "183 Session Progress"))
}

func TestResponseNotOurs(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	client := dialPeer(t, r.addr)
	req := invite("resp2", "127.0.0.1:5061")
	client.send(req)
	up := r.up.accept()
	fwd := up.recv()
	branch := ourBranch(t, fwd)
	ok := answer(fwd, "200 OK")
	bad := []string{
		// Another host in the top Via.
		strings.Replace(ok, "Via: SIP/2.0/TCP "+r.fwd(), "Via: SIP/2.0/TCP 127.0.0.9:"+itoa(r.addr.Port()), 1),
		// Our host, another port.
		strings.Replace(ok, "Via: SIP/2.0/TCP "+r.fwd(), "Via: SIP/2.0/TCP 127.0.0.1:1", 1),
		// Our address, not our branch.
		strings.Replace(ok, branch, "z9hG4bKother", 1),
	}
	for _, m := range bad {
		up.send(m)
	}
	// Only our Via, nothing after it.
	up.send(sipMsg("",
		"SIP/2.0 200 OK",
		"Via: SIP/2.0/TCP "+r.fwd()+";branch="+branch+";cid=1",
		"From: <sip:alice@example.com>;tag=x",
		"To: <sip:bob@example.com>;tag=y",
		"Call-ID: lonely@test",
		"CSeq: 1 INVITE"))
	up.send(ok)
	got := client.recv()
	expectEqual(t, got, answer(req, "200 OK"))
	r.sync(up)
	s := r.f.Stats()
	if s.DroppedResponses.NotOurs != 3 || s.DroppedResponses.NoRoute != 1 || s.ResponsesForwarded != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestResponseFallback: the client's connection is gone; the response goes
// to the next Via's address over a new connection.
func TestResponseFallback(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	home := newServer(t) // where the client listens
	client := dialPeer(t, r.addr)
	req := invite("resp3", home.addr.String(), "X-Note: fallback")
	req = strings.Replace(req, "branch=z9hG4bK-resp3", "branch=z9hG4bK-resp3;rport", 1)
	client.send(req)
	up := r.up.accept()
	fwd := up.recv()
	id := r.tr.ConnByRemote(client.local()).ID()
	client.c.Close()
	waitClosed(t, r.tr, id)
	up.send(answer(fwd, "200 OK"))
	got := home.accept().recv()
	want := answer(strings.Replace(req, ";rport", ";rport="+itoa(client.local().Port())+";received=127.0.0.1", 1), "200 OK")
	expectEqual(t, got, want)
}

// waitClosed waits (bounded) until the transport dropped connection id.
func waitClosed(t *testing.T, tr *transport.Transport, id uint64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for tr.Conn(id) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("connection %d still open after %s", id, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
