package forward

import (
	"strings"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// RFC 3261 §18.2.2: when the request's connection is gone, a response goes
// to the Via's received address (at the sent-by port, without rport), not
// to the sent-by host, which may be a name or an address the client does
// not listen on.
func TestResponseFallbackUsesReceived(t *testing.T) {
	r := newRig(t, Config{Upstream: "up"}, transport.Options{})
	home := newServer(t) // listens on 127.0.0.1 only
	// sent-by names 127.0.0.2, where nothing listens; the request comes
	// from 127.0.0.1, so the forwarder adds received=127.0.0.1.
	sentBy := "127.0.0.2:" + itoa(home.addr.Port())
	client := dialPeer(t, r.addr)
	req := invite("recv1", sentBy, "X-Note: received")
	client.send(req)
	up := r.up.accept()
	fwd := up.recv()
	id := r.tr.ConnByRemote(client.local()).ID()
	client.c.Close()
	waitClosed(t, r.tr, id)
	up.send(answer(fwd, "200 OK"))
	got := home.accept().recv()
	want := answer(strings.Replace(req, ";branch=z9hG4bK-recv1", ";branch=z9hG4bK-recv1;received=127.0.0.1", 1), "200 OK")
	expectEqual(t, got, want)
}
